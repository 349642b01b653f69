// The Engine API over HTTP on a unix socket (node:http). Every route is also
// served under /v{major.minor}/; the headers the docker CLI negotiates with
// are on every response.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../core/context.ts';
import { CnmError, statusOf } from '../core/errors.ts';
import type { Router } from './router.ts';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';
export const SERVER_NAME = 'cnm/0.1.0 (linux)';
/** Bodies beyond this are refused (Docker's requests are far smaller). */
export const MAX_BODY = 1 << 20;

const versionNum = (v: string): number => {
  const [a, b] = v.split('.').map(Number);
  return (a ?? 0) * 1000 + (b ?? 0);
};

function commonHeaders(res: ServerResponse): void {
  res.setHeader('Server', SERVER_NAME);
  res.setHeader('Api-Version', API_VERSION);
  res.setHeader('Ostype', 'linux');
  res.setHeader('Docker-Experimental', 'false');
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) {
      reject(new CnmError('PAYLOAD_TOO_LARGE', `request body of ${declared} bytes is too large: the limit is ${MAX_BODY} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new CnmError('PAYLOAD_TOO_LARGE', `request body is too large: the limit is ${MAX_BODY} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createApiServer(router: Router, log: Logger): Server {
  return createServer((req, res) => {
    commonHeaders(res);
    void handle(router, log, req, res).catch((e) => {
      log.error(`unhandled: ${(e as Error).stack ?? e}`);
      sendError(res, 500, 'internal error');
    });
  });
}

async function handle(router: Router, log: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://cnm');
  let path = url.pathname;
  let version = API_VERSION;
  const vm = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (vm) {
    version = vm[1] ?? API_VERSION;
    path = vm[2] ?? '/';
    if (versionNum(version) < versionNum(MIN_API_VERSION)) {
      sendError(res, 400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      return;
    }
    if (versionNum(version) > versionNum(API_VERSION)) {
      sendError(res, 400, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      return;
    }
  }
  const method = req.method ?? 'GET';
  const started = performance.now();
  try {
    const { handler, params } = router.match(method, path);
    const body = method === 'POST' || method === 'PUT' || method === 'DELETE' ? await readBody(req) : '';
    const out = await handler({ method, path, params, query: url.searchParams, body, version });
    const headers: Record<string, string> = { ...out.headers };
    if (out.stream) {
      res.writeHead(out.status, headers);
      res.flushHeaders();
      const closed = new AbortController();
      res.on('close', () => closed.abort());
      try {
        await out.stream(res, closed.signal);
      } finally {
        res.end();
      }
      log.debug(`${method} ${url.pathname} ${out.status} streamed ${(performance.now() - started).toFixed(1)}ms`);
      return;
    }
    let payload: Buffer | string | undefined;
    if (out.raw !== undefined) payload = out.raw;
    else if (out.json !== undefined) {
      payload = `${JSON.stringify(out.json)}\n`;
      headers['Content-Type'] ??= 'application/json';
    }
    if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
    res.writeHead(out.status, headers);
    res.end(method === 'HEAD' ? undefined : payload);
    log.debug(`${method} ${url.pathname} ${out.status} ${(performance.now() - started).toFixed(1)}ms`);
  } catch (e) {
    const status = statusOf(e);
    const message = status === 500 && !(e instanceof CnmError) && !(e as { code?: string }).code
      ? `internal error: ${(e as Error).message}`
      : (e as Error).message;
    if (status >= 500) log.error(`${method} ${url.pathname}: ${(e as Error).stack ?? e}`);
    else log.debug(`${method} ${url.pathname} ${status}: ${message}`);
    sendError(res, status, message);
  }
}

/** Listens on unix://PATH with the given mode (Docker's socket is 0660). */
export async function listenUnix(server: Server, path: string, mode = 0o660): Promise<void> {
  if (existsSync(path)) unlinkSync(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, mode);
}
