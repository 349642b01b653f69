// The Engine API's routes: each declared once with its method and path;
// handlers get parsed path parameters, the query and the raw body.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalid, notFound } from '../model/errors.ts';

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body as text; empty for routes that stream theirs (see Route.streamBody). */
  body: string;
  /** The API version the client asked for (e.g. "1.50"). */
  version: string;
  headers: IncomingHttpHeaders;
  /** The request body as it arrives, for routes with streamBody (image tars of any size). */
  stream?: AsyncIterable<Uint8Array>;
}

export interface ApiResponse {
  status: number;
  /** JSON-encoded unless raw is set. */
  json?: unknown;
  raw?: Buffer | string;
  /**
   * A JSON body that is only known later: the status line and headers go
   * out at once, the body when this settles (Docker's wait answers so, and
   * clients block on the headers before doing anything else).
   */
  later?: Promise<unknown>;
  /** Aborted when the client goes away before `later` settles. */
  laterAbort?: AbortController;
  headers?: Record<string, string>;
  /**
   * A streamed body (logs): called after the head is sent; `closed` aborts
   * when the client goes away.
   */
  stream?: (res: ServerResponse, closed: AbortSignal) => Promise<void>;
  /**
   * A hijacked connection (attach, exec start): the server answers
   * `101 UPGRADED` with this Content-Type when the client asked to upgrade
   * (`200 OK` raw-stream otherwise, as moby does), then hands the raw
   * duplex to `run`; the connection is closed when it settles. `stdin` is
   * false when the client did not upgrade: what it sends is not for the
   * process then.
   */
  hijack?: { contentType: string; run: (socket: Duplex, stdin: boolean) => Promise<void> };
}

export type Handler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

export interface Route {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PUT';
  path: string;
  handler: Handler;
  /**
   * The handler reads the body itself from ApiRequest.stream, unbounded
   * (docker load and import send whole image tars); other bodies are read
   * whole and limited to MAX_BODY.
   */
  streamBody?: boolean;
}

/** A path segment as the client meant it; "%zz" or a cut "%e2%82" is the client's error, not ours. */
function decodeParam(key: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalid(`invalid ${key} in the path ${JSON.stringify(raw)}: malformed percent-encoding; expected %XX escapes of UTF-8 bytes`);
  }
}

interface Compiled { method: string; re: RegExp; keys: string[]; handler: Handler; streamBody: boolean }

export class Router {
  private readonly routes: Compiled[] = [];

  add(routes: Route[]): this {
    for (const r of routes) {
      const keys: string[] = [];
      // {name} is one path segment; {name*} may span several (image names
      // such as library/busybox appear unescaped in Docker's paths).
      const re = new RegExp(`^${r.path.replace(/\{(\w+)(\*?)\}/g, (_m, k: string, many: string) => {
        keys.push(k);
        return many ? '(.+)' : '([^/]+)';
      })}/?$`);
      this.routes.push({ method: r.method, re, keys, handler: r.handler, streamBody: !!r.streamBody });
    }
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string>; streamBody: boolean } {
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => { params[k] = decodeParam(k, m[i + 1] ?? ''); });
      return { handler: r.handler, params, streamBody: r.streamBody };
    }
    // Docker answers unknown paths (and wrong methods) with this.
    throw notFound('page not found');
  }
}
