// The Store contract: one suite, run against every implementation
// (test/unit/store-contract.test.ts runs it for MemoryStore and SqliteStore; an
// etcd store runs it too). It asserts behaviour only: waits are "until the
// events arrived", never a fixed time.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TXN_OPS, MAX_VALUE_BYTES, StoreError } from '../../src/store/index.ts';
import type { Store, StoreErrorCode, WatchEvent } from '../../src/store/index.ts';

export interface ContractOptions {
  /** watch history to keep; the compaction tests need a small window */
  historyRevisions?: number;
}

/** Opens a fresh, empty store; the suite closes it. */
export type OpenStore = (options?: ContractOptions) => Promise<Store>;

/** Yields to the event loop until cond() holds (watch delivery is asynchronous). */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`gave up waiting for ${what}`);
}

/**
 * Polls until cond() holds, for at most `seconds` of wall-clock time (lease
 * expiry runs on the clock; etcd rounds small TTLs up to about 2 s).
 */
export async function untilClock(cond: () => Promise<boolean>, what: string, seconds = 15): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`gave up waiting for ${what} after ${seconds} s`);
}

/** A few more turns of the event loop, to show that nothing else arrives. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export function isStoreError(code: StoreErrorCode, ...mustName: string[]): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const s of mustName) assert.ok(err.message.includes(s), `message ${JSON.stringify(err.message)} should name ${s}`);
    return true;
  };
}

function collect(store: Store, prefix: string, from: number | null): { events: WatchEvent[]; cancel: () => void } {
  const events: WatchEvent[] = [];
  const cancel = store.watch(prefix, from, (ev) => events.push(ev));
  return { events, cancel };
}

export function storeContract(name: string, open: OpenStore): void {
  /** Runs fn with a fresh store and closes it afterwards, pass or fail. */
  const withStore = (options: ContractOptions | undefined, fn: (s: Store) => Promise<void>) => async () => {
    const s = await open(options);
    try { await fn(s); } finally { await s.close(); }
  };
  const it = (title: string, fn: (s: Store) => Promise<void>, options?: ContractOptions): void => {
    test(title, withStore(options, fn));
  };

  describe(`Store contract: ${name}`, () => {
    describe('get, put, delete, list', () => {
      it('starts empty at revision 0', async (s) => {
        assert.equal(await s.revision(), 0);
        assert.equal(await s.get('a'), null);
        assert.deepEqual((await s.list('')).kvs, []);
      });

      it('put returns increasing revisions and get reads the value back', async (s) => {
        assert.equal(await s.put('a', '1'), 1);
        assert.equal(await s.put('b', '2'), 2);
        assert.equal(await s.put('a', '3'), 3);
        assert.equal(await s.revision(), 3);
        assert.deepEqual(await s.get('a'), { key: 'a', value: '3', createRevision: 1, modRevision: 3, lease: 0 });
        assert.deepEqual(await s.get('b'), { key: 'b', value: '2', createRevision: 2, modRevision: 2, lease: 0 });
      });

      it('a put of the same value still makes a new revision (as etcd)', async (s) => {
        await s.put('a', 'x');
        assert.equal(await s.put('a', 'x'), 2);
        assert.equal((await s.get('a'))?.modRevision, 2);
      });

      it('delete removes a key, says whether it existed, and only a real delete bumps the revision', async (s) => {
        await s.put('a', '1');
        assert.equal(await s.delete('a'), true);
        assert.equal(await s.revision(), 2);
        assert.equal(await s.get('a'), null);
        assert.equal(await s.delete('a'), false);
        assert.equal(await s.delete('never'), false);
        assert.equal(await s.revision(), 2);
      });

      it('a key put again after a delete gets a new createRevision', async (s) => {
        await s.put('a', '1');
        await s.delete('a');
        await s.put('a', '2');
        assert.deepEqual(await s.get('a'), { key: 'a', value: '2', createRevision: 3, modRevision: 3, lease: 0 });
      });

      it('list returns exactly the keys under a prefix, sorted by key', async (s) => {
        for (const k of ['net/b', 'net/a', 'ne', 'net', 'net0', 'net/a/x', 'nf', 'm']) await s.put(k, `v-${k}`);
        assert.deepEqual((await s.list('net/')).kvs.map((kv) => kv.key), ['net/a', 'net/a/x', 'net/b']);
        assert.deepEqual((await s.list('net')).kvs.map((kv) => kv.key), ['net', 'net/a', 'net/a/x', 'net/b', 'net0']);
        assert.deepEqual((await s.list('')).kvs.map((kv) => kv.key), ['m', 'ne', 'net', 'net/a', 'net/a/x', 'net/b', 'net0', 'nf']);
        assert.deepEqual((await s.list('zzz')).kvs, []);
        const [first] = (await s.list('net/a')).kvs;
        assert.deepEqual(first, { key: 'net/a', value: 'v-net/a', createRevision: 2, modRevision: 2, lease: 0 });
      });

      it('list returns the revision it read at: a watch from it misses nothing and repeats nothing', async (s) => {
        await s.put('lw/a', '1');
        await s.put('other', 'x');
        const listed = await s.list('lw/');
        assert.deepEqual(listed.kvs.map((kv) => kv.key), ['lw/a']);
        assert.equal(listed.revision, 2, 'the store revision, not the newest modRevision under the prefix');
        // A write lands between the list and the watch: it must still arrive.
        await s.put('lw/b', '2');
        const { events, cancel } = collect(s, 'lw/', listed.revision);
        await s.put('lw/a', '3');
        await until(() => events.length >= 2, 'both changes after the list');
        await settle();
        assert.deepEqual(events.map((e) => [e.key, e.value, e.revision]), [['lw/b', '2', 3], ['lw/a', '3', 4]]);
        cancel();
      });

      it('orders keys by UTF-8 bytes (code points), as etcd does, not by UTF-16 units', async (s) => {
        // JavaScript's default sort puts U+1F600 (a surrogate pair) before U+FFFD.
        const keys = ['k/\u{1F600}', 'k/\uFFFD', 'k/\u00E9', 'k/z', 'k/\u{10FFFF}', 'k/\uE000'];
        for (const k of keys) await s.put(k, k);
        assert.deepEqual((await s.list('k/')).kvs.map((kv) => kv.key),
          ['k/z', 'k/\u00E9', 'k/\uE000', 'k/\uFFFD', 'k/\u{1F600}', 'k/\u{10FFFF}']);
        assert.deepEqual((await s.list('k/\u{1F600}')).kvs.map((kv) => kv.key), ['k/\u{1F600}']);
      });

      it('lists under prefixes that end in the highest code point', async (s) => {
        await s.put('\u{10FFFF}', 'a');
        await s.put('\u{10FFFF}\u{10FFFF}x', 'b');
        await s.put('\u{10FFFE}', 'c');
        assert.deepEqual((await s.list('\u{10FFFF}')).kvs.map((kv) => kv.value), ['a', 'b']);
        assert.deepEqual((await s.list('\u{10FFFF}\u{10FFFF}')).kvs.map((kv) => kv.value), ['b']);
      });

      it('stores unicode, NUL and empty values unchanged', async (s) => {
        const values = ['', 'caf\u00E9 \u{1F600} \u4E2D\u6587', 'a\0b\0', '\uFFFF', ' \n\t\r'];
        for (const [i, v] of values.entries()) await s.put(`u/${i}\u{1F600}`, v);
        for (const [i, v] of values.entries()) assert.equal((await s.get(`u/${i}\u{1F600}`))?.value, v);
      });

      it(`stores a value of the largest allowed size (${MAX_VALUE_BYTES} UTF-8 bytes)`, async (s) => {
        // 3-byte characters, so the byte limit (not the string length) is what is tested
        const big = '\u20AC'.repeat(Math.floor(MAX_VALUE_BYTES / 3)) + 'x'.repeat(MAX_VALUE_BYTES % 3);
        await s.put('big', big);
        assert.equal((await s.get('big'))?.value, big);
        assert.equal((await s.list('b')).kvs[0]?.value.length, big.length);
        await assert.rejects(s.put('big', big + 'x'), isStoreError('INVALID_VALUE', '"big"', `${MAX_VALUE_BYTES}`));
        assert.equal((await s.get('big'))?.value, big);
      });
    });

    describe('txn', () => {
      it('applies success when every compare holds', async (s) => {
        await s.put('a', '1'); // rev 1
        await s.put('b', '2'); // rev 2
        const r = await s.txn({
          compare: [{ key: 'a', modRevision: 1 }, { key: 'b', value: '2' }, { key: 'c', modRevision: 0 }, { key: 'd', value: null }],
          success: [{ type: 'put', key: 'c', value: '3' }, { type: 'delete', key: 'a' }],
          failure: [{ type: 'put', key: 'f', value: 'no' }],
        });
        assert.deepEqual(r, { succeeded: true, revision: 3 });
        assert.equal(await s.get('a'), null);
        assert.deepEqual(await s.get('c'), { key: 'c', value: '3', createRevision: 3, modRevision: 3, lease: 0 });
        assert.equal(await s.get('f'), null);
      });

      for (const [what, compare] of [
        ['a modRevision differs', { key: 'a', modRevision: 2 }],
        ['a value differs', { key: 'a', value: 'other' }],
        ['a key expected absent exists (modRevision 0)', { key: 'a', modRevision: 0 }],
        ['a key expected absent exists (value null)', { key: 'a', value: null }],
        ['a key expected present is absent (value)', { key: 'nope', value: '1' }],
        ['a key expected present is absent (modRevision)', { key: 'nope', modRevision: 1 }],
      ] as const) {
        it(`applies failure when ${what}`, async (s) => {
          await s.put('a', '1');
          const r = await s.txn({
            compare: [{ key: 'a', value: '1' }, compare],
            success: [{ type: 'put', key: 's', value: 'yes' }],
            failure: [{ type: 'put', key: 'f', value: 'no' }],
          });
          assert.deepEqual(r, { succeeded: false, revision: 2 });
          assert.equal(await s.get('s'), null);
          assert.equal((await s.get('f'))?.value, 'no');
        });
      }

      it('a failed txn without failure ops writes nothing and keeps the revision', async (s) => {
        await s.put('a', '1');
        const r = await s.txn({ compare: [{ key: 'a', value: '2' }], success: [{ type: 'put', key: 'a', value: '3' }] });
        assert.deepEqual(r, { succeeded: false, revision: 1 });
        assert.equal(await s.revision(), 1);
        assert.equal((await s.get('a'))?.value, '1');
      });

      it('an empty txn succeeds without a new revision', async (s) => {
        await s.put('a', '1');
        assert.deepEqual(await s.txn({ compare: [], success: [] }), { succeeded: true, revision: 1 });
      });

      it('every key a txn writes gets the same single revision', async (s) => {
        await s.put('old', 'x');
        const r = await s.txn({ compare: [], success: [
          { type: 'put', key: 'k1', value: '1' }, { type: 'put', key: 'k2', value: '2' }, { type: 'put', key: 'old', value: 'y' },
        ] });
        assert.equal(r.revision, 2);
        assert.deepEqual((await s.list('')).kvs.map((kv) => [kv.key, kv.createRevision, kv.modRevision]),
          [['k1', 2, 2], ['k2', 2, 2], ['old', 1, 2]]);
      });

      it('compare-and-swap: only one of two writers from the same read wins', async (s) => {
        await s.put('lock', 'free');
        const seen = await s.get('lock');
        assert.ok(seen);
        const cas = (owner: string) => s.txn({
          compare: [{ key: 'lock', modRevision: seen.modRevision }],
          success: [{ type: 'put', key: 'lock', value: owner }],
        });
        const [a, b] = await Promise.all([cas('a'), cas('b')]);
        assert.deepEqual([a.succeeded, b.succeeded].sort(), [false, true]);
        assert.equal((await s.get('lock'))?.value, a.succeeded ? 'a' : 'b');
      });

      it('deletePrefix removes exactly the keys under the prefix, in one revision', async (s) => {
        for (const k of ['n/1', 'n/2', 'n/2/x', 'n', 'n0', 'o']) await s.put(k, k);
        const r = await s.txn({ compare: [], success: [{ type: 'deletePrefix', prefix: 'n/' }] });
        assert.deepEqual(r, { succeeded: true, revision: 7 });
        assert.deepEqual((await s.list('')).kvs.map((kv) => kv.key), ['n', 'n0', 'o']);
        const none = await s.txn({ compare: [], success: [{ type: 'deletePrefix', prefix: 'n/' }] });
        assert.deepEqual(none, { succeeded: true, revision: 7 }, 'deleting nothing makes no revision');
        await s.txn({ compare: [], success: [{ type: 'deletePrefix', prefix: '' }] });
        assert.deepEqual((await s.list('')).kvs, []);
      });

      it('deletes may overlap each other', async (s) => {
        await s.put('p/a', '1');
        await s.put('p/b', '2');
        const r = await s.txn({ compare: [], success: [
          { type: 'delete', key: 'p/a' }, { type: 'deletePrefix', prefix: 'p/' }, { type: 'delete', key: 'p/a' },
        ] });
        assert.equal(r.revision, 3);
        assert.deepEqual((await s.list('p/')).kvs, []);
      });

      it('rejects a txn whose put overlaps another op (as etcd), applying nothing', async (s) => {
        await s.put('a', '1');
        const bad = [
          [{ type: 'put', key: 'x', value: '1' }, { type: 'put', key: 'x', value: '2' }],
          [{ type: 'put', key: 'x', value: '1' }, { type: 'delete', key: 'x' }],
          [{ type: 'deletePrefix', prefix: 'x' }, { type: 'put', key: 'x/y', value: '1' }],
        ] as const;
        for (const success of bad) {
          await assert.rejects(s.txn({ compare: [], success: [{ type: 'put', key: 'a', value: '2' }, ...success] }), isStoreError('TXN_DUPLICATE_KEY'));
        }
        assert.equal(await s.revision(), 1);
        assert.equal((await s.get('a'))?.value, '1');
      });

      it(`rejects more than ${MAX_TXN_OPS} ops (etcd --max-txn-ops)`, async (s) => {
        const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 'v' }));
        assert.equal((await s.txn({ compare: [], success: ops(MAX_TXN_OPS) })).revision, 1);
        await assert.rejects(s.txn({ compare: [], success: ops(MAX_TXN_OPS + 1) }), isStoreError('TXN_TOO_MANY_OPS', `${MAX_TXN_OPS + 1}`));
        await assert.rejects(s.txn({ compare: [], success: [], failure: ops(MAX_TXN_OPS + 1) }), isStoreError('TXN_TOO_MANY_OPS', 'failure'));
        assert.equal(await s.revision(), 1);
      });

      it('is all or nothing: a bad op anywhere rejects the whole txn', async (s) => {
        await s.put('a', '1');
        const t = { compare: [], success: [{ type: 'put', key: 'a', value: '2' }, { type: 'put', key: 'b', value: 42 }] };
        await assert.rejects(s.txn(t as never), isStoreError('INVALID_VALUE', '42', '"b"'));
        assert.equal((await s.get('a'))?.value, '1');
        assert.equal(await s.get('b'), null);
        assert.equal(await s.revision(), 1);
      });
    });

    describe('watch', () => {
      it('from null delivers only changes after the watch started, in order, with values', async (s) => {
        await s.put('w/old', 'x');
        const { events, cancel } = collect(s, 'w/', null);
        await s.put('w/a', '1');
        await s.put('other', 'no');
        await s.txn({ compare: [], success: [{ type: 'put', key: 'w/b', value: '2' }, { type: 'delete', key: 'w/old' }, { type: 'put', key: 'w/c', value: '3' }] });
        await s.delete('w/a');
        await until(() => events.length >= 5, '5 events');
        await settle();
        assert.deepEqual(events, [
          { type: 'put', key: 'w/a', value: '1', revision: 2 },
          { type: 'put', key: 'w/b', value: '2', revision: 4 },
          { type: 'delete', key: 'w/old', value: null, revision: 4 },
          { type: 'put', key: 'w/c', value: '3', revision: 4 },
          { type: 'delete', key: 'w/a', value: null, revision: 5 },
        ]);
        cancel();
      });

      it('replays history after fromRevision, then continues live without gap or repeat', async (s) => {
        for (let i = 1; i <= 5; i++) await s.put(`r/${i}`, `${i}`);
        const { events, cancel } = collect(s, 'r/', 2);
        await s.put('r/6', '6');
        await until(() => events.length >= 4, '4 events');
        await settle();
        assert.deepEqual(events.map((e) => [e.key, e.revision]), [['r/3', 3], ['r/4', 4], ['r/5', 5], ['r/6', 6]]);
        const all = collect(s, '', 0);
        await until(() => all.events.length >= 6, 'full replay');
        assert.deepEqual(all.events.map((e) => e.revision), [1, 2, 3, 4, 5, 6]);
        cancel();
        all.cancel();
      });

      it('replays deletes and deletePrefix as delete events in op order', async (s) => {
        await s.put('d/b', '1');
        await s.put('d/a', '2');
        await s.txn({ compare: [], success: [{ type: 'deletePrefix', prefix: 'd/' }] });
        const { events, cancel } = collect(s, 'd/', 2);
        await until(() => events.length >= 2, 'delete events');
        assert.deepEqual(events, [
          { type: 'delete', key: 'd/a', value: null, revision: 3 },
          { type: 'delete', key: 'd/b', value: null, revision: 3 },
        ]);
        cancel();
      });

      it('a future fromRevision delivers only events after it', async (s) => {
        const { events, cancel } = collect(s, '', 2);
        for (let i = 1; i <= 4; i++) await s.put('f', `${i}`);
        await until(() => events.length >= 2, 'events after revision 2');
        await settle();
        assert.deepEqual(events.map((e) => e.revision), [3, 4]);
        cancel();
      });

      it('cancel stops delivery; other watchers go on', async (s) => {
        const a = collect(s, 'c/', null);
        const b = collect(s, 'c/', null);
        await s.put('c/1', '1');
        await until(() => a.events.length === 1 && b.events.length === 1, 'first event');
        a.cancel();
        a.cancel();
        await s.put('c/2', '2');
        await until(() => b.events.length === 2, 'second event');
        await settle();
        assert.equal(a.events.length, 1);
        b.cancel();
      });

      it('delivers after the commit: a callback reads the committed value and may write', async (s) => {
        const seen: Array<string | undefined> = [];
        const cancel = s.watch('cb/', null, (ev) => {
          void s.get(ev.key).then((kv) => seen.push(kv?.value));
          if (ev.key === 'cb/1') void s.put('cb/2', 'from callback');
        });
        await s.put('cb/1', 'one');
        await until(() => seen.length === 2, 'both events');
        assert.deepEqual(seen, ['one', 'from callback']);
        assert.equal(await s.revision(), 2);
        cancel();
      });

      it('a compacted fromRevision reports COMPACTED; at the compaction mark it replays', async (s) => {
        for (let i = 1; i <= 5; i++) await s.put('h', `${i}`);
        await s.compact(3);
        const errors: Error[] = [];
        const dead: WatchEvent[] = [];
        s.watch('', 2, (ev) => dead.push(ev), (err) => errors.push(err));
        await until(() => errors.length === 1, 'the COMPACTED error');
        assert.ok(isStoreError('COMPACTED', '2', '3')(errors[0]));
        const { events, cancel } = collect(s, '', 3);
        await until(() => events.length === 2, 'replay after the mark');
        assert.deepEqual(events.map((e) => e.revision), [4, 5]);
        await s.put('h', '6');
        await until(() => events.length === 3, 'live event');
        await settle();
        assert.equal(dead.length, 0);
        assert.equal(errors.length, 1);
        cancel();
      });

      it('compacts old history automatically, keeping at least historyRevisions', async (s) => {
        for (let i = 1; i <= 40; i++) await s.put(`a/${i % 3}`, `${i}`);
        const errors: Error[] = [];
        s.watch('', 0, () => {}, (err) => errors.push(err));
        await until(() => errors.length === 1, 'the COMPACTED error');
        const { events, cancel } = collect(s, '', 30);
        await until(() => events.length === 10, 'replay of the last 10');
        assert.deepEqual(events.map((e) => e.revision), [31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
        assert.deepEqual((await s.get('a/1'))?.value, '40');
        cancel();
      }, { historyRevisions: 10 });

      it('compact validates its revision and is idempotent', async (s) => {
        await s.put('a', '1');
        await assert.rejects(s.compact(2), isStoreError('INVALID_REVISION', '2'));
        await assert.rejects(s.compact(-1), isStoreError('INVALID_REVISION', '-1'));
        await s.compact(1);
        await s.compact(1);
        await s.compact(0);
        assert.deepEqual(await s.get('a'), { key: 'a', value: '1', createRevision: 1, modRevision: 1, lease: 0 }, 'compaction keeps live keys');
      });
    });

    describe('leases', () => {
      it('a key put with a lease carries it; revoke deletes its keys in one revision, with delete events', async (s) => {
        const lease = await s.grant(60);
        const other = await s.grant(60);
        assert.ok(Number.isSafeInteger(lease) && lease > 0, `lease id ${lease}`);
        assert.notEqual(other, lease);
        await s.put('l/a', '1', { lease });
        await s.txn({ compare: [], success: [{ type: 'put', key: 'l/b', value: '2', lease }, { type: 'put', key: 'l/c', value: '3', lease: other }] });
        await s.put('l/d', '4');
        assert.deepEqual(await s.get('l/a'), { key: 'l/a', value: '1', createRevision: 1, modRevision: 1, lease });
        assert.equal((await s.get('l/d'))?.lease, 0);
        const { events, cancel } = collect(s, 'l/', null);
        await s.revoke(lease);
        assert.equal(await s.revision(), 4, 'one revision for every key of the lease');
        assert.deepEqual((await s.list('l/')).kvs.map((kv) => kv.key), ['l/c', 'l/d']);
        await until(() => events.length >= 2, 'the delete events');
        await settle();
        assert.deepEqual(events, [
          { type: 'delete', key: 'l/a', value: null, revision: 4 },
          { type: 'delete', key: 'l/b', value: null, revision: 4 },
        ]);
        await assert.rejects(s.revoke(lease), isStoreError('LEASE_NOT_FOUND', `${lease}`));
        await assert.rejects(s.keepAlive(lease), isStoreError('LEASE_NOT_FOUND', `${lease}`));
        cancel();
      });

      it('a put without a lease detaches the key from its lease (as etcd)', async (s) => {
        const lease = await s.grant(60);
        await s.put('k', '1', { lease });
        await s.put('k', '2');
        assert.equal((await s.get('k'))?.lease, 0);
        await s.revoke(lease);
        assert.equal((await s.get('k'))?.value, '2');
      });

      it('revoking a lease without keys makes no revision; keepAlive returns the TTL', async (s) => {
        const lease = await s.grant(30);
        assert.equal(await s.keepAlive(lease), 30);
        await s.revoke(lease);
        assert.equal(await s.revision(), 0);
      });

      it('a put or txn naming an unknown lease fails whole, writing nothing', async (s) => {
        const gone = await s.grant(60);
        await s.revoke(gone);
        await assert.rejects(s.put('a', '1', { lease: gone }), isStoreError('LEASE_NOT_FOUND', `${gone}`));
        await assert.rejects(s.txn({ compare: [], success: [{ type: 'put', key: 'b', value: '1' }, { type: 'put', key: 'c', value: '1', lease: 987654 }] }),
          isStoreError('LEASE_NOT_FOUND', '987654'));
        assert.equal(await s.revision(), 0);
        assert.deepEqual((await s.list('')).kvs, []);
      });

      test('an expired lease deletes its keys by itself, with a new revision and watch events', async () => {
        const s = await open();
        try {
          const lease = await s.grant(1);
          await s.put('e/a', '1', { lease });
          await s.put('e/keep', '2');
          const { events, cancel } = collect(s, 'e/', null);
          await untilClock(async () => (await s.get('e/a')) === null, 'the lease to expire');
          await until(() => events.length >= 1, 'the delete event');
          assert.deepEqual(events, [{ type: 'delete', key: 'e/a', value: null, revision: 3 }]);
          assert.equal(await s.revision(), 3);
          assert.equal((await s.get('e/keep'))?.value, '2');
          await assert.rejects(s.keepAlive(lease), isStoreError('LEASE_NOT_FOUND'));
          cancel();
        } finally {
          await s.close();
        }
      });

      it('rejects bad TTLs and lease ids, naming the value', async (s) => {
        for (const [ttl, shown] of [[0, 'number 0'], [1.5, 'number 1.5'], [-3, 'number -3'], ['10', '"10"']] as const) {
          await assert.rejects(s.grant(ttl as never), isStoreError('INVALID_TTL', shown, 'seconds'));
        }
        await assert.rejects(s.put('a', '1', { lease: -1 }), isStoreError('INVALID_LEASE', 'number -1'));
        await assert.rejects(s.txn({ compare: [], success: [{ type: 'put', key: 'a', value: '1', lease: 'x' }] } as never), isStoreError('INVALID_LEASE', '"x"'));
        await assert.rejects(s.keepAlive(0.5), isStoreError('INVALID_LEASE', '0.5'));
        assert.equal(await s.revision(), 0);
      });
    });

    describe('bad input', () => {
      it('rejects empty, non-string and malformed keys, naming the value', async (s) => {
        await assert.rejects(s.put('', 'x'), isStoreError('INVALID_KEY', '""', 'non-empty'));
        await assert.rejects(s.get(''), isStoreError('INVALID_KEY', '""'));
        await assert.rejects(s.delete(''), isStoreError('INVALID_KEY'));
        await assert.rejects(s.put(7 as never, 'x'), isStoreError('INVALID_KEY', 'number 7'));
        await assert.rejects(s.get(undefined as never), isStoreError('INVALID_KEY', 'undefined'));
        await assert.rejects(s.put('a\uD800', 'x'), isStoreError('INVALID_KEY', 'well-formed'));
        await assert.rejects(s.put('k'.repeat(5000), 'x'), isStoreError('INVALID_KEY', '5000 chars'));
        assert.equal(await s.revision(), 0);
      });

      it('rejects non-string values, naming the value and the key', async (s) => {
        for (const [v, shown] of [[42, 'number 42'], [null, 'null'], [undefined, 'undefined'], [{ a: 1 }, 'object {"a":1}'], [true, 'boolean true'], ['\uDC00', '"\\udc00"']] as const) {
          await assert.rejects(s.put('net/x', v as never), isStoreError('INVALID_VALUE', shown, '"net/x"'));
        }
        assert.equal(await s.get('net/x'), null);
      });

      it('rejects bad prefixes, revisions and txn shapes', async (s) => {
        await assert.rejects(s.list(null as never), isStoreError('INVALID_PREFIX', 'null'));
        assert.throws(() => s.watch('', -1, () => {}), isStoreError('INVALID_REVISION', '-1'));
        assert.throws(() => s.watch('', 1.5, () => {}), isStoreError('INVALID_REVISION', '1.5'));
        assert.throws(() => s.watch(3 as never, null, () => {}), isStoreError('INVALID_PREFIX', 'number 3'));
        await assert.rejects(s.txn(null as never), isStoreError('INVALID_TXN', 'null'));
        await assert.rejects(s.txn({ success: [] } as never), isStoreError('INVALID_TXN', 'compare'));
        await assert.rejects(s.txn({ compare: [{ key: 'a' }], success: [] } as never), isStoreError('INVALID_TXN', 'exactly one'));
        await assert.rejects(s.txn({ compare: [{ key: 'a', modRevision: 1, value: 'x' }], success: [] } as never), isStoreError('INVALID_TXN'));
        await assert.rejects(s.txn({ compare: [{ key: '', value: null }], success: [] }), isStoreError('INVALID_KEY'));
        await assert.rejects(s.txn({ compare: [], success: [{ type: 'rename', key: 'a' }] } as never), isStoreError('INVALID_TXN', 'success[0]', 'rename'));
        await assert.rejects(s.txn({ compare: [], success: 'put' } as never), isStoreError('INVALID_TXN', 'success'));
      });
    });

    describe('close', () => {
      test('rejects every call after close, cancels watches, and may be repeated', async () => {
        const s = await open();
        const { events } = collect(s, '', null);
        await s.put('a', '1');
        await s.close();
        await s.close();
        assert.equal(events.length, 1, 'events committed before close are delivered');
        for (const call of [() => s.get('a'), () => s.put('a', '2'), () => s.list(''), () => s.delete('a'),
          () => s.revision(), () => s.txn({ compare: [], success: [] }), () => s.compact(0), () => s.grant(5),
          () => s.keepAlive(1), () => s.revoke(1)]) {
          await assert.rejects(call(), isStoreError('CLOSED'));
        }
        assert.throws(() => s.watch('', null, () => {}), isStoreError('CLOSED'));
      });
    });
  });
}
