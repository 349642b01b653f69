// The Store seam: a small key-value store with etcd v3 semantics, so the
// embedded implementations (memory, SQLite) and a later etcd client are
// interchangeable. What "etcd semantics" means here, concretely:
// - one store-wide revision counter; every write transaction that changes at
//   least one key bumps it by exactly one, and every key it touched gets that
//   revision as its modRevision (etcd mvcc: one main revision per txn);
// - a transaction that changes nothing (failed compares and no failure ops,
//   deletes of absent keys) does not bump it;
// - compares are evaluated and one branch applied atomically (etcd Txn);
// - watches deliver every change under a prefix, in revision order, and can
//   start from a past revision until that history is compacted.

export interface KeyValue {
  key: string;
  value: string;
  /** revision of the put that created the key (since its last delete) */
  createRevision: number;
  /** revision of the last put to the key */
  modRevision: number;
}

/**
 * An equality test evaluated inside a txn. `modRevision: 0` and `value: null`
 * both mean "the key is absent" (etcd: an absent key has mod_revision 0; an
 * etcd client maps `value: null` to `create_revision = 0`).
 */
export type Compare =
  | { key: string; modRevision: number }
  | { key: string; value: string | null };

export type TxnOp =
  | { type: 'put'; key: string; value: string }
  | { type: 'delete'; key: string }
  | { type: 'deletePrefix'; prefix: string };

export interface Txn {
  compare: readonly Compare[];
  success: readonly TxnOp[];
  failure?: readonly TxnOp[];
}

export interface TxnResult {
  /** true when every compare held and `success` was applied */
  succeeded: boolean;
  /** the store revision after the txn (unchanged if it wrote nothing) */
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** the new value; null for a delete */
  value: string | null;
  /** the revision of the txn that made the change */
  revision: number;
}

/** What list() read, and the store revision it read at. */
export interface ListResult {
  kvs: KeyValue[];
  /**
   * The store revision the list saw. Watching from it (watch(prefix,
   * revision, ...)) delivers exactly the changes made after the list: none
   * missed, none repeated (etcd: RangeResponse.header.revision).
   */
  revision: number;
}

export type WatchCallback = (ev: WatchEvent) => void;
/**
 * Called at most once, after which the watch delivers nothing more. Without
 * one, the error is thrown asynchronously (like an EventEmitter 'error' event
 * with no listener): a watch never fails silently.
 */
export type WatchErrorCallback = (err: Error) => void;

export interface Store {
  get(key: string): Promise<KeyValue | null>;
  /** every key starting with `prefix` ('' = all), sorted by key bytes (UTF-8 order, as etcd) */
  list(prefix: string): Promise<ListResult>;
  /** returns the new revision */
  put(key: string, value: string): Promise<number>;
  /** true if the key existed */
  delete(key: string): Promise<boolean>;
  /** atomic: the compares and the chosen branch see and change one snapshot, all or nothing */
  txn(t: Txn): Promise<TxnResult>;
  revision(): Promise<number>;
  /**
   * Delivers every change under `prefix` with revision > `fromRevision`
   * (null = from now on), in revision order and, within a revision, in op
   * order. (etcd's start_revision is inclusive: use fromRevision + 1.)
   * If history after fromRevision was compacted, onError gets a StoreError
   * with code 'COMPACTED'. Returns a function that cancels the watch.
   */
  watch(prefix: string, fromRevision: number | null, cb: WatchCallback, onError?: WatchErrorCallback): () => void;
  /** discards watch history at and below `revision` (etcd Compact) */
  compact(revision: number): Promise<void>;
  /** cancels every watch; later calls reject with StoreError 'CLOSED'; idempotent */
  close(): Promise<void>;
}
