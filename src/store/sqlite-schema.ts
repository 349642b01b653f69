// On-disk layout of SqliteStore (one SQLite file, see docs/store.md).
// kv holds live keys; changes is the watch history (one row per key changed
// in a commit, value NULL for a delete); meta holds the revision counter and
// the compaction mark, which must survive even when kv and changes are empty;
// leases holds live leases with their wall-clock deadline, so they survive a
// reopen and expire by the clock, not by the process's uptime.

export const SCHEMA_VERSION = 2;

/** Version 1 had no leases: its keys get lease 0 (none). */
export const MIGRATE_FROM_1 = 'ALTER TABLE kv ADD COLUMN lease INTEGER NOT NULL DEFAULT 0';

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  lease INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_lease ON kv (lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS leases (
  id INTEGER PRIMARY KEY,
  ttl INTEGER NOT NULL,
  deadline INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
  rev INTEGER NOT NULL,
  sub INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  PRIMARY KEY (rev, sub)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0), ('lease', 0);
PRAGMA user_version = ${SCHEMA_VERSION};
`;

export const SQL = {
  begin: 'BEGIN IMMEDIATE',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  meta: 'SELECT value FROM meta WHERE name = ?',
  setMeta: 'UPDATE meta SET value = ? WHERE name = ?',
  get: 'SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key = ?',
  rangeFrom: 'SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key >= ? ORDER BY key',
  range: 'SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key >= ? AND key < ? ORDER BY key',
  put: `INSERT INTO kv (key, value, create_rev, mod_rev, lease) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, create_rev = excluded.create_rev, mod_rev = excluded.mod_rev, lease = excluded.lease`,
  del: 'DELETE FROM kv WHERE key = ?',
  addChange: 'INSERT INTO changes (rev, sub, key, value) VALUES (?, ?, ?, ?)',
  historyFrom: 'SELECT rev, key, value FROM changes WHERE rev > ? AND key >= ? ORDER BY rev, sub',
  history: 'SELECT rev, key, value FROM changes WHERE rev > ? AND key >= ? AND key < ? ORDER BY rev, sub',
  compact: 'DELETE FROM changes WHERE rev <= ?',
  leases: 'SELECT id, ttl, deadline FROM leases',
  setLease: `INSERT INTO leases (id, ttl, deadline) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET ttl = excluded.ttl, deadline = excluded.deadline`,
  deleteLease: 'DELETE FROM leases WHERE id = ?',
  leaseKeys: 'SELECT key FROM kv WHERE lease = ? ORDER BY key',
} as const;
