// The Engine API over HTTP on a unix socket (node:http). Every route is also
// served under /v{major.minor}/; the headers the docker CLI negotiates with
// are on every response.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/context.ts';
import { CnmError } from '../model/errors.ts';
import { statusOf } from './status.ts';
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

/**
 * Streamed answers still running, per server: events, logs -f and stats
 * never end by themselves, and a server closes only once every response
 * has ended.
 */
const openStreams = new WeakMap<Server, Set<AbortController>>();

/** Ends every streamed answer (the daemon is stopping): each is told its client went away. */
export function endStreams(server: Server): void {
  for (const c of openStreams.get(server) ?? []) c.abort();
}

/**
 * `settle` resolves once what the daemon changed so far survives a power
 * loss (the store's sync): every request but GET and HEAD waits for it
 * before its answer.
 */
export function createApiServer(router: Router, log: Logger, settle: () => Promise<void> = async () => {}): Server {
  const streams = new Set<AbortController>();
  const site: Site = { router, log, streams, settle };
  const server: Server = createServer((req, res) => {
    commonHeaders(res);
    void handle(site, req, res).catch((e) => {
      log.error(`unhandled: ${(e as Error).stack ?? e}`);
      sendError(res, 500, 'internal error');
    });
  });
  // A client that sends `Expect: 100-continue` with an image tar (cnm's
  // own CLI does) gets "100 Continue" only once the handler starts reading
  // the body: a request refused on its query is answered before a byte of
  // the tar is sent. (Node's HTTP client loses an answer that arrives while
  // it is still writing a body the daemon will not read.)
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    commonHeaders(res);
    void handle(site, req, res, undefined, true).catch((e) => {
      log.error(`unhandled: ${(e as Error).stack ?? e}`);
      sendError(res, 500, 'internal error');
    });
  });
  // attach and exec start ask to upgrade the connection to a raw stream
  // (Connection: Upgrade, Upgrade: tcp). node:http hands such requests to
  // 'upgrade' listeners only, and with none the client waits forever; here
  // they go through the same routes: a hijacking route gets the raw socket,
  // any other answer is an ordinary HTTP one, after which the connection is
  // closed.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    commonHeaders(res);
    void handle(site, req, res, { socket, head }).catch((e) => {
      log.error(`unhandled: ${(e as Error).stack ?? e}`);
      sendError(res, 500, 'internal error');
    });
  });
  openStreams.set(server, streams);
  return server;
}

/**
 * The body of an upgraded request: Content-Length bytes from `head` and the
 * socket (the request stream of an upgraded connection never ends). Bytes
 * after it are already the client's raw stream: they are put back.
 */
function readUpgradedBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(declared) || declared < 0 || declared > MAX_BODY) {
    return Promise.reject(new CnmError('PAYLOAD_TOO_LARGE', `request body of ${declared} bytes is too large: the limit is ${MAX_BODY} bytes`));
  }
  const finish = (all: Buffer): string => {
    if (all.length > declared) socket.unshift(all.subarray(declared));
    return all.subarray(0, declared).toString('utf8');
  };
  if (head.length >= declared) return Promise.resolve(finish(head));
  return new Promise((resolve, reject) => {
    let got = head;
    const onData = (c: Buffer): void => {
      got = Buffer.concat([got, c]);
      if (got.length < declared) return;
      done();
      socket.pause();
      resolve(finish(got));
    };
    const onEnd = (): void => { done(); reject(new CnmError('INVALID', `request body ended after ${got.length} of ${declared} bytes`)); };
    const done = (): void => { socket.off('data', onData); socket.off('end', onEnd); };
    socket.on('data', onData);
    socket.on('end', onEnd);
  });
}

/** moby's hijack heads (api/server/router/container/exec.go, container_routes.go). */
function hijackHead(upgraded: boolean, contentType: string): string {
  return upgraded
    ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
    : 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n';
}

/** `upgrade` is given for requests that asked to upgrade the connection. */
/** Requests whose handler started reading the streamed body. */
const bodyRead = new WeakSet<IncomingMessage>();

/** Reads and drops a request's body until its end, `limit` bytes, or an error. */
function drain(req: IncomingMessage, limit: number): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    const done = (): void => {
      req.removeListener('data', onData);
      req.pause();
      resolve();
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) done();
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}

/** The request body; when first read, noted, and the client asked for it ("100 Continue") if it waits to be. */
function streamedBody(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      bodyRead.add(req);
      if (expectContinue) res.writeContinue();
      return req[Symbol.asyncIterator]();
    },
  };
}

/** What every request's handling shares. */
interface Site {
  router: Router;
  log: Logger;
  streams: Set<AbortController>;
  settle: () => Promise<void>;
}

async function handle(site: Site, req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Duplex; head: Buffer }, expectContinue = false): Promise<void> {
  const { router, log, streams } = site;
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
  const changes = method !== 'GET' && method !== 'HEAD';
  const started = performance.now();
  try {
    const { handler, params, streamBody } = router.match(method, path);
    const streamed = streamBody && !upgrade;
    const readsBody = !streamed && (method === 'POST' || method === 'PUT' || method === 'DELETE');
    if (expectContinue && readsBody) res.writeContinue();
    const body = upgrade
      ? await readUpgradedBody(req, upgrade.socket, upgrade.head)
      : readsBody ? await readBody(req) : '';
    const stream = streamed ? streamedBody(req, res, expectContinue) : undefined;
    const out = await handler({ method, path, params, query: url.searchParams, body, version, headers: req.headers, ...(stream ? { stream } : {}) });
    // What the request changed is on the disk before the client hears of it.
    if (changes) await site.settle();
    const headers: Record<string, string> = { ...out.headers };
    if (out.hijack) {
      // From here on the connection is a raw stream, not HTTP.
      const socket = upgrade?.socket ?? req.socket;
      res.detachSocket(socket as Socket);
      socket.write(hijackHead(!!upgrade, out.hijack.contentType));
      try {
        await out.hijack.run(socket, !!upgrade);
      } catch (e) {
        log.error(`${method} ${url.pathname} (hijacked): ${(e as Error).stack ?? e}`);
      } finally {
        socket.end();
      }
      log.debug(`${method} ${url.pathname} hijacked ${(performance.now() - started).toFixed(1)}ms`);
      return;
    }
    if (out.later) {
      res.writeHead(out.status, { ...headers, 'Content-Type': 'application/json' });
      res.flushHeaders();
      const gone = (): void => out.laterAbort?.abort();
      res.on('close', gone);
      const v = await out.later;
      res.off('close', gone);
      if (changes) await site.settle();
      res.end(`${JSON.stringify(v)}\n`);
      log.debug(`${method} ${url.pathname} ${out.status} ${(performance.now() - started).toFixed(1)}ms`);
      return;
    }
    if (out.stream) {
      res.writeHead(out.status, headers);
      res.flushHeaders();
      const closed = new AbortController();
      res.on('close', () => closed.abort());
      streams.add(closed);
      try {
        await out.stream(res, closed.signal);
      } finally {
        streams.delete(closed);
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
    // A streamed body the handler refused before reading (a load or import
    // refused on its query) is read and dropped first, up to MAX_BODY: a
    // client that writes its whole body before it reads (the docker CLI)
    // otherwise meets a closed connection ("broken pipe") instead of the
    // answer. A client that asked for 100-continue was never told to send
    // it. Beyond MAX_BODY, or when the body was given up part-way, the
    // connection closes after the answer.
    if (!req.complete && !req.destroyed && !expectContinue && !bodyRead.has(req)) await drain(req, MAX_BODY);
    if (!req.complete) res.shouldKeepAlive = false;
    // A failed request undid its changes: the undo reaches the disk first.
    if (changes) await site.settle().catch((u: Error) => log.error(`${method} ${url.pathname}: ${u.message}`));
    const status = statusOf(e);
    const message = status === 500 && !(e instanceof CnmError) && !(e as { code?: string }).code
      ? `internal error: ${(e as Error).message}`
      : (e as Error).message;
    const declined = e instanceof CnmError && (e.code === 'NOT_IMPLEMENTED' || e.code === 'UNAVAILABLE');
    if (status >= 500 && !declined) log.error(`${method} ${url.pathname}: ${(e as Error).stack ?? e}`);
    else log.debug(`${method} ${url.pathname} ${status}: ${message}`);
    sendError(res, status, message);
  }
}

/** Whether something accepts connections on the unix socket at path. */
export function socketAnswers(path: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ path });
    const done = (v: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    c.on('connect', () => done(true));
    // ECONNREFUSED: a socket file nobody listens on (a daemon that died).
    c.on('error', () => done(false));
  });
}

/**
 * Listens on unix://PATH with the given mode (Docker's socket is 0660). A
 * socket file left by a dead daemon is replaced; one that still answers
 * belongs to a live daemon, whose clients would silently lose it if it were
 * unlinked, so that is refused.
 */
export async function listenUnix(server: Server, path: string, mode = 0o660): Promise<void> {
  if (existsSync(path)) {
    if (await socketAnswers(path)) {
      throw new CnmError('CONFLICT', `${path} is in use: another daemon is listening on it; stop it first or choose another socket with -H`);
    }
    unlinkSync(path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, mode);
}
