// What an embedded Store needs from its storage: synchronous reads and one
// atomic write step. LocalStore (local-store.ts) holds every semantic rule
// (revisions, compares, txn planning, watches, validation) on top of this, so
// the memory and SQLite stores cannot drift apart. An etcd client implements
// Store directly instead: etcd applies those rules itself.
import type { KeyValue, WatchEvent } from './types.ts';

/** One key's change in a commit; value null = delete. */
export interface Change {
  key: string;
  value: string | null;
  /** for a put: the key's createRevision after the change */
  createRevision: number;
  /** for a put: the key's lease after the change (0 = none) */
  lease: number;
}

export interface Lease {
  id: number;
  /** seconds */
  ttl: number;
  /** wall-clock time (ms since the epoch) at which it expires */
  deadline: number;
}

export interface Backend {
  /**
   * Runs fn (reads, then at most one apply()) atomically; on throw nothing
   * is kept. Once it returns, the write survives a crash of the process;
   * sync() makes it survive a power loss too.
   */
  write(fn: () => void): void;
  /** Resolves once every write() so far survives a power loss (rejects if the disk failed). */
  sync(): Promise<void>;
  /** Stores every change of one commit with revision `revision` = revision() + 1. */
  apply(revision: number, changes: readonly Change[]): void;
  revision(): number;
  /** history is kept only for revisions > compactedRevision() */
  compactedRevision(): number;
  get(key: string): KeyValue | null;
  /** keys in [prefix, end), sorted in code point order */
  range(prefix: string, end: string | null): KeyValue[];
  /** changes with revision > after whose key is in [prefix, end), by revision then op order */
  history(after: number, prefix: string, end: string | null): WatchEvent[];
  /** every live lease */
  leases(): Lease[];
  /** inside write(): a new lease id, never handed out before by this storage */
  nextLeaseId(): number;
  /** inside write(): creates or updates a lease */
  setLease(lease: Lease): void;
  /** inside write(): forgets a lease (its keys are deleted by apply()) */
  deleteLease(id: number): void;
  /** keys attached to a lease, sorted as range() */
  leaseKeys(id: number): string[];
  /** drops history at and below `revision` (atomic on its own) */
  compact(revision: number): void;
  close(): void;
}
