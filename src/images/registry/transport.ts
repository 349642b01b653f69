// HTTP(S) requests to a registry with node:http/https. Redirects (a blob GET
// may answer 307 to a storage URL) are followed; the Authorization header
// is dropped when a redirect leaves the registry's host, as Go's http.Client
// does. Network failures become a clear CnmError UNAVAILABLE.
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { CnmError } from '../../model/errors.ts';

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The final URL after redirects. */
  url: string;
  body: AsyncIterable<Uint8Array>;
}

/** The one side effect of the client; tests pass a fake. */
export type Transport = (req: HttpRequest) => Promise<HttpResponse>;

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function once(req: HttpRequest): Promise<IncomingMessage> {
  const u = new URL(req.url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const r = mod.request(u, { method: req.method, headers: req.headers ?? {} }, resolve);
    r.on('error', reject);
    r.setTimeout(60_000, () => r.destroy(new Error('timeout')));
    r.end(req.body);
  });
}

/** The message Docker prints for a dial failure: `Get "URL": dial tcp HOST: connect: connection refused`. */
function networkError(req: HttpRequest, e: unknown): CnmError {
  const err = e as NodeJS.ErrnoException;
  const host = new URL(req.url).host;
  const why = err.code === 'ECONNREFUSED' ? 'connect: connection refused'
    : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? `lookup ${new URL(req.url).hostname}: no such host`
    : err.code === 'ENETUNREACH' ? 'connect: network is unreachable'
    : err.message;
  const verb = req.method.charAt(0) + req.method.slice(1).toLowerCase();
  return new CnmError('UNAVAILABLE', `${verb} "${req.url}": dial tcp ${host}: ${why}`, { cause: e });
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) { /* discard */ }
}

/** One request, no redirects followed (see withRedirects). */
export const nodeTransport: Transport = async (req) => {
  let res: IncomingMessage;
  try {
    res = await once(req);
  } catch (e) {
    throw networkError(req, e);
  }
  return { status: res.statusCode ?? 0, headers: res.headers, url: req.url, body: res };
};

/** Follows 301/302/303/307/308, dropping Authorization when the host changes. */
export function withRedirects(t: Transport): Transport {
  return async (req0) => {
    let req = req0;
    for (let hop = 0; ; hop++) {
      const res = await t(req);
      const loc = res.headers.location;
      if (!REDIRECTS.has(res.status) || !loc || hop >= MAX_REDIRECTS) return res;
      await drain(res.body);
      const next = new URL(loc, req.url);
      const headers = { ...req.headers };
      if (next.host !== new URL(req.url).host) delete headers.Authorization;
      const method = res.status === 303 ? 'GET' : req.method;
      req = { method, url: next.toString(), headers, body: method === 'GET' ? undefined : req.body };
    }
  };
}

/** Reads a whole body, refusing more than `limit` bytes (manifests, tokens, errors). */
export async function readAll(body: AsyncIterable<Uint8Array>, limit = 8 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > limit) throw new CnmError('INVALID', `response larger than ${limit} bytes`);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}
