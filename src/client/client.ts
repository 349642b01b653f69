// A typed client of cnm's Engine API over its unix socket: used by the CLI,
// the walkthrough and the tests. The wire types are the API's own.
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  ContainerCreateWire, ContainerInspectWire, ContainerSummaryWire, EndpointSettingsWire, ExecCreateWire, ExecInspectWire, ExecStartWire,
  NetworkCreateWire, NetworkWire, VersionWire, VolumeCreateWire, VolumeWire,
} from '../api/wire.ts';
import { demuxer } from './demux.ts';
import type { AuthConfigWire, ImageDeleteWire, ImageHistoryWire, ImagePruneWire, ImageSummaryWire } from './image-wire.ts';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export const DEFAULT_HOST = 'unix:///run/cnm.sock';

/** -H / CNM_HOST: unix:///path (or a bare path). */
export function socketPathOf(host: string): string {
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  if (host.startsWith('/')) return host;
  throw new Error(`unsupported host "${host}": expected unix:///path/to/socket`);
}

export interface RawResponse { status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }

export type FilterArg = Record<string, string[]>;

type QueryValue = string | number | boolean | string[] | FilterArg | undefined;

/** A request body that streams (an image tar of any size is never held whole). */
export type BodySource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

/** The image streams' options. */
export interface ImportQuery { repo?: string; message?: string; changes?: string[]; platform?: string }

/**
 * Reads newline-delimited JSON (Docker's progress streams) as it arrives,
 * one value per line, however the lines are split across chunks.
 */
export async function* jsonLines<T>(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<T> {
  const dec = new TextDecoder();
  let buf = '';
  for await (const c of body) {
    buf += typeof c === 'string' ? c : dec.decode(c, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  buf += dec.decode();
  if (buf.trim()) yield JSON.parse(buf) as T;
}

export interface LogQuery { follow?: boolean; timestamps?: boolean; tail?: number | 'all'; since?: string; until?: string }

function errorMessage(body: Buffer): string {
  try {
    return (JSON.parse(body.toString()) as { message: string }).message;
  } catch {
    return body.toString().trim();
  }
}

export class Client {
  readonly socketPath: string;
  readonly version: string;

  constructor(host: string = process.env.CNM_HOST ?? DEFAULT_HOST, version = '1.50') {
    this.socketPath = socketPathOf(host);
    this.version = version;
  }

  raw(method: string, path: string, body?: unknown): Promise<RawResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        method,
        path: `/v${this.version}${path}`,
        headers: { Host: 'cnm', ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
          reject(new ApiError(0, `Cannot connect to the cnm daemon at unix://${this.socketPath}. Is the cnm daemon running?`));
        } else reject(e);
      });
      req.end(payload);
    });
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body);
    const text = r.body.toString('utf8');
    if (r.status >= 400) {
      let msg = text;
      try { msg = (JSON.parse(text) as { message?: string }).message ?? text; } catch { /* not JSON */ }
      throw new ApiError(r.status, msg);
    }
    if (!text) return undefined as T;
    const ct = String(r.headers['content-type'] ?? '');
    return (ct.includes('json') ? JSON.parse(text) : text) as T;
  }

  private static q(params: Record<string, QueryValue>): string {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      // A list repeats the key (changes=…&changes=…); a filter map is JSON.
      if (Array.isArray(v)) for (const x of v) u.append(k, x);
      else u.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    const s = u.toString();
    return s ? `?${s}` : '';
  }

  ping(): Promise<string> { return this.call('GET', '/_ping'); }
  versionInfo(): Promise<VersionWire> { return this.call('GET', '/version'); }

  networkList(filters?: FilterArg): Promise<NetworkWire[]> {
    return this.call('GET', `/networks${Client.q({ filters: filters && Object.keys(filters).length ? filters : undefined })}`);
  }
  networkInspect(id: string): Promise<NetworkWire> { return this.call('GET', `/networks/${encodeURIComponent(id)}`); }
  networkCreate(req: NetworkCreateWire): Promise<{ Id: string; Warning: string }> { return this.call('POST', '/networks/create', req); }
  networkConnect(net: string, container: string, cfg?: EndpointSettingsWire): Promise<void> {
    return this.call('POST', `/networks/${encodeURIComponent(net)}/connect`, { Container: container, EndpointConfig: cfg ?? null });
  }
  networkDisconnect(net: string, container: string, force = false): Promise<void> {
    return this.call('POST', `/networks/${encodeURIComponent(net)}/disconnect`, { Container: container, Force: force });
  }
  networkRemove(id: string): Promise<void> { return this.call('DELETE', `/networks/${encodeURIComponent(id)}`); }
  networkPrune(filters?: FilterArg): Promise<{ NetworksDeleted: string[] | null }> {
    return this.call('POST', `/networks/prune${Client.q({ filters })}`);
  }

  volumeList(filters?: FilterArg): Promise<{ Volumes: VolumeWire[] | null; Warnings: string[] | null }> {
    return this.call('GET', `/volumes${Client.q({ filters: filters && Object.keys(filters).length ? filters : undefined })}`);
  }
  volumeInspect(name: string): Promise<VolumeWire> { return this.call('GET', `/volumes/${encodeURIComponent(name)}`); }
  volumeCreate(req: VolumeCreateWire): Promise<VolumeWire> { return this.call('POST', '/volumes/create', req); }
  volumeRemove(name: string, force = false): Promise<void> {
    return this.call('DELETE', `/volumes/${encodeURIComponent(name)}${Client.q({ force: force ? 1 : undefined })}`);
  }
  volumePrune(filters?: FilterArg): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.call('POST', `/volumes/prune${Client.q({ filters: filters && Object.keys(filters).length ? filters : undefined })}`);
  }

  containerList(all = false, filters?: FilterArg): Promise<ContainerSummaryWire[]> {
    return this.call('GET', `/containers/json${Client.q({ all: all ? 1 : undefined, filters })}`);
  }
  containerCreate(name: string, req: ContainerCreateWire): Promise<{ Id: string; Warnings: string[] }> {
    return this.call('POST', `/containers/create${Client.q({ name: name || undefined })}`, req);
  }
  containerInspect(id: string): Promise<ContainerInspectWire> { return this.call('GET', `/containers/${encodeURIComponent(id)}/json`); }
  containerStart(id: string): Promise<void> { return this.call('POST', `/containers/${encodeURIComponent(id)}/start`); }
  containerStop(id: string, t?: number): Promise<void> { return this.call('POST', `/containers/${encodeURIComponent(id)}/stop${Client.q({ t })}`); }
  containerRemove(id: string, force = false, volumes = false): Promise<void> {
    return this.call('DELETE', `/containers/${encodeURIComponent(id)}${Client.q({ force: force ? 1 : undefined, v: volumes ? 1 : undefined })}`);
  }
  containerWait(id: string): Promise<{ StatusCode: number }> { return this.call('POST', `/containers/${encodeURIComponent(id)}/wait`); }

  execCreate(container: string, req: ExecCreateWire): Promise<{ Id: string }> {
    return this.call('POST', `/containers/${encodeURIComponent(container)}/exec`, req);
  }
  execInspect(id: string): Promise<ExecInspectWire> { return this.call('GET', `/exec/${encodeURIComponent(id)}/json`); }
  execResize(id: string, rows: number, cols: number): Promise<void> {
    return this.call('POST', `/exec/${encodeURIComponent(id)}/resize${Client.q({ h: rows, w: cols })}`);
  }
  /** Starts an exec on a hijacked connection: the raw stream once the daemon answers 101. */
  execStart(id: string, req: ExecStartWire): Promise<{ socket: Duplex; contentType: string }> {
    return this.hijack(`/exec/${encodeURIComponent(id)}/start`, req);
  }

  /**
   * POST asking to upgrade the connection (Connection: Upgrade, Upgrade:
   * tcp, as the docker CLI does); any answer but 101 is an error.
   */
  hijack(path: string, body: unknown): Promise<{ socket: Duplex; contentType: string }> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        method: 'POST',
        path: `/v${this.version}${path}`,
        headers: { Host: 'cnm', Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Type': 'application/json', 'Content-Length': payload.length },
      });
      req.on('upgrade', (res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve({ socket, contentType: String(res.headers['content-type'] ?? '') });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 500;
          reject(new ApiError(status, status < 400 ? `unable to upgrade to tcp, received ${status}` : errorMessage(Buffer.concat(chunks))));
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
          reject(new ApiError(0, `Cannot connect to the cnm daemon at unix://${this.socketPath}. Is the cnm daemon running?`));
        } else reject(e);
      });
      req.end(payload);
    });
  }

  /**
   * A request whose body, if any, streams from `body` (chunked), answered
   * by a streamed response: resolves with the response once the daemon
   * answers below 400; an error status rejects with the daemon's message.
   */
  send(method: string, path: string, opts: { body?: BodySource; contentType?: string; headers?: Record<string, string> } = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = request({
        socketPath: this.socketPath,
        method,
        path: `/v${this.version}${path}`,
        headers: { Host: 'cnm', ...(opts.body ? { 'Content-Type': opts.contentType ?? 'application/x-tar', Expect: '100-continue' } : {}), ...opts.headers },
      }, (res) => {
        answered = true;
        const status = res.statusCode ?? 500;
        if (status < 400) { resolve(res); return; }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(new ApiError(status, errorMessage(Buffer.concat(chunks)))));
        res.on('error', reject);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (answered) return;
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
          reject(new ApiError(0, `Cannot connect to the cnm daemon at unix://${this.socketPath}. Is the cnm daemon running?`));
        } else if (e.code === 'EPIPE' || e.code === 'ECONNRESET') {
          // Its answer is lost with the connection (node's client cannot read it).
          reject(new Error(`the daemon stopped reading the request body part-way and closed the connection (${e.code}): it refused the body; its log says why`));
        } else reject(e);
      });
      req.on('close', () => {
        if (!answered) reject(new Error('the daemon closed the connection without an answer'));
      });
      if (!opts.body) { req.end(); return; }
      // The body goes once the daemon asks for it (100 Continue): a request
      // it refuses on its query is answered before any of the body is sent.
      const body = opts.body;
      // A failed source destroys the request: its error reaches 'error' above.
      req.on('continue', () => { pipeline(body, req).catch(() => undefined); });
      req.flushHeaders();
    });
  }

  imageList(all = false, filters?: FilterArg): Promise<ImageSummaryWire[]> {
    return this.call('GET', `/images/json${Client.q({ all: all ? 1 : undefined, filters: filters && Object.keys(filters).length ? filters : undefined })}`);
  }
  imageInspect(name: string): Promise<Record<string, unknown>> { return this.call('GET', `/images/${encodeURIComponent(name)}/json`); }
  imageHistory(name: string): Promise<ImageHistoryWire[]> { return this.call('GET', `/images/${encodeURIComponent(name)}/history`); }
  imageTag(source: string, repo: string, tag: string): Promise<void> {
    return this.call('POST', `/images/${encodeURIComponent(source)}/tag${Client.q({ repo, tag })}`);
  }
  imageRemove(name: string, force = false, noPrune = false): Promise<ImageDeleteWire[]> {
    return this.call('DELETE', `/images/${encodeURIComponent(name)}${Client.q({ force: force ? 1 : undefined, noprune: noPrune ? 1 : undefined })}`);
  }
  imagePrune(filters?: FilterArg): Promise<ImagePruneWire> {
    return this.call('POST', `/images/prune${Client.q({ filters: filters && Object.keys(filters).length ? filters : undefined })}`);
  }
  /** POST /images/create?fromImage=: the pull's progress stream. */
  imagePull(fromImage: string, tag: string, o: { platform?: string; auth?: AuthConfigWire } = {}): Promise<IncomingMessage> {
    return this.send('POST', `/images/create${Client.q({ fromImage, tag, platform: o.platform || undefined })}`, {
      ...(o.auth ? { headers: { 'X-Registry-Auth': Buffer.from(JSON.stringify(o.auth)).toString('base64url') } } : {}),
    });
  }
  /** POST /images/create?fromSrc=- with the root filesystem tar as the body. */
  imageImport(body: BodySource, o: ImportQuery): Promise<IncomingMessage> {
    return this.send('POST', `/images/create${Client.importQuery('-', o)}`, { body });
  }
  /** POST /images/create?fromSrc=URL: the daemon fetches the tar itself. */
  imageImportUrl(url: string, o: ImportQuery): Promise<IncomingMessage> {
    return this.send('POST', `/images/create${Client.importQuery(url, o)}`);
  }
  private static importQuery(fromSrc: string, o: ImportQuery): string {
    return Client.q({ fromSrc, repo: o.repo || undefined, message: o.message || undefined, changes: o.changes, platform: o.platform || undefined });
  }
  imageLoad(body: BodySource, quiet = false): Promise<IncomingMessage> {
    return this.send('POST', `/images/load${Client.q({ quiet: quiet ? 1 : undefined })}`, { body });
  }
  /** GET /images/get: the images as one `docker save` tar stream. */
  imageSave(names: string[]): Promise<IncomingMessage> { return this.send('GET', `/images/get${Client.q({ names })}`); }
  auth(a: AuthConfigWire): Promise<{ Status: string; IdentityToken?: string }> { return this.call('POST', '/auth', a); }

  /** cnm's own: drift between store, kernel and firewall. */
  doctor(): Promise<{ Ok: boolean; Kernel: { ok: boolean; problems: string[] }; Firewall: { ok: boolean } & Record<string, string[] | boolean>; Foreign?: { ok: boolean; problems: string[] } }> {
    return this.call('GET', '/cnm/doctor');
  }

  /**
   * Streams a sandbox's logs (Docker's multiplexed frames), calling `onData`
   * per frame; resolves when the daemon ends the stream (with follow: when
   * the sandbox stops).
   */
  containerLogsStream(id: string, q: LogQuery, onData: (stream: 1 | 2, data: Buffer) => void): Promise<void> {
    const params = new URLSearchParams({ stdout: '1', stderr: '1' });
    if (q.follow) params.set('follow', '1');
    if (q.timestamps) params.set('timestamps', '1');
    if (q.tail !== undefined) params.set('tail', String(q.tail));
    if (q.since) params.set('since', q.since);
    if (q.until) params.set('until', q.until);
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method: 'GET', path: `/v${this.version}/containers/${encodeURIComponent(id)}/logs?${params}`, headers: { Host: 'cnm' } }, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new ApiError(res.statusCode ?? 500, errorMessage(Buffer.concat(chunks)))));
          return;
        }
        res.on('data', demuxer((s, d) => onData(s === 2 ? 2 : 1, d)));
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
          reject(new ApiError(0, `Cannot connect to the cnm daemon at unix://${this.socketPath}. Is the cnm daemon running?`));
        } else reject(e);
      });
      req.end();
    });
  }

  async containerLogs(id: string, q: LogQuery = {}): Promise<{ stdout: Buffer; stderr: Buffer }> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    await this.containerLogsStream(id, q, (s, d) => (s === 2 ? err : out).push(Buffer.from(d)));
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }
}
