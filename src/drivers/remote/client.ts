// One legacy (v1) Docker plugin's transport: POST /<Interface>.<Method> with
// a JSON body, over its unix socket or TCP address. Docker retries a call
// whose connection fails (the plugin may be starting) with backoff 1 s, 2 s,
// 4 s ... until its window (30 s) after the first attempt has passed; a call
// that reached the plugin is never sent twice. cnm also bounds the wait for
// an answer, so a hung plugin fails one operation instead of holding the
// daemon's state lock for ever.
import { request } from 'node:http';
import { CnmError } from '../../model/errors.ts';

/** Docker's media type for plugin calls (pkg/plugins VersionMimetype). */
export const PLUGIN_MIME = 'application/vnd.docker.plugins.v1.2+json';

/** Where a plugin listens: a unix socket, or a host and port (a .spec's tcp:// or http:// URL). */
export type PluginAddr = { socket: string } | { host: string; port: number };

export interface CallLimits {
  /** How long to wait for one answer (ms). */
  timeoutMs: number;
  /** How long to keep retrying a connection that fails (ms); Docker's is 30 s. */
  retryMs: number;
}

/** What went wrong, so the plugin layer can name it (and notice a plugin that went away). */
export class PluginCallError extends CnmError {
  readonly unreachable: boolean;
  constructor(message: string, unreachable: boolean) {
    super('INTERNAL', message);
    this.unreachable = unreachable;
  }
}

interface Raw { status: number; body: string }

/** Connection failures worth retrying: nothing was sent (the plugin is not listening yet, or again). */
const DIAL_ERRORS = new Set(['ECONNREFUSED', 'ENOENT', 'EAGAIN']);

function once(addr: PluginAddr, path: string, body: string, timeoutMs: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({
      ...('socket' in addr ? { socketPath: addr.socket } : { host: addr.host, port: addr.port }),
      method: 'POST',
      path,
      headers: { Accept: PLUGIN_MIME, 'Content-Type': PLUGIN_MIME, 'Content-Length': Buffer.byteLength(body) },
      // A fresh connection per call, as Docker's client makes after a failure:
      // a restarted plugin is reached at once.
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends one call and returns the parsed JSON answer. Errors name the
 * plugin, the call and the reason: Docker's `<Interface>.<Method>: <Err>`
 * for a non-200 answer, `remote: <Err>` is left to the caller (the field
 * differs between network and IPAM answers).
 */
export async function callPlugin(name: string, addr: PluginAddr, method: string, payload: unknown, limits: CallLimits): Promise<Record<string, unknown>> {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const started = Date.now();
  let delay = 1000;
  let raw: Raw;
  for (;;) {
    try {
      raw = await once(addr, `/${method}`, body, limits.timeoutMs);
      break;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const dial = DIAL_ERRORS.has(err.code ?? '');
      // Docker's schedule: 1 s, 2 s, 4 s ... while the window lasts.
      if (dial && Date.now() + delay - started <= limits.retryMs) {
        await sleep(delay);
        delay *= 2;
        continue;
      }
      const why = err.code === 'ETIMEDOUT' ? err.message : dial ? `cannot connect (${err.code}): ${err.message}` : err.message;
      throw new PluginCallError(`plugin "${name}": ${method}: ${why}`, dial);
    }
  }
  if (raw.status !== 200) {
    let msg = raw.body.trim();
    try {
      const j = JSON.parse(raw.body) as { Err?: unknown; Error?: unknown };
      if (typeof j.Err === 'string' && j.Err) msg = j.Err;
      else if (typeof j.Error === 'string' && j.Error) msg = j.Error;
    } catch { /* not JSON: the raw body is the message, as Docker's client has it */ }
    const e = new PluginCallError(`plugin "${name}": ${method}: ${msg || `HTTP ${raw.status}`}`, false);
    if (raw.status === 404) Object.assign(e, { notImplemented: true });
    throw e;
  }
  if (!raw.body.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.body);
  } catch {
    throw new PluginCallError(`plugin "${name}": ${method}: malformed answer (not JSON): ${raw.body.slice(0, 120)}`, false);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PluginCallError(`plugin "${name}": ${method}: malformed answer (expected a JSON object): ${raw.body.slice(0, 120)}`, false);
  }
  return parsed as Record<string, unknown>;
}

/** A 404 answer: the plugin does not implement the method (tolerated for optional calls). */
export const notImplemented = (e: unknown): boolean => !!(e as { notImplemented?: boolean } | null)?.notImplemented;
