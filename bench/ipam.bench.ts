// IPAM benchmark: pure computation, no namespaces needed (nothing touches the
// kernel). Run: node bench/ipam.bench.ts   (or: npm run bench ipam)
//  1. allocate then release 1,000,000 addresses in a /8 and in an IPv6 /64:
//     ops/s (median of RUNS), per-op p50/p95 (from 1000-op batches), heap/RSS growth;
//  2. the same with releases in random order and every other address kept
//     (fragmentation: the worst case for the run-length set);
//  3. choosing 1000 subnets from the default pools, one network after another.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PoolSet, SubnetAllocator } from '../src/ipam/index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const N = 1_000_000;
const RUNS = Number(process.env.IPAM_BENCH_RUNS ?? 5);
const BATCH = 1000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
/** JS heap plus ArrayBuffer memory (the run sets live in Uint32Arrays, outside the JS heap). */
const heapNow = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

interface Run { allocMs: number; releaseMs: number; allocBatchUs: number[]; releaseBatchUs: number[]; heapHeld: number; rssHeld: number; runs: number; bytes: number }

function allocRelease(subnet: string, order: 'sequential' | 'random-half'): Run {
  gc();
  const heap0 = heapNow();
  const rss0 = process.memoryUsage().rss;
  const a = new SubnetAllocator({ subnet });
  const addrs: string[] = new Array<string>(N);
  const allocBatchUs: number[] = [];
  let t0 = performance.now();
  let tb = t0;
  for (let i = 0; i < N; i++) {
    addrs[i] = a.allocate();
    if ((i + 1) % BATCH === 0) {
      const t = performance.now();
      allocBatchUs.push(((t - tb) * 1000) / BATCH);
      tb = t;
    }
  }
  const allocMs = performance.now() - t0;
  // Memory held by the allocator with N addresses out (the address strings are
  // the caller's; measured separately below by dropping the allocator).
  gc();
  const mem = { heapUsed: heapNow(), rss: process.memoryUsage().rss };
  let toRelease = addrs;
  if (order === 'random-half') {
    // Fisher-Yates with a fixed seed, then keep every other: N/2 isolated runs remain.
    let s = 12345;
    const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    toRelease = addrs.filter((_, i) => i % 2 === 0);
    for (let i = toRelease.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [toRelease[i], toRelease[j]] = [toRelease[j]!, toRelease[i]!];
    }
  }
  const releaseBatchUs: number[] = [];
  t0 = performance.now();
  tb = t0;
  for (let i = 0; i < toRelease.length; i++) {
    a.release(toRelease[i]!);
    if ((i + 1) % BATCH === 0) {
      const t = performance.now();
      releaseBatchUs.push(((t - tb) * 1000) / BATCH);
      tb = t;
    }
  }
  const releaseMs = performance.now() - t0;
  const runs = a.stats().runs;
  const bytes = a.stats().bytes;
  // Heap held by the allocator alone: drop the address strings, keep the allocator.
  addrs.length = 0;
  toRelease.length = 0;
  gc();
  const heapAfter = heapNow();
  void a.stats();
  return {
    allocMs, releaseMs, allocBatchUs, releaseBatchUs,
    heapHeld: order === 'random-half' ? heapAfter - heap0 : mem.heapUsed - heap0,
    rssHeld: mem.rss - rss0,
    runs,
    bytes,
  };
}

/** Median per-op microseconds of each report, for the ratios printed at the end. */
const perOp: Record<string, { alloc: number; release: number }> = {};

function report(title: string, subnet: string, order: 'sequential' | 'random-half'): void {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(allocRelease(subnet, order));
  const released = order === 'sequential' ? N : N / 2;
  const allocOps = runs.map((r) => N / (r.allocMs / 1000));
  const relOps = runs.map((r) => released / (r.releaseMs / 1000));
  const allocUs = runs.flatMap((r) => r.allocBatchUs);
  const relUs = runs.flatMap((r) => r.releaseBatchUs);
  perOp[`${subnet} ${order}`] = {
    alloc: median(runs.map((r) => (r.allocMs * 1000) / N)),
    release: median(runs.map((r) => (r.releaseMs * 1000) / released)),
  };
  console.log(`\n${title} (${subnet}, ${RUNS} runs)`);
  console.log(`  allocate ${fmt(N)}: median ${median(runs.map((r) => r.allocMs)).toFixed(0)} ms, ${fmt(median(allocOps))} ops/s; per op p50 ${pct(allocUs, 0.5).toFixed(3)} us, p95 ${pct(allocUs, 0.95).toFixed(3)} us`);
  console.log(`  release  ${fmt(released)}: median ${median(runs.map((r) => r.releaseMs)).toFixed(0)} ms, ${fmt(median(relOps))} ops/s; per op p50 ${pct(relUs, 0.5).toFixed(3)} us, p95 ${pct(relUs, 0.95).toFixed(3)} us`);
  if (order === 'sequential') {
    console.log(`  heap+buffers growth with ${fmt(N)} addresses out, strings included: median ${mb(median(runs.map((r) => r.heapHeld)))}; RSS growth ${mb(median(runs.map((r) => r.rssHeld)))}`);
  } else {
    console.log(`  after: ${fmt(runs[0]!.runs)} runs (N/2 isolated addresses); the allocator's run set holds ${mb(runs[0]!.bytes)}`);
  }
}

function allocatorOnlyMemory(subnet: string): void {
  // The allocator's own footprint at N addresses out, without the caller's strings.
  gc();
  const h0 = heapNow();
  const a = new SubnetAllocator({ subnet });
  for (let i = 0; i < N; i++) a.allocate();
  gc();
  const seq = heapNow() - h0;
  console.log(`  allocator alone with ${fmt(N)} out in order: ${a.stats().runs} run(s), ${a.stats().bytes} bytes (measured heap+buffers delta ${(seq / 1024).toFixed(1)} KB)`);
}

function choose1000(): void {
  const totals: number[] = [];
  const per: number[] = [];
  let last = '';
  for (let r = 0; r < RUNS; r++) {
    const ps = new PoolSet();
    const taken: string[] = [];
    const avoid = ['0.0.0.0/0', '192.168.1.0/24', '10.0.2.0/24', '10.0.2.3'];
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const t = performance.now();
      taken.push(ps.choose({ family: 4, taken, avoid }));
      per.push((performance.now() - t) * 1000);
    }
    totals.push(performance.now() - t0);
    last = taken[999]!;
  }
  console.log(`\nchoose 1000 subnets from the default pools, one network after another (${RUNS} runs)`);
  console.log(`  total: median ${median(totals).toFixed(1)} ms; per choice p50 ${pct(per, 0.5).toFixed(1)} us, p95 ${pct(per, 0.95).toFixed(1)} us, last (1000 taken) ~${per[per.length - 1]!.toFixed(1)} us; 1000th subnet ${last}`);
}

console.log(`node ${process.version}, ${N.toLocaleString('en-US')} addresses per run`);
report('IPv4 /8, sequential allocate then release in the same order', '10.0.0.0/8', 'sequential');
allocatorOnlyMemory('10.0.0.0/8');
report('IPv6 /64, sequential allocate then release in the same order', 'fd00:1:2:3::/64', 'sequential');
allocatorOnlyMemory('fd00:1:2:3::/64');
report('IPv4 /8, release half in random order (fragmented)', '10.0.0.0/8', 'random-half');
report('IPv6 /64, release half in random order (fragmented)', 'fd00:1:2:3::/64', 'random-half');
choose1000();

const v4 = perOp['10.0.0.0/8 sequential']!;
const v6 = perOp['fd00:1:2:3::/64 sequential']!;
const v4f = perOp['10.0.0.0/8 random-half']!;
const v6f = perOp['fd00:1:2:3::/64 random-half']!;
console.log('\nratios (median time per op)');
console.log(`  IPv6 /64 vs IPv4 /8: allocate ${(v6.alloc / v4.alloc).toFixed(2)}x, release ${(v6.release / v4.release).toFixed(2)}x`);
console.log(`  fragmenting release vs in-order release: IPv4 ${(v4f.release / v4.release).toFixed(2)}x, IPv6 ${(v6f.release / v6.release).toFixed(2)}x`);
