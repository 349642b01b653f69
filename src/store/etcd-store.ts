// The Store seam over a real etcd v3 cluster (npm `etcd3`, gRPC). etcd applies
// the rules itself (revisions, compares, txn atomicity, leases, watches); this
// file translates, and keeps the seam's promises where etcd's differ:
// - Revisions: an empty etcd is at revision 1 (its first write makes 2), the
//   embedded stores start at 0. cnm revision = etcd revision - 1, in every
//   direction (results, compares, watch starts), so an empty store reads 0 on
//   both and code never sees the difference.
// - Compaction: etcd's Compact(r) keeps revision r watchable; the seam's
//   compact(r) drops r too. compact(r) compacts etcd at r + 1 (= cnm r) and
//   remembers the mark, so a watch from below it fails with COMPACTED here;
//   a compaction made by another client is learnt from etcd's cancel
//   (compact_revision).
// - Lease ids: etcd picks random 63-bit ids, beyond a JavaScript number's
//   exact range; grant() asks for an id of its own (LeaseGrant.ID) below 2^52.
// - Unreachable cluster: every unary call has a deadline, and a call that
//   cannot reach etcd rejects with StoreError 'UNAVAILABLE' naming the
//   endpoints, so callers fail fast instead of hanging (libnetwork#800).
import { Etcd3, isRecoverableError } from 'etcd3';
import type { ICompare, IKeyValue, IRequestOp, IResponseHeader, IWatchResponse } from 'etcd3';
import { randomInt } from 'node:crypto';
import { StoreError } from './errors.ts';
import type { KeyValue, ListResult, PutOptions, Store, Txn, TxnOp, TxnResult, WatchCallback, WatchErrorCallback, WatchEvent } from './types.ts';
import { checkKey, checkLease, checkPrefix, checkRevision, checkTtl, checkTxn, checkValue } from './validate.ts';

export interface EtcdTls {
  /** PEM: the CA that signed etcd's server certificate */
  ca: Buffer;
  /** PEM: client certificate and key, when etcd asks for one (--client-cert-auth) */
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdStoreOptions {
  /** client URLs, e.g. ['http://10.0.0.1:2379'] (https:// with tls) */
  endpoints: string[];
  tls?: EtcdTls;
  /** a call that gets no answer in about this long (three tries on the members) is UNAVAILABLE (default 3000) */
  callTimeoutMs?: number;
  /**
   * Compact automatically, keeping this many revisions of history (as the
   * embedded stores do). Unset: never (an etcd operator usually runs etcd's
   * own --auto-compaction-*).
   */
  historyRevisions?: number;
}

const OFFSET = 1;
const toCnm = (etcdRev: string | number): number => Math.max(0, Number(etcdRev) - OFFSET);
const revOf = (h: IResponseHeader): number => toCnm(h.revision);
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** etcd's range end for a byte prefix: the prefix with its last byte below 0xff incremented ('\0' = to the end). */
function rangeEnd(prefix: Buffer): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    const byte = b[i] ?? 0xff;
    if (byte < 0xff) {
      b[i] = byte + 1;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The [key, range_end) of a prefix; '' = every key (etcd: key and range_end '\0'). */
function prefixRange(prefix: string): { key: Buffer; range_end: Buffer } {
  if (prefix === '') return { key: Buffer.from([0]), range_end: Buffer.from([0]) };
  const key = utf8(prefix);
  return { key, range_end: rangeEnd(key) };
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    createRevision: toCnm(kv.create_revision),
    modRevision: toCnm(kv.mod_revision),
    lease: Number(kv.lease),
  };
}

function toOp(op: TxnOp): IRequestOp {
  switch (op.type) {
    case 'put': return { request_put: { key: utf8(op.key), value: utf8(op.value), lease: op.lease ?? 0 } };
    case 'delete': return { request_delete_range: { key: utf8(op.key) } };
    case 'deletePrefix': return { request_delete_range: prefixRange(op.prefix) };
  }
}

function toCompare(c: Txn['compare'][number]): ICompare {
  const key = utf8(c.key);
  if ('modRevision' in c) {
    // An absent key has mod_revision 0 in etcd too.
    return { key, target: 'Mod', result: 'Equal', mod_revision: c.modRevision === 0 ? 0 : c.modRevision + OFFSET };
  }
  if (c.value === null) return { key, target: 'Create', result: 'Equal', create_revision: 0 };
  return { key, target: 'Value', result: 'Equal', value: utf8(c.value) };
}

const isLeaseNotFound = (e: unknown): boolean => e instanceof Error && /lease not found/i.test(e.message);
const isCompactedMsg = (e: unknown): boolean => e instanceof Error && /has been compacted/i.test(e.message);
const isFutureRev = (e: unknown): boolean => e instanceof Error && /future revision/i.test(e.message);

interface ActiveWatch {
  prefix: string;
  /** the highest revision of an event this watch delivered */
  seen: number;
  /** the newest revision at which this client changed a key under `prefix` while the watch ran */
  want: number;
  /** called after each answer on the watch's stream */
  onProgress: (() => void) | null;
  cancel: () => void;
}

/** What a write changed: keys, and prefixes (deletePrefix); null when unknown (a lease's keys). */
type Touched = { keys: string[]; prefixes: string[] } | null;

const touches = (w: ActiveWatch, t: NonNullable<Touched>): boolean =>
  t.keys.some((k) => k.startsWith(w.prefix)) || t.prefixes.some((p) => p.startsWith(w.prefix) || w.prefix.startsWith(p));

export class EtcdStore implements Store {
  readonly endpoints: string;
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private readonly history: number | undefined;
  private closed = false;
  /** highest revision seen in any answer: a watch from "now" starts after it */
  private lastKnown = 0;
  /** compaction mark (cnm revisions): history is kept only above it */
  private compacted = 0;
  private readonly watches = new Set<ActiveWatch>();

  constructor(options: EtcdStoreOptions) {
    this.endpoints = options.endpoints.join(',');
    this.timeoutMs = options.callTimeoutMs ?? 3000;
    this.history = options.historyRevisions;
    this.client = new Etcd3({
      hosts: options.endpoints,
      credentials: options.tls ? { rootCertificate: options.tls.ca, privateKey: options.tls.key, certChain: options.tls.cert } : undefined,
      dialTimeout: this.timeoutMs,
      // A deadline per attempt: the client retries a call on another member
      // (3 attempts) when one is down or loses its leadership, and each try
      // must leave time for the next.
      defaultCallOptions: (c) => (c.isStream ? {} : { deadline: Date.now() + Math.ceil(this.timeoutMs / 3) }),
      grpcOptions: {
        // Back quickly once etcd is back (gRPC's default backoff grows to 120 s).
        'grpc.initial_reconnect_backoff_ms': 250,
        'grpc.max_reconnect_backoff_ms': 2000,
        // Notice a dead connection (a host cut off) while only a watch is open;
        // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5000,
        'grpc.keepalive_permit_without_calls': 1,
      },
    });
  }

  /** Connects and reads the current revision (a watch from "now" needs it); tolerates an unreachable cluster. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const s = new EtcdStore(options);
    await s.revision().catch(() => undefined);
    return s;
  }

  private call() { return { deadline: Date.now() + this.timeoutMs }; }

  private seen(h: IResponseHeader | undefined): number {
    const r = h ? revOf(h) : 0;
    if (r > this.lastKnown) this.lastKnown = r;
    return r;
  }

  private live(): void {
    if (this.closed) throw new StoreError({ code: 'CLOSED' });
  }

  /** etcd/gRPC errors -> StoreError where the seam has a code for them. */
  private fail(op: string, e: unknown, lease = 0): never {
    if (e instanceof StoreError) throw e;
    if (isLeaseNotFound(e)) throw new StoreError({ code: 'LEASE_NOT_FOUND', lease }, { cause: e });
    if (this.closed) throw new StoreError({ code: 'CLOSED' });
    if (isRecoverableError(e as Error) || (e instanceof Error && /deadline|unavailable|ECONNREFUSED|circuit|No connection|connect/i.test(`${e.name} ${e.message}`))) {
      throw new StoreError({ code: 'UNAVAILABLE', op, endpoints: this.endpoints }, { cause: e });
    }
    throw e;
  }

  private async wrote(h: IResponseHeader, changed: boolean, touched: Touched): Promise<number> {
    const r = this.seen(h);
    // Watches that will see this write: close() waits for them to deliver it.
    if (changed && touched) for (const w of this.watches) if (touches(w, touched) && r > w.want) w.want = r;
    if (changed && this.history !== undefined && r - this.history > this.compacted) await this.compact(r - this.history);
    return r;
  }

  async get(key: string): Promise<KeyValue | null> {
    this.live();
    checkKey(key);
    try {
      const res = await this.client.kv.range({ key: utf8(key) });
      this.seen(res.header);
      const kv = res.kvs[0];
      return kv ? toKeyValue(kv) : null;
    } catch (e) { return this.fail('get', e); }
  }

  async list(prefix: string): Promise<ListResult> {
    this.live();
    checkPrefix(prefix);
    try {
      const res = await this.client.kv.range(prefixRange(prefix));
      return { kvs: res.kvs.map(toKeyValue), revision: this.seen(res.header) };
    } catch (e) { return this.fail('list', e); }
  }

  async put(key: string, value: string, options?: PutOptions): Promise<number> {
    this.live();
    checkKey(key);
    checkValue(key, value);
    const lease = options?.lease === undefined ? 0 : checkLease(options.lease);
    try {
      const res = await this.client.kv.put({ key: utf8(key), value: utf8(value), lease });
      return await this.wrote(res.header, true, { keys: [key], prefixes: [] });
    } catch (e) { return this.fail('put', e, lease); }
  }

  async delete(key: string): Promise<boolean> {
    this.live();
    checkKey(key);
    try {
      const res = await this.client.kv.deleteRange({ key: utf8(key) });
      const existed = Number(res.deleted) > 0;
      await this.wrote(res.header, existed, { keys: [key], prefixes: [] });
      return existed;
    } catch (e) { return this.fail('delete', e); }
  }

  /** etcd answers a write after its raft commit, which is on the members' disks. */
  async sync(): Promise<void> {
    this.live();
  }

  async txn(t: Txn): Promise<TxnResult> {
    this.live();
    checkTxn(t);
    const before = this.lastKnown;
    try {
      const res = await this.client.kv.txn({
        compare: t.compare.map(toCompare),
        success: t.success.map(toOp),
        failure: (t.failure ?? []).map(toOp),
      });
      const revision = revOf(res.header);
      const ops = res.succeeded ? t.success : (t.failure ?? []);
      await this.wrote(res.header, revision > before, {
        keys: ops.flatMap((op) => (op.type === 'deletePrefix' ? [] : [op.key])),
        prefixes: ops.flatMap((op) => (op.type === 'deletePrefix' ? [op.prefix] : [])),
      });
      return { succeeded: res.succeeded, revision };
    } catch (e) {
      if (isLeaseNotFound(e)) return this.fail('txn', e, await this.missingLease(t));
      return this.fail('txn', e);
    }
  }

  /** Which lease of a rejected txn is gone (etcd's error does not say). */
  private async missingLease(t: Txn): Promise<number> {
    const ids = new Set<number>();
    for (const op of [...t.success, ...(t.failure ?? [])]) if (op.type === 'put' && op.lease) ids.add(op.lease);
    for (const id of ids) {
      const r = await this.client.leaseClient.leaseTimeToLive({ ID: id }).catch(() => null);
      if (r && Number(r.TTL) < 0) return id;
    }
    return [...ids][0] ?? 0;
  }

  async revision(): Promise<number> {
    this.live();
    try {
      const res = await this.client.kv.range({ key: Buffer.from([0]), limit: 1, count_only: true });
      return this.seen(res.header);
    } catch (e) { return this.fail('revision', e); }
  }

  watch(prefix: string, fromRevision: number | null, cb: WatchCallback, onError?: WatchErrorCallback): () => void {
    this.live();
    checkPrefix(prefix);
    if (fromRevision !== null) checkRevision(fromRevision);
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      active.cancel();
      if (onError) onError(err);
      else queueMicrotask(() => { throw err; });
    };
    // From "now" = after the newest revision this client has seen: a write
    // this client makes after watch() returns is always delivered.
    const from = fromRevision ?? this.lastKnown;
    let stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | null = null;
    const active: ActiveWatch = {
      prefix,
      seen: from,
      want: 0,
      onProgress: null,
      cancel: () => {
        done = true;
        this.watches.delete(active);
        active.onProgress?.();
        try { stream?.end(); } catch { /* already gone */ }
        try { (stream as unknown as { cancel?: () => void } | null)?.cancel?.(); } catch { /* already gone */ }
      },
    };
    this.watches.add(active);
    if (from < this.compacted) {
      queueMicrotask(() => fail(new StoreError({ code: 'COMPACTED', revision: from, compactedRevision: this.compacted })));
      return active.cancel;
    }
    const onData = (res: IWatchResponse): void => {
      if (done) return;
      if (res.canceled) {
        const c = Number(res.compact_revision);
        if (c > 0) {
          // etcd refuses start_revision < c, i.e. cnm from < c - 2.
          const mark = Math.max(0, c - 2);
          if (mark > this.compacted) this.compacted = mark;
          fail(new StoreError({ code: 'COMPACTED', revision: from, compactedRevision: mark }));
        } else {
          fail(new StoreError({ code: 'UNAVAILABLE', op: `watch canceled: ${res.cancel_reason}`, endpoints: this.endpoints }));
        }
        return;
      }
      for (const ev of res.events) {
        if (done) return;
        const out: WatchEvent = ev.type === 'Put'
          ? { type: 'put', key: ev.kv.key.toString('utf8'), value: ev.kv.value.toString('utf8'), revision: toCnm(ev.kv.mod_revision) }
          : { type: 'delete', key: ev.kv.key.toString('utf8'), value: null, revision: toCnm(ev.kv.mod_revision) };
        if (out.revision > active.seen) active.seen = out.revision;
        try { cb(out); } catch (e) { queueMicrotask(() => { throw e; }); }
      }
      active.onProgress?.();
    };
    void this.client.watchClient.watch().then((s) => {
      stream = s;
      if (done) { active.cancel(); return; }
      s.on('data', onData);
      s.on('error', (e: Error) => fail(new StoreError({ code: 'UNAVAILABLE', op: 'watch', endpoints: this.endpoints }, { cause: e })));
      s.on('end', () => fail(new StoreError({ code: 'UNAVAILABLE', op: 'watch ended', endpoints: this.endpoints })));
      s.write({ create_request: { ...prefixRange(prefix), start_revision: from + 1 + OFFSET } });
    }, (e: unknown) => fail(new StoreError({ code: 'UNAVAILABLE', op: 'watch', endpoints: this.endpoints }, { cause: e })));
    return active.cancel;
  }

  async grant(ttlSeconds: number): Promise<number> {
    this.live();
    checkTtl(ttlSeconds);
    for (;;) {
      const id = randomInt(1, 2 ** 47) * 32 + randomInt(0, 32);
      try {
        const res = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id });
        this.seen(res.header);
        return Number(res.ID);
      } catch (e) {
        if (e instanceof Error && /lease already exists/i.test(e.message)) continue;
        return this.fail('grant', e);
      }
    }
  }

  async keepAlive(lease: number): Promise<number> {
    this.live();
    checkLease(lease);
    let stream: Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>> | undefined;
    try {
      stream = await this.client.leaseClient.leaseKeepAlive(this.call());
      const s = stream;
      const ttl = await new Promise<number>((resolve, reject) => {
        s.on('data', (res: { TTL: string }) => resolve(Number(res.TTL)));
        s.on('error', reject);
        s.on('end', () => reject(new Error('keepalive stream ended')));
        s.write({ ID: lease });
      });
      // etcd answers TTL 0 (or less) for a lease it does not have.
      if (ttl <= 0) throw new StoreError({ code: 'LEASE_NOT_FOUND', lease });
      return ttl;
    } catch (e) {
      return this.fail('keepAlive', e, lease);
    } finally {
      try { stream?.end(); } catch { /* already gone */ }
    }
  }

  async revoke(lease: number): Promise<void> {
    this.live();
    checkLease(lease);
    try {
      const res = await this.client.leaseClient.leaseRevoke({ ID: lease });
      // Which keys the lease held is etcd's to know: not waited for at close.
      await this.wrote(res.header, true, null);
    } catch (e) { this.fail('revoke', e, lease); }
  }

  async compact(revision: number): Promise<void> {
    this.live();
    checkRevision(revision);
    const current = await this.revision();
    if (revision > current) {
      throw new StoreError({ code: 'INVALID_REVISION', revision, expected: `at most the current revision ${current}` });
    }
    if (revision <= this.compacted) return;
    try {
      await this.client.kv.compact({ revision: revision + OFFSET, physical: true });
    } catch (e) {
      if (!isCompactedMsg(e)) {
        if (isFutureRev(e)) throw new StoreError({ code: 'INVALID_REVISION', revision, expected: `at most the current revision ${current}` });
        this.fail('compact', e);
      }
    }
    if (revision > this.compacted) this.compacted = revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Events this client committed are delivered before close returns (as the
    // embedded stores do): each watch waits for the event of this client's
    // last write under its prefix. (A progress notification cannot say so:
    // etcd 3.4 drops the request while a watch catches up, and may answer
    // with a revision whose event is still on its way.)
    await Promise.all([...this.watches].map((w) => new Promise<void>((resolve) => {
      if (w.seen >= w.want) { resolve(); return; }
      const timer = setTimeout(resolve, this.timeoutMs);
      w.onProgress = () => { if (w.seen >= w.want || !this.watches.has(w)) { clearTimeout(timer); resolve(); } };
    })));
    this.closed = true;
    for (const w of [...this.watches]) w.cancel();
    this.client.close();
  }
}
