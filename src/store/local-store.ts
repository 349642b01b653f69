// The Store rules, once, for every embedded backend: validation, compares,
// txn planning into per-key changes, the revision counter, watch delivery
// after commit, and automatic compaction of watch history.
import type { Backend, Change } from './backend.ts';
import { StoreError } from './errors.ts';
import { prefixEnd } from './keys.ts';
import type { Compare, KeyValue, ListResult, Store, Txn, TxnOp, TxnResult, WatchCallback, WatchErrorCallback, WatchEvent } from './types.ts';
import { checkKey, checkPrefix, checkRevision, checkTxn, checkValue } from './validate.ts';
import { WatchHub } from './watch-hub.ts';

export interface LocalStoreOptions {
  /**
   * How many revisions of watch history to keep for replay (default 10000).
   * Older history is compacted automatically in batches of a tenth of this.
   */
  historyRevisions?: number;
}

export const DEFAULT_HISTORY_REVISIONS = 10_000;

export class LocalStore implements Store {
  private readonly backend: Backend;
  private readonly hub = new WatchHub();
  private readonly historyRevisions: number;
  private readonly compactBatch: number;
  private closed = false;

  constructor(backend: Backend, options: LocalStoreOptions = {}) {
    this.backend = backend;
    const h = options.historyRevisions ?? DEFAULT_HISTORY_REVISIONS;
    if (!Number.isSafeInteger(h) || h < 1) {
      throw new StoreError({ code: 'INVALID_REVISION', revision: h, expected: 'historyRevisions: a positive integer' });
    }
    this.historyRevisions = h;
    this.compactBatch = Math.max(1, Math.floor(h / 10));
  }

  async get(key: string): Promise<KeyValue | null> {
    checkKey(key);
    this.assertOpen();
    return this.io('get', () => this.backend.get(key));
  }

  async list(prefix: string): Promise<ListResult> {
    checkPrefix(prefix);
    this.assertOpen();
    // Reads are synchronous: nothing can commit between the range and the revision.
    const kvs = this.io('list', () => this.backend.range(prefix, prefixEnd(prefix)));
    return { kvs, revision: this.backend.revision() };
  }

  async put(key: string, value: string): Promise<number> {
    checkValue(checkKey(key), value);
    return this.commit({ compare: [], success: [{ type: 'put', key, value }] }).revision;
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    return this.commit({ compare: [], success: [{ type: 'delete', key }] }).changed > 0;
  }

  async txn(t: Txn): Promise<TxnResult> {
    const { succeeded, revision } = this.commit(checkTxn(t));
    return { succeeded, revision };
  }

  async revision(): Promise<number> {
    return this.backendRevision();
  }

  watch(prefix: string, fromRevision: number | null, cb: WatchCallback, onError?: WatchErrorCallback): () => void {
    checkPrefix(prefix);
    if (fromRevision !== null) checkRevision(fromRevision);
    if (typeof cb !== 'function') {
      throw new StoreError({ code: 'INVALID_TXN', field: 'watch callback', value: cb, expected: 'a function' });
    }
    this.assertOpen();
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
    this.io('close', () => this.backend.close());
  }

  private backendRevision(): number {
    this.assertOpen();
    return this.backend.revision();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError({ code: 'CLOSED' });
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
    this.assertOpen();
    let succeeded = false;
    let events: WatchEvent[] = [];
    this.io('txn', () => this.backend.write(() => {
      const current = this.backend.revision();
      succeeded = t.compare.every((c) => this.holds(c));
      const revision = current + 1;
      const changes = this.plan(succeeded ? t.success : (t.failure ?? []), revision);
      if (changes.length === 0) return;
      this.backend.apply(revision, changes);
      events = changes.map((c) => Object.freeze({ type: c.value === null ? 'delete' : 'put', key: c.key, value: c.value, revision }));
    }));
    const revision = this.backend.revision();
    if (events.length > 0) {
      this.hub.publish(events);
      this.autoCompact(revision);
    }
    return { succeeded, revision, changed: events.length };
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
      changes.push({ key, value: null, createRevision: 0 });
    };
    for (const op of ops) {
      switch (op.type) {
        case 'put': {
          // Puts never overlap another op's keys (checkTxn), so `deleted` cannot hold this key.
          const old = this.backend.get(op.key);
          changes.push({ key: op.key, value: op.value, createRevision: old?.createRevision ?? revision });
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
