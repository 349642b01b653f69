// SQLite storage for SqliteStore, through node:sqlite (DatabaseSync, built into
// Node 24). Why these settings (https://sqlite.org/wal.html, pragma.html):
// - journal_mode=WAL: a commit appends to the -wal file; after a crash the next
//   open replays every frame whose commit record is complete and drops the rest,
//   so the file opens cleanly and no txn is ever half applied.
// - A commit is written to the WAL (the page cache) on the calling thread and
//   is then safe from a crash of the process. Making it survive a power loss
//   takes an fdatasync of the WAL, which is what synchronous=FULL does inside
//   the commit, on the calling thread, ~0.5-0.9 ms each. Here SQLite runs with
//   synchronous=NORMAL (it still syncs the WAL before each checkpoint, the
//   database after it, and the WAL header when the WAL is reused) and sync()
//   does the per-commit fdatasync of the WAL on the libuv threadpool: the
//   daemon goes on (its kernel work overlaps the disk's) and answers a request
//   only after sync() (sync: 'full', the default). Commits that meet one sync
//   share it. 'normal' leaves the per-commit sync out: safe against a process
//   crash, may lose the last commits on power loss.
// - locking_mode=EXCLUSIVE: the first write takes the database file lock and
//   keeps it until close, so a second daemon on the same data root gets
//   SQLITE_BUSY at open. The lock is a POSIX lock held by the kernel for the
//   process, so a killed owner leaves no stale lock behind. It also means no
//   -shm file and no lock syscalls per transaction.
import { closeSync, existsSync, fdatasync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import type { Backend, Change, Lease } from './backend.ts';
import { StoreError } from './errors.ts';
import type { KeyValue, WatchEvent } from './types.ts';
import { MIGRATE_FROM_1, SCHEMA_SQL, SCHEMA_VERSION, SQL } from './sqlite-schema.ts';

/** SQLite primary result codes (https://sqlite.org/rescode.html) */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const fdatasyncP = promisify(fdatasync);
/** Keep the WAL from staying large after a burst (bytes). */
const JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024;

export type SqliteSync = 'full' | 'normal';

export interface SqliteBackendOptions {
  /** 'full' (default): sync() makes commits survive power loss; 'normal': survive kill -9 only */
  sync?: SqliteSync;
  /** how long open waits for another owner to let go of the lock (default 250 ms) */
  lockTimeoutMs?: number;
}

type Row = Record<string, unknown>;
type Statements = { -readonly [K in keyof typeof SQL]: StatementSync };

function toKeyValue(r: Row): KeyValue {
  return {
    key: r.key as string, value: r.value as string, createRevision: r.create_rev as number, modRevision: r.mod_rev as number, lease: r.lease as number,
  };
}

function toEvent(r: Row): WatchEvent {
  const value = r.value as string | null;
  return { type: value === null ? 'delete' : 'put', key: r.key as string, value, revision: r.rev as number };
}

function sqliteCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/**
 * SQLite fsyncs the directory when it creates the -wal file, but not for the
 * main file it creates; without this a power loss right after the first open
 * could lose the file's directory entry along with everything committed.
 */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

export class SqliteBackend implements Backend {
  private readonly db: DatabaseSync;
  private readonly st: Statements;
  private rev: number;
  private compacted: number;
  private pending: number | null = null;
  private readonly walPath: string;
  private readonly syncMode: SqliteSync;
  private walFd = -1;
  /** writes made; the count the last finished fdatasync covered */
  private writes = 0;
  private synced = 0;
  private syncing: Promise<void> | null = null;
  /** set for good by a failed fdatasync (see flush) */
  private failed: StoreError | null = null;

  /** Opens (creating if needed) and locks the database at `path`. */
  static open(path: string, options: SqliteBackendOptions = {}): SqliteBackend {
    let db: DatabaseSync | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      db = new DatabaseSync(path, { timeout: options.lockTimeoutMs ?? 250 });
      // EXCLUSIVE must come before the first WAL access so no -shm is used.
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      const mode = (db.prepare('PRAGMA journal_mode = WAL').get() as Row | undefined)?.journal_mode;
      if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, expected wal`);
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
      // The first write transaction takes the exclusive lock (held until close)
      // and creates the schema atomically: a crash here leaves an empty file.
      db.exec('BEGIN IMMEDIATE');
      const version = (db.prepare('PRAGMA user_version').get() as Row | undefined)?.user_version as number;
      if (version > SCHEMA_VERSION) throw new Error(`schema version ${version} is newer than this cnm's (${SCHEMA_VERSION})`);
      // In the same transaction as the rest: a crash mid-upgrade leaves version 1.
      if (version === 1) db.exec(MIGRATE_FROM_1);
      db.exec(SCHEMA_SQL);
      db.exec('COMMIT');
      syncDir(dirname(path));
      return new SqliteBackend(db, `${path}-wal`, options.sync ?? 'full');
    } catch (err) {
      try { db?.close(); } catch { /* already failing; the original error matters */ }
      const code = sqliteCode(err);
      if (code === SQLITE_BUSY || code === SQLITE_LOCKED) throw new StoreError({ code: 'LOCKED', path }, { cause: err });
      throw new StoreError({ code: 'OPEN_FAILED', path }, { cause: err });
    }
  }

  private constructor(db: DatabaseSync, walPath: string, syncMode: SqliteSync) {
    this.db = db;
    this.walPath = walPath;
    this.syncMode = syncMode;
    const st: Partial<Statements> = {};
    for (const [name, sql] of Object.entries(SQL)) st[name as keyof Statements] = db.prepare(sql);
    this.st = st as Statements;
    this.rev = this.meta('revision');
    this.compacted = this.meta('compacted');
  }

  private meta(name: string): number {
    return (this.st.meta.get(name) as Row | undefined)?.value as number;
  }

  write(fn: () => void): void {
    if (this.failed) throw this.failed;
    this.st.begin.run();
    try {
      fn();
      this.st.commit.run();
    } catch (err) {
      this.pending = null;
      // SQLite may already have rolled back (e.g. after an I/O error).
      if (this.db.isTransaction) this.st.rollback.run();
      throw err;
    }
    if (this.pending !== null) {
      this.rev = this.pending;
      this.pending = null;
    }
    this.writes++;
    this.kick();
  }

  async sync(): Promise<void> {
    const target = this.writes;
    while (this.syncMode === 'full' && this.synced < target && !this.failed) {
      this.kick();
      await this.syncing;
    }
    if (this.failed) throw this.failed;
  }

  /**
   * Starts an fdatasync of the WAL unless one runs: each covers every write
   * made before it began, and the next starts when it ends, so commits
   * become durable within about one fdatasync whether or not anyone waits.
   */
  private kick(): void {
    if (this.syncMode !== 'full' || this.syncing || this.failed || this.synced >= this.writes) return;
    // Cleared in a callback, which always runs after this assignment (a
    // flush with nothing to sync may finish before flush() returns).
    this.syncing = this.flush().finally(() => {
      this.syncing = null;
      this.kick();
    });
  }

  private async flush(): Promise<void> {
    const upto = this.writes;
    try {
      // The WAL exists from the first write on (open wrote the schema) and,
      // with locking_mode=EXCLUSIVE, is only truncated, never replaced, until close.
      if (this.walFd < 0 && existsSync(this.walPath)) this.walFd = openSync(this.walPath, 'r');
      if (this.walFd >= 0) await fdatasyncP(this.walFd);
      this.synced = Math.max(this.synced, upto);
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages, and
      // a later fsync can succeed without them: nothing written since the
      // last good sync can be trusted, so the store takes no more writes.
      this.failed = new StoreError({ code: 'IO', op: 'sync' }, { cause: err });
    }
  }

  apply(revision: number, changes: readonly Change[]): void {
    changes.forEach((c, sub) => {
      if (c.value === null) this.st.del.run(c.key);
      else this.st.put.run(c.key, c.value, c.createRevision, revision, c.lease);
      this.st.addChange.run(revision, sub, c.key, c.value);
    });
    this.st.setMeta.run(revision, 'revision');
    this.pending = revision;
  }

  revision(): number { return this.rev; }
  compactedRevision(): number { return this.compacted; }

  get(key: string): KeyValue | null {
    const r = this.st.get.get(key) as Row | undefined;
    return r ? toKeyValue(r) : null;
  }

  range(prefix: string, end: string | null): KeyValue[] {
    const rows = end === null ? this.st.rangeFrom.all(prefix) : this.st.range.all(prefix, end);
    return (rows as Row[]).map(toKeyValue);
  }

  history(after: number, prefix: string, end: string | null): WatchEvent[] {
    const rows = end === null ? this.st.historyFrom.all(after, prefix) : this.st.history.all(after, prefix, end);
    return (rows as Row[]).map(toEvent);
  }

  leases(): Lease[] {
    return (this.st.leases.all() as Row[]).map((r) => ({ id: r.id as number, ttl: r.ttl as number, deadline: r.deadline as number }));
  }

  nextLeaseId(): number {
    const id = this.meta('lease') + 1;
    this.st.setMeta.run(id, 'lease');
    return id;
  }

  setLease(lease: Lease): void { this.st.setLease.run(lease.id, lease.ttl, lease.deadline); }
  deleteLease(id: number): void { this.st.deleteLease.run(id); }

  leaseKeys(id: number): string[] {
    return (this.st.leaseKeys.all(id) as Row[]).map((r) => r.key as string);
  }

  compact(revision: number): void {
    this.write(() => {
      this.st.compact.run(revision);
      this.st.setMeta.run(revision, 'compacted');
    });
    this.compacted = revision;
  }

  close(): void {
    if (this.walFd >= 0) closeSync(this.walFd);
    this.walFd = -1;
    this.db.close();
  }
}
