// MemoryStore and SqliteStore, driven by the same random sequence of calls,
// must answer every call alike (results, errors, listings, watch streams).
// The contract suite checks chosen cases; this finds the unchosen ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, SqliteStore, StoreError } from '../../src/store/index.ts';
import type { Compare, Store, TxnOp, WatchEvent } from '../../src/store/index.ts';
import { until } from '../helpers/store-contract.ts';

const STEPS = 3000;
const KEYS = ['a', 'a/1', 'a/2', 'a/b/1', 'a/b/2', 'b/1', 'b/\u{1F600}', 'b/\uFFFD', 'c'];
const PREFIXES = ['', 'a', 'a/', 'a/b/', 'b/', 'b/\u{1F600}', 'z'];

function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % n; };
}

/** Result or error code, so the two stores can be compared call by call. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try { return { ok: await p }; } catch (err) {
    if (err instanceof StoreError) return { error: err.code };
    throw err;
  }
}

test(`MemoryStore and SqliteStore agree on ${STEPS} random calls`, async (t) => {
  const seed = Number(process.env.CNM_DIFF_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (replay with CNM_DIFF_SEED=${seed})`);
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)] as T;
  const dir = mkdtempSync(join(tmpdir(), 'cnm-store-diff-'));
  const stores: Store[] = [new MemoryStore({ historyRevisions: 200 }), await SqliteStore.open(join(dir, 'db'), { historyRevisions: 200 })];
  const streams: WatchEvent[][] = stores.map(() => []);
  const watched = pick(PREFIXES);
  stores.forEach((s, i) => s.watch(watched, 0, (ev) => streams[i]?.push(ev)));
  const randomOp = (): TxnOp => {
    const k = r(10);
    // Lease ids 1-4: some granted, some revoked, some never (LEASE_NOT_FOUND).
    if (k < 6) return { type: 'put', key: pick(KEYS), value: `v${r(5)}`, ...(r(3) === 0 ? { lease: 1 + r(4) } : {}) };
    if (k < 9) return { type: 'delete', key: pick(KEYS) };
    return { type: 'deletePrefix', prefix: pick(PREFIXES) };
  };
  const randomCompare = async (): Promise<Compare> => {
    const key = pick(KEYS);
    const kv = await stores[0]?.get(key);
    const right = r(3) > 0;
    if (r(2) === 0) return { key, modRevision: right ? (kv?.modRevision ?? 0) : r(5) };
    return { key, value: right ? (kv?.value ?? null) : pick([null, 'v1', 'v2']) };
  };
  try {
    for (let step = 0; step < STEPS; step++) {
      const k = r(22);
      let call: (s: Store) => Promise<unknown>;
      if (k < 6) { const key = pick(KEYS); const v = `v${r(5)}`; call = (s) => s.put(key, v); }
      else if (k < 9) { const key = pick(KEYS); call = (s) => s.delete(key); }
      else if (k < 16) {
        const compare = await Promise.all(Array.from({ length: r(3) }, randomCompare));
        const success = Array.from({ length: r(4) }, randomOp);
        const failure = Array.from({ length: r(3) }, randomOp);
        call = (s) => s.txn({ compare, success, failure });
      } else if (k < 18) { const p = pick(PREFIXES); call = (s) => s.list(p); }
      else if (k < 19) { const rev = r(STEPS); call = (s) => s.compact(rev); }
      else if (k < 20) { const key = pick(KEYS); call = (s) => s.get(key); }
      else if (k < 21) { const ttl = 60 + r(60); call = (s) => s.grant(ttl); }
      else { const lease = 1 + r(4); call = r(2) ? (s) => s.revoke(lease) : (s) => s.keepAlive(lease); }
      const [m, q] = [await outcome(call(stores[0] as Store)), await outcome(call(stores[1] as Store))];
      assert.deepEqual(q, m, `step ${step}`);
    }
    assert.deepEqual(await stores[1]?.list(''), await stores[0]?.list(''));
    await until(() => streams[0]?.length === streams[1]?.length, 'both watch streams');
    assert.deepEqual(streams[1], streams[0]);
    t.diagnostic(`revision ${await stores[0]?.revision()}, ${streams[0]?.length} watch events`);
  } finally {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
