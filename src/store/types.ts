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
//   start from a past revision until that history is compacted;
// - leases: a key put with a lease is deleted when the lease is revoked or
//   expires, as a normal write (one new revision, delete events to watchers).

export interface KeyValue {
  key: string;
  value: string;
  /** revision of the put that created the key (since its last delete) */
  createRevision: number;
  /** revision of the last put to the key */
  modRevision: number;
  /** the lease the key dies with; 0 = none (etcd KeyValue.lease) */
  lease: number;
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
  /** lease: attach the key to that lease (0 or absent = none; a put without one detaches the key, as etcd) */
  | { type: 'put'; key: string; value: string; lease?: number }
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

export interface PutOptions {
  /** a lease from grant(): the key is deleted when it ends */
  lease?: number;
}

export interface Store {
  get(key: string): Promise<KeyValue | null>;
  /** every key starting with `prefix` ('' = all), sorted by key bytes (UTF-8 order, as etcd) */
  list(prefix: string): Promise<ListResult>;
  /** returns the new revision */
  put(key: string, value: string, options?: PutOptions): Promise<number>;
  /** true if the key existed */
  delete(key: string): Promise<boolean>;
  /**
   * atomic: the compares and the chosen branch see and change one snapshot,
   * all or nothing. Once it resolves, the change survives a crash of this
   * process; sync() makes it survive a power loss too.
   */
  txn(t: Txn): Promise<TxnResult>;
  /**
   * Resolves once every change this client made so far survives a power
   * loss: an answer to a client waits for it. The embedded store syncs its
   * file then (in the background, one sync for all the commits that meet
   * it); etcd's writes are durable when they resolve.
   */
  sync(): Promise<void>;
  revision(): Promise<number>;
  /**
   * Delivers every change under `prefix` with revision > `fromRevision`
   * (null = from now on), in revision order and, within a revision, in op
   * order. (etcd's start_revision is inclusive: use fromRevision + 1.)
   * If history after fromRevision was compacted, onError gets a StoreError
   * with code 'COMPACTED'. Returns a function that cancels the watch.
   */
  watch(prefix: string, fromRevision: number | null, cb: WatchCallback, onError?: WatchErrorCallback): () => void;
  /**
   * Creates a lease that lives ttlSeconds unless kept alive; returns its id
   * (a positive integer, never reused by this store). No revision is made.
   */
  grant(ttlSeconds: number): Promise<number>;
  /**
   * Restarts the lease's time to live; returns the TTL in seconds. Rejects
   * with LEASE_NOT_FOUND once it has expired or been revoked.
   */
  keepAlive(lease: number): Promise<number>;
  /**
   * Ends the lease now and deletes every key attached to it, in one
   * revision. Rejects with LEASE_NOT_FOUND if it is already gone.
   * An expired lease is revoked the same way by the store itself.
   */
  revoke(lease: number): Promise<void>;
  /** discards watch history at and below `revision` (etcd Compact) */
  compact(revision: number): Promise<void>;
  /** cancels every watch; later calls reject with StoreError 'CLOSED'; idempotent */
  close(): Promise<void>;
}
