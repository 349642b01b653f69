// Store latency: put, CAS txn, get, list, watch delivery, reopen, for
// MemoryStore and SqliteStore (sync full and normal). The daemon does one txn
// per API call, so per-op latency is what matters. Prints p50/p95 in µs
// (median over ROUNDS rounds) and ratios. Run: npm run bench store
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, SqliteStore } from '../src/store/index.ts';
import type { Store } from '../src/store/index.ts';

const ROUNDS = 5;
const OPS = 2000;
/** keys already in the store while measuring, like a daemon with many endpoints */
const PRELOAD = 10_000;
const VALUE = JSON.stringify({ id: 'e'.repeat(64), network: 'n'.repeat(64), ipv4: '172.18.0.2/16', mac: '02:42:ac:12:00:02', dns: ['web', 'db'] });

type Stat = { p50: number; p95: number };
type Op = (i: number) => Promise<unknown>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 0.5);

async function measure(op: Op): Promise<Stat> {
  const p50s: number[] = [];
  const p95s: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t: number[] = [];
    for (let i = 0; i < OPS; i++) {
      const s = performance.now();
      await op(r * OPS + i);
      t.push((performance.now() - s) * 1000);
    }
    t.sort((a, b) => a - b);
    p50s.push(percentile(t, 0.5));
    p95s.push(percentile(t, 0.95));
  }
  return { p50: median(p50s), p95: median(p95s) };
}

async function preload(s: Store): Promise<void> {
  for (let i = 0; i < PRELOAD; i += 100) {
    const success = Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: `bench/ep/${String(i + j).padStart(6, '0')}`, value: VALUE }));
    await s.txn({ compare: [], success });
  }
}

async function suite(s: Store): Promise<Record<string, Stat>> {
  await preload(s);
  const out: Record<string, Stat> = {};
  out.put = await measure((i) => s.put(`bench/put/${i % 1000}`, VALUE));
  // The daemon's shape: check a version key, write the object and two indexes.
  out['txn (1 cmp, 3 puts)'] = await measure(async (i) => {
    const ver = await s.get('bench/version');
    return s.txn({
      compare: [{ key: 'bench/version', modRevision: ver?.modRevision ?? 0 }],
      success: [
        { type: 'put', key: 'bench/version', value: String(i) },
        { type: 'put', key: `bench/obj/${i % 1000}`, value: VALUE },
        { type: 'put', key: `bench/idx/${i % 1000}`, value: String(i) },
      ],
    });
  });
  out.get = await measure((i) => s.get(`bench/ep/${String(i % PRELOAD).padStart(6, '0')}`));
  out['list 100 keys'] = await measure((i) => s.list(`bench/ep/${String(i % 100).padStart(4, '0')}`));
  let resolveEvent: () => void = () => {};
  const cancel = s.watch('bench/w/', null, () => resolveEvent());
  out['put -> watch event'] = await measure((i) => new Promise<void>((r) => { resolveEvent = r; void s.put(`bench/w/${i % 100}`, VALUE); }));
  cancel();
  return out;
}

const fmt = (n: number): string => n < 10 ? n.toFixed(1) : n.toFixed(0);
const dir = mkdtempSync(join(tmpdir(), 'cnm-store-bench-'));
try {
  const results: Record<string, Record<string, Stat>> = {};
  const memory = new MemoryStore();
  results.memory = await suite(memory);
  await memory.close();
  for (const sync of ['full', 'normal'] as const) {
    const path = join(dir, `${sync}.db`);
    const s = await SqliteStore.open(path, { sync });
    results[`sqlite ${sync}`] = await suite(s);
    await s.close();
    const t0 = performance.now();
    const again = await SqliteStore.open(path, { sync });
    const keys = (await again.list('')).kvs.length;
    const openMs = performance.now() - t0;
    await again.close();
    console.log(`sqlite ${sync}: reopen + list all ${keys} keys: ${openMs.toFixed(1)} ms`);
  }
  const names = Object.keys(results);
  console.log(`\n${PRELOAD} keys preloaded; p50 / p95 in µs, median of ${ROUNDS} rounds x ${OPS} ops`);
  console.log(['op'.padEnd(22), ...names.map((n) => n.padStart(16)), 'full/normal'.padStart(12), 'full/memory'.padStart(12)].join(''));
  for (const op of Object.keys(results.memory ?? {})) {
    const cell = (n: string): string => { const r = results[n]?.[op]; return r ? `${fmt(r.p50)} / ${fmt(r.p95)}` : '-'; };
    const full = results['sqlite full']?.[op]?.p50 ?? NaN;
    const ratio = (d: number | undefined): string => (full / (d ?? NaN)).toFixed(1).padStart(12);
    console.log([op.padEnd(22), ...names.map((n) => cell(n).padStart(16)), ratio(results['sqlite normal']?.[op]?.p50), ratio(results.memory?.[op]?.p50)].join(''));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
