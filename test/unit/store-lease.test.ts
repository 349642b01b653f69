// Lease time in the embedded stores, on a clock the test moves: keepAlive
// pushes the deadline out, expiry happens at the deadline and not before,
// and SQLite keeps leases across a reopen, expiring them by the wall clock
// (a lease whose deadline passed while the store was closed ends at open).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MemoryStore, SqliteStore } from '../../src/store/index.ts';
import type { LocalStoreOptions, Store, WatchEvent } from '../../src/store/index.ts';
import { isStoreError, until } from '../helpers/store-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'cnm-store-lease-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(root, `s${n++}`, 'store.db');

/** A clock at a fixed point that only the test moves (ms). */
function fakeClock(start = 1_700_000_000_000): { now: () => number; advance: (s: number) => void } {
  let t = start;
  return { now: () => t, advance: (s) => { t += s * 1000; } };
}

const kinds: Array<[string, (o: LocalStoreOptions) => Promise<Store>]> = [
  ['MemoryStore', async (o) => new MemoryStore(o)],
  ['SqliteStore', (o) => SqliteStore.open(freshPath(), o)],
];

for (const [name, open] of kinds) {
  describe(`leases on a moved clock: ${name}`, () => {
    test('keys live until the deadline, keepAlive moves it, and they go at the deadline', async () => {
      const clock = fakeClock();
      const s = await open({ clock: clock.now });
      try {
        const lease = await s.grant(10);
        await s.put('k', 'v', { lease });
        clock.advance(9);
        assert.equal((await s.get('k'))?.value, 'v', 'alive before the deadline');
        assert.equal(await s.keepAlive(lease), 10);
        clock.advance(9.999);
        assert.equal((await s.get('k'))?.value, 'v', 'keepAlive restarted the TTL');
        clock.advance(0.001);
        assert.equal(await s.get('k'), null, 'gone at the deadline');
        assert.equal(await s.revision(), 2);
        await assert.rejects(s.keepAlive(lease), isStoreError('LEASE_NOT_FOUND'));
        await assert.rejects(s.put('k2', 'v', { lease }), isStoreError('LEASE_NOT_FOUND'));
      } finally {
        await s.close();
      }
    });

    test('each expired lease ends in its own revision, and watchers see the deletes', async () => {
      const clock = fakeClock();
      const s = await open({ clock: clock.now });
      try {
        const a = await s.grant(5);
        const b = await s.grant(5);
        const c = await s.grant(50);
        await s.put('x/a', '1', { lease: a });
        await s.put('x/b', '2', { lease: b });
        await s.put('x/c', '3', { lease: c });
        const events: WatchEvent[] = [];
        s.watch('x/', null, (ev) => events.push(ev));
        clock.advance(6);
        assert.deepEqual((await s.list('x/')).kvs.map((kv) => kv.key), ['x/c']);
        await until(() => events.length === 2, 'two delete events');
        assert.deepEqual(events.map((e) => [e.type, e.key, e.revision]), [['delete', 'x/a', 4], ['delete', 'x/b', 5]]);
      } finally {
        await s.close();
      }
    });
  });
}

describe('SqliteStore keeps leases in the file', () => {
  test('a lease and its keys survive a reopen; revoke works after it; ids are not reused', async () => {
    const path = freshPath();
    const clock = fakeClock();
    const a = await SqliteStore.open(path, { clock: clock.now });
    const lease = await a.grant(60);
    await a.put('k', 'v', { lease });
    const spent = await a.grant(60);
    await a.revoke(spent);
    await a.close();

    clock.advance(30);
    const b = await SqliteStore.open(path, { clock: clock.now });
    try {
      assert.deepEqual(await b.get('k'), { key: 'k', value: 'v', createRevision: 1, modRevision: 1, lease });
      assert.equal(await b.keepAlive(lease), 60);
      const fresh = await b.grant(5);
      assert.ok(fresh > spent, `lease id ${fresh} is new (last handed out: ${spent})`);
      await b.revoke(lease);
      assert.equal(await b.get('k'), null);
      assert.equal(await b.revision(), 2);
    } finally {
      await b.close();
    }
  });

  test('a lease whose deadline passed while the store was closed ends at the next open', async () => {
    const path = freshPath();
    const clock = fakeClock();
    const a = await SqliteStore.open(path, { clock: clock.now });
    const lease = await a.grant(10);
    await a.put('eph/a', '1', { lease });
    await a.put('eph/b', '2', { lease });
    await a.put('stay', '3');
    await a.close();

    clock.advance(11);
    const b = await SqliteStore.open(path, { clock: clock.now });
    try {
      const events: WatchEvent[] = [];
      b.watch('', 3, (ev) => events.push(ev));
      await until(() => events.length === 2, 'the deletes of the expired lease');
      assert.deepEqual(events.map((e) => [e.type, e.key, e.revision]), [['delete', 'eph/a', 4], ['delete', 'eph/b', 4]]);
      assert.deepEqual((await b.list('')).kvs.map((kv) => kv.key), ['stay']);
      await assert.rejects(b.revoke(lease), isStoreError('LEASE_NOT_FOUND'));
    } finally {
      await b.close();
    }
  });

  test('a store written before leases (schema 1) opens, reads its keys with lease 0, and takes leases', async () => {
    const path = freshPath();
    await (await SqliteStore.open(path)).close();
    // Rebuild the file as schema version 1 wrote it.
    const db = new DatabaseSync(path);
    db.exec(`DROP TABLE kv; DROP TABLE leases; DELETE FROM meta WHERE name = 'lease';
      CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO kv VALUES ('old', 'v', 1, 1); UPDATE meta SET value = 1 WHERE name = 'revision';
      PRAGMA user_version = 1;`);
    db.close();
    const s = await SqliteStore.open(path);
    try {
      assert.deepEqual(await s.get('old'), { key: 'old', value: 'v', createRevision: 1, modRevision: 1, lease: 0 });
      const lease = await s.grant(60);
      await s.put('new', 'w', { lease });
      await s.revoke(lease);
      assert.deepEqual((await s.list('')).kvs.map((kv) => kv.key), ['old']);
    } finally {
      await s.close();
    }
    const check = new DatabaseSync(path);
    assert.equal((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 2);
    check.close();
  });
});
