// The Store rules, once, for every embedded backend: validation, compares,
// txn planning into per-key changes, the revision counter, watch delivery
// after commit, automatic compaction of watch history, and lease expiry.
import type { Backend, Change, Lease } from './backend.ts';
import { StoreError } from './errors.ts';
import { prefixEnd } from './keys.ts';
import type { Compare, KeyValue, ListResult, PutOptions, Store, Txn, TxnOp, TxnResult, WatchCallback, WatchErrorCallback, WatchEvent } from './types.ts';
import { checkKey, checkLease, checkPrefix, checkRevision, checkTtl, checkTxn, checkValue } from './validate.ts';
import { WatchHub } from './watch-hub.ts';

export interface LocalStoreOptions {
  /**
   * How many revisions of watch history to keep for replay (default 10000).
   * Older history is compacted automatically in batches of a tenth of this.
   */
  historyRevisions?: number;
  /** The wall clock leases expire by, in ms since the epoch (default Date.now; tests move it). */
  clock?: () => number;
}

export const DEFAULT_HISTORY_REVISIONS = 10_000;
/** setTimeout's largest delay; a later deadline is simply checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function toEvents(changes: readonly Change[], revision: number): WatchEvent[] {
  return changes.map((c) => Object.freeze({ type: c.value === null ? 'delete' : 'put', key: c.key, value: c.value, revision }));
}

export class LocalStore implements Store {
  private readonly backend: Backend;
  private readonly hub = new WatchHub();
  private readonly historyRevisions: number;
  private readonly compactBatch: number;
  private readonly clock: () => number;
  /** the backend's leases, mirrored: expiry checks must not cost a read */
  private readonly leases = new Map<number, Lease>();
  private expiryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(backend: Backend, options: LocalStoreOptions = {}) {
    this.backend = backend;
    const h = options.historyRevisions ?? DEFAULT_HISTORY_REVISIONS;
    if (!Number.isSafeInteger(h) || h < 1) {
      throw new StoreError({ code: 'INVALID_REVISION', revision: h, expected: 'historyRevisions: a positive integer' });
    }
    this.historyRevisions = h;
    this.compactBatch = Math.max(1, Math.floor(h / 10));
    this.clock = options.clock ?? Date.now;
    // Leases outlive a reopen; those whose deadline passed meanwhile end at
    // the first call or timer tick (wall clock, not process uptime).
    for (const l of this.io('open', () => backend.leases())) this.leases.set(l.id, l);
    this.scheduleExpiry();
  }

  async get(key: string): Promise<KeyValue | null> {
    checkKey(key);
    this.ready();
    return this.io('get', () => this.backend.get(key));
  }

  async list(prefix: string): Promise<ListResult> {
    checkPrefix(prefix);
    this.ready();
    // Reads are synchronous: nothing can commit between the range and the revision.
    const kvs = this.io('list', () => this.backend.range(prefix, prefixEnd(prefix)));
    return { kvs, revision: this.backend.revision() };
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<number> {
    checkValue(checkKey(key), value);
    const lease = options.lease === undefined ? 0 : checkLease(options.lease);
    return this.commit({ compare: [], success: [{ type: 'put', key, value, lease }] }).revision;
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    return this.commit({ compare: [], success: [{ type: 'delete', key }] }).changed > 0;
  }

  async txn(t: Txn): Promise<TxnResult> {
    const { succeeded, revision } = this.commit(checkTxn(t));
    return { succeeded, revision };
  }

  /** Resolves once every commit so far survives a power loss (see sqlite-backend.ts). */
  async sync(): Promise<void> {
    this.assertOpen();
    await this.backend.sync();
  }

  async revision(): Promise<number> {
    this.ready();
    return this.backend.revision();
  }

  async grant(ttlSeconds: number): Promise<number> {
    const ttl = checkTtl(ttlSeconds);
    this.ready();
    const lease: Lease = { id: 0, ttl, deadline: this.clock() + ttl * 1000 };
    this.io('lease grant', () => this.backend.write(() => {
      lease.id = this.backend.nextLeaseId();
      this.backend.setLease(lease);
    }));
    this.leases.set(lease.id, lease);
    this.scheduleExpiry();
    return lease.id;
  }

  async keepAlive(lease: number): Promise<number> {
    const l = this.liveLease(lease);
    const next: Lease = { ...l, deadline: this.clock() + l.ttl * 1000 };
    this.io('lease keepalive', () => this.backend.write(() => this.backend.setLease(next)));
    this.leases.set(next.id, next);
    this.scheduleExpiry();
    return next.ttl;
  }

  async revoke(lease: number): Promise<void> {
    this.endLease(this.liveLease(lease).id);
    this.scheduleExpiry();
  }

  watch(prefix: string, fromRevision: number | null, cb: WatchCallback, onError?: WatchErrorCallback): () => void {
    checkPrefix(prefix);
    if (fromRevision !== null) checkRevision(fromRevision);
    if (typeof cb !== 'function') {
      throw new StoreError({ code: 'INVALID_TXN', field: 'watch callback', value: cb, expected: 'a function' });
    }
    this.ready();
    const current = this.backend.revision();
    const from = fromRevision ?? current;
    const compacted = this.backend.compactedRevision();
    if (from < compacted) {
      this.hub.fail(new StoreError({ code: 'COMPACTED', revision: from, compactedRevision: compacted }), onError);
      return () => {};
    }
    // Reading history and registering happen in one synchronous step: no
    // commit can fall between replay and live delivery.
    const replay = from < current ? this.io('watch', () => this.backend.history(from, prefix, prefixEnd(prefix))) : [];
    return this.hub.add(prefix, from, replay.map((ev) => Object.freeze(ev)), cb);
  }

  async compact(revision: number): Promise<void> {
    checkRevision(revision);
    this.assertOpen();
    const current = this.backend.revision();
    if (revision > current) {
      throw new StoreError({ code: 'INVALID_REVISION', revision, expected: `at most the current revision ${current}` });
    }
    // Compacting an already compacted revision is a no-op (etcd errors; idempotent is kinder).
    if (revision > this.backend.compactedRevision()) this.io('compact', () => this.backend.compact(revision));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.hub.close();
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    // The last commits reach the disk before the file closes (and no
    // fdatasync is left running on a closed descriptor).
    try { await this.backend.sync(); } catch { /* the commit that needed it already failed */ }
    this.io('close', () => this.backend.close());
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError({ code: 'CLOSED' });
  }

  /** Open, and no lease past its deadline still holds keys: every call sees the wall clock's truth. */
  private ready(): void {
    this.assertOpen();
    if (this.leases.size === 0) return;
    const now = this.clock();
    for (const l of [...this.leases.values()]) if (l.deadline <= now) this.endLease(l.id);
  }

  private liveLease(lease: number): Lease {
    checkLease(lease);
    this.ready();
    const l = this.leases.get(lease);
    if (!l) throw new StoreError({ code: 'LEASE_NOT_FOUND', lease });
    return l;
  }

  /** Revokes a lease: its keys are deleted in one revision, with delete events (as etcd). */
  private endLease(id: number): void {
    let events: WatchEvent[] = [];
    this.io('lease revoke', () => this.backend.write(() => {
      const revision = this.backend.revision() + 1;
      const changes: Change[] = this.backend.leaseKeys(id).map((key) => ({ key, value: null, createRevision: 0, lease: 0 }));
      this.backend.deleteLease(id);
      if (changes.length === 0) return;
      this.backend.apply(revision, changes);
      events = toEvents(changes, revision);
    }));
    this.leases.delete(id);
    this.published(events);
  }

  /** One timer, for the nearest deadline; it is unref'd: leases never keep a process alive. */
  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (this.closed || this.leases.size === 0) return;
    let next = Infinity;
    for (const l of this.leases.values()) next = Math.min(next, l.deadline);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      if (this.closed) return;
      // Nobody awaits this; a failure is reported and retried at the next call.
      try { this.ready(); } catch (err) { process.emitWarning(err as Error); }
      this.scheduleExpiry();
    }, Math.min(Math.max(0, next - this.clock()), MAX_TIMER_MS));
    this.expiryTimer.unref();
  }

  private published(events: WatchEvent[]): void {
    if (events.length === 0) return;
    this.hub.publish(events);
    this.autoCompact(this.backend.revision());
  }

  private io<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError({ code: 'IO', op }, { cause: err });
    }
  }

  private commit(t: Txn): TxnResult & { changed: number } {
    this.ready();
    let succeeded = false;
    let events: WatchEvent[] = [];
    this.io('txn', () => this.backend.write(() => {
      const current = this.backend.revision();
      succeeded = t.compare.every((c) => this.holds(c));
      const revision = current + 1;
      const changes = this.plan(succeeded ? t.success : (t.failure ?? []), revision);
      if (changes.length === 0) return;
      this.backend.apply(revision, changes);
      events = toEvents(changes, revision);
    }));
    this.published(events);
    return { succeeded, revision: this.backend.revision(), changed: events.length };
  }

  private holds(c: Compare): boolean {
    const kv = this.backend.get(c.key);
    if ('modRevision' in c) return (kv?.modRevision ?? 0) === c.modRevision;
    return (kv?.value ?? null) === c.value;
  }

  /** Turns ops into per-key changes; a later op sees the effect of earlier ones. */
  private plan(ops: readonly TxnOp[], revision: number): Change[] {
    const changes: Change[] = [];
    const deleted = new Set<string>();
    const del = (key: string): void => {
      if (deleted.has(key)) return;
      deleted.add(key);
      changes.push({ key, value: null, createRevision: 0, lease: 0 });
    };
    for (const op of ops) {
      switch (op.type) {
        case 'put': {
          // Puts never overlap another op's keys (checkTxn), so `deleted` cannot hold this key.
          const lease = op.lease ?? 0;
          // Thrown inside the write: nothing of the txn is kept (etcd fails the whole txn too).
          if (lease !== 0 && !this.leases.has(lease)) throw new StoreError({ code: 'LEASE_NOT_FOUND', lease });
          const old = this.backend.get(op.key);
          changes.push({ key: op.key, value: op.value, createRevision: old?.createRevision ?? revision, lease });
          break;
        }
        case 'delete':
          if (this.backend.get(op.key) !== null) del(op.key);
          break;
        case 'deletePrefix':
          for (const kv of this.backend.range(op.prefix, prefixEnd(op.prefix))) del(kv.key);
          break;
      }
    }
    return changes;
  }

  private autoCompact(revision: number): void {
    const target = revision - this.historyRevisions;
    if (target - this.backend.compactedRevision() < this.compactBatch) return;
    // The commit itself succeeded; a failed compaction only leaves more
    // history, and is retried after the next commit. Say so, once per failure.
    try {
      this.backend.compact(target);
    } catch (err) {
      process.emitWarning(new StoreError({ code: 'IO', op: `auto-compaction to revision ${target}` }, { cause: err }));
    }
  }
}
