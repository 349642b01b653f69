// What only the durable store does: survive a reopen, lock out a second
// owner (in this process or another), roll back a failed commit, refuse files
// it cannot use. The shared behaviour is in store-contract.test.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Backend } from '../../src/store/backend.ts';
import { LocalStore } from '../../src/store/local-store.ts';
import { SqliteBackend } from '../../src/store/sqlite-backend.ts';
import { openStore, SqliteStore } from '../../src/store/index.ts';
import type { WatchEvent } from '../../src/store/index.ts';
import { isStoreError, until } from '../helpers/store-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'cnm-store-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(root, `s${n++}`, 'store.db');
const CHILD = join(import.meta.dirname, '..', 'helpers', 'store-crash-child.ts');

test('keys, revisions, watch history and the compaction mark survive a reopen', async () => {
  const path = freshPath();
  const a = await SqliteStore.open(path, { historyRevisions: 1000 });
  await a.put('net/a', '1');
  await a.txn({ compare: [], success: [{ type: 'put', key: 'net/b', value: '2' }, { type: 'put', key: 'net/a', value: '3' }] });
  await a.put('gone', 'x');
  await a.delete('gone');
  await a.compact(1);
  await a.close();

  const b = await SqliteStore.open(path);
  try {
    assert.equal(await b.revision(), 4);
    assert.deepEqual((await b.list('')).kvs, [
      { key: 'net/a', value: '3', createRevision: 1, modRevision: 2, lease: 0 },
      { key: 'net/b', value: '2', createRevision: 2, modRevision: 2, lease: 0 },
    ]);
    const events: WatchEvent[] = [];
    b.watch('', 1, (ev) => events.push(ev));
    await until(() => events.length === 4, 'replay after reopen');
    assert.deepEqual(events.map((e) => [e.type, e.key, e.revision]),
      [['put', 'net/b', 2], ['put', 'net/a', 2], ['put', 'gone', 3], ['delete', 'gone', 4]]);
    const errors: Error[] = [];
    b.watch('', 0, () => {}, (err) => errors.push(err));
    await until(() => errors.length === 1, 'COMPACTED after reopen');
    assert.ok(isStoreError('COMPACTED')(errors[0]));
    assert.equal(await b.put('net/c', '4'), 5, 'revisions continue after a reopen');
  } finally {
    await b.close();
  }
});

test('a second open of the same file in this process fails with LOCKED, and works after close', async () => {
  const path = freshPath();
  const a = await SqliteStore.open(path);
  await assert.rejects(SqliteStore.open(path, { lockTimeoutMs: 0 }), isStoreError('LOCKED', path, 'another'));
  await a.put('k', 'v');
  await a.close();
  const b = await SqliteStore.open(path);
  assert.equal((await b.get('k'))?.value, 'v');
  await b.close();
});

test('another process holding the store makes open fail with LOCKED; its death frees the lock', async () => {
  const path = freshPath();
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CHILD, 'hold', path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('close', r));
  try {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    await until(() => out.includes('ready') || child.exitCode !== null, 'the child to open the store');
    assert.equal(out, 'ready\n');
    await assert.rejects(SqliteStore.open(path, { lockTimeoutMs: 0 }), isStoreError('LOCKED', path));
  } finally {
    // kill -9: the kernel drops the POSIX lock with the process, no stale lock file.
    child.kill('SIGKILL');
    await exited;
  }
  const s = await SqliteStore.open(path, { lockTimeoutMs: 0 });
  assert.equal(await s.revision(), 0);
  await s.close();
});

test('a commit that fails halfway is rolled back completely and the store stays usable', async () => {
  const path = freshPath();
  const inner = SqliteBackend.open(path);
  let failNext = false;
  // Applies only the first change, then fails, as a full disk would mid-commit.
  const faulty: Backend = {
    write: (fn) => inner.write(fn),
    sync: () => inner.sync(),
    apply: (revision, changes) => {
      if (!failNext) { inner.apply(revision, changes); return; }
      failNext = false;
      inner.apply(revision, changes.slice(0, 1));
      throw new Error('disk full (simulated)');
    },
    revision: () => inner.revision(),
    compactedRevision: () => inner.compactedRevision(),
    get: (key) => inner.get(key),
    range: (prefix, end) => inner.range(prefix, end),
    history: (after, prefix, end) => inner.history(after, prefix, end),
    compact: (revision) => inner.compact(revision),
    leases: () => inner.leases(),
    nextLeaseId: () => inner.nextLeaseId(),
    setLease: (lease) => inner.setLease(lease),
    deleteLease: (id) => inner.deleteLease(id),
    leaseKeys: (id) => inner.leaseKeys(id),
    close: () => inner.close(),
  };
  const s = new LocalStore(faulty);
  try {
    await s.put('a', '1');
    const events: WatchEvent[] = [];
    s.watch('', null, (ev) => events.push(ev));
    failNext = true;
    await assert.rejects(
      s.txn({ compare: [], success: [{ type: 'put', key: 'a', value: '2' }, { type: 'put', key: 'b', value: '2' }] }),
      isStoreError('IO', 'txn', 'disk full'));
    assert.equal(await s.revision(), 1);
    assert.deepEqual((await s.list('')).kvs, [{ key: 'a', value: '1', createRevision: 1, modRevision: 1, lease: 0 }]);
    assert.equal(await s.put('c', '3'), 2, 'the next commit gets the next revision');
    await until(() => events.length === 1, 'the next commit event');
    assert.deepEqual(events, [{ type: 'put', key: 'c', value: '3', revision: 2 }], 'no event for the failed commit');
  } finally {
    await s.close();
  }
  const again = await SqliteStore.open(path);
  assert.deepEqual((await again.list('')).kvs.map((kv) => [kv.key, kv.value]), [['a', '1'], ['c', '3']]);
  await again.close();
});

test('a file that is not a store fails with OPEN_FAILED naming the path', async () => {
  const path = freshPath();
  await (await SqliteStore.open(path)).close();
  writeFileSync(path, 'this is not an SQLite database, it is a text file '.repeat(100));
  await assert.rejects(SqliteStore.open(path), isStoreError('OPEN_FAILED', path));
});

test('a store written by a newer schema fails with OPEN_FAILED instead of being misread', async () => {
  const path = freshPath();
  await (await SqliteStore.open(path)).close();
  const db = new DatabaseSync(path);
  db.exec('PRAGMA user_version = 99');
  db.close();
  await assert.rejects(SqliteStore.open(path), isStoreError('OPEN_FAILED', path, 'schema version 99'));
});

test("sync 'normal' stores and reads back like 'full'", async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { sync: 'normal' });
  await s.put('a', '1');
  await s.close();
  const t = await SqliteStore.open(path, { sync: 'full' });
  assert.equal((await t.get('a'))?.value, '1');
  await t.close();
});

// The daemon answers a request only after sync(): that is when its changes
// must be on the disk. The per-commit fdatasync runs off the event loop and
// commits that meet one share it, which strace shows.
test("sync 'full': sync() fdatasyncs the WAL, once for commits made together", async () => {
  const path = freshPath();
  const trace = join(root, `strace-${n}`);
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn('strace', ['-f', '-qq', '-e', 'trace=fdatasync,fsync', '-o', trace, process.execPath, '--disable-warning=ExperimentalWarning', CHILD, 'burst', path, '50'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, 'synced\n');
  const calls = readFileSync(trace, 'utf8').split('\n').filter((l) => /fdatasync\(/.test(l) && !/= -1/.test(l));
  assert.ok(calls.length >= 1, 'the WAL was never fdatasynced');
  // 50 puts in one tick: the first starts a sync, the other 49 share the next.
  assert.ok(calls.length <= 3, `50 commits made together took ${calls.length} fdatasyncs:\n${calls.join('\n')}`);
  const s = await SqliteStore.open(path, { lockTimeoutMs: 0 });
  assert.equal((await s.list('burst/')).kvs.length, 50);
  await s.close();
});

test('sync() resolves at once with nothing to sync, and after each burst of commits', async () => {
  const s = await SqliteStore.open(freshPath());
  await s.sync();
  for (let round = 0; round < 3; round++) {
    const puts = Array.from({ length: 20 }, (_, i) => s.put(`r${round}/${i}`, 'v'));
    await Promise.all([...puts, s.sync()]);
    await s.sync();
  }
  assert.equal((await s.list('r2/')).kvs.length, 20);
  await s.close();
  await assert.rejects(s.sync(), isStoreError('CLOSED'));
});

test('openStore picks an implementation by kind', async () => {
  const path = freshPath();
  for (const store of [await openStore({ kind: 'memory' }), await openStore({ kind: 'sqlite', path })]) {
    assert.equal(await store.put('k', 'v'), 1);
    await store.close();
  }
  await assert.rejects(SqliteStore.open(path, { historyRevisions: 0 }), isStoreError('INVALID_REVISION', 'historyRevisions'));
});
