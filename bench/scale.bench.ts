// Ten times api.bench's load: SCALE_NETS networks (default 1000) and
// SCALE_SANDBOXES sandboxes (default 1000), each connected to SCALE_LINKS
// networks (default 10: 10,000 endpoints), against a real cnm daemon in
// namespaces of its own. In one run: network create / connect / disconnect
// p50 empty and at full load (the loaded/empty ratio), the build rate,
// restart time at full load (after SIGKILL and after SIGTERM), the daemon's
// RSS, and what the kernel spent on it. A build that fails part-way says at
// what count and with which error, and the measurements go on at the load
// reached.
import { spawn } from 'node:child_process';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { rssMb } from './lib/anchors.ts';
import { describeGrowth, snapshot } from './lib/kernel-res.ts';
import { fmt, p50, p95, table, timed } from './lib/stats.ts';

const NETS = Number(process.env.SCALE_NETS ?? 1000);
const BOXES = Number(process.env.SCALE_SANDBOXES ?? 1000);
const LINKS = Math.min(Number(process.env.SCALE_LINKS ?? 10), NETS);
const N = Number(process.env.SCALE_N ?? 30); // cycles per measurement
const CONC = Number(process.env.SCALE_CONCURRENCY ?? 4); // requests in flight while building
const RESTARTS = Number(process.env.SCALE_RESTARTS ?? 3);

// SCALE_DAEMON_NODE_OPTIONS: Node options for the daemon only (the daemon
// inherits this process's environment), e.g. "--cpu-prof --cpu-prof-dir=DIR"
// to profile each daemon process (those that exit, not a SIGKILLed one).
if (process.env.SCALE_DAEMON_NODE_OPTIONS) process.env.NODE_OPTIONS = process.env.SCALE_DAEMON_NODE_OPTIONS;
// 10.128.0.0/9 in /24s: 32768 networks, as the anchors give dockerd.
const d = await startTestDaemon({ args: ['--default-address-pool', 'base=10.128.0.0/9,size=24'] });
const c = d.client;

interface Sample { create: number[]; connect: number[]; disconnect: number[]; rm: number[] }
async function cycle(target: string, tag: string): Promise<Sample> {
  const s: Sample = { create: [], connect: [], disconnect: [], rm: [] };
  for (let i = 0; i < N; i++) {
    const [tc, r] = await timed(() => c.networkCreate({ Name: `scale-${tag}-${i}` }));
    s.create.push(tc);
    s.connect.push((await timed(() => c.networkConnect(r.Id, target)))[0]);
    s.disconnect.push((await timed(() => c.networkDisconnect(r.Id, target)))[0]);
    s.rm.push((await timed(() => c.networkRemove(r.Id)))[0]);
  }
  return s;
}

/** Runs fn(0..n-1) with CONC calls in flight; stops handing out work at the first error. */
async function pool(n: number, fn: (i: number) => Promise<void>): Promise<{ done: number; error?: unknown }> {
  let next = 0;
  let done = 0;
  let error: unknown;
  const worker = async (): Promise<void> => {
    while (error === undefined && next < n) {
      const i = next++;
      try {
        await fn(i);
        done++;
      } catch (e) {
        error ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: CONC }, worker));
  return { done, error };
}

const rows: (string | number)[][] = [['state', 'op', 'p50 ms', 'p95 ms']];
const samples = new Map<string, Sample>();
const record = (state: string, s: Sample): void => {
  samples.set(state, s);
  for (const op of ['create', 'connect', 'disconnect', 'rm'] as const) rows.push([state, op, fmt(p50(s[op])), fmt(p95(s[op]))]);
};
const pid = (): number => d.proc.pid ?? 0;

const nets: string[] = [];
const boxes: string[] = [];
let endpoints = 0;
try {
  const run = async (name: string, network: string): Promise<string> => {
    // No image: the host's filesystem; no init: one process less per sandbox.
    const { Id } = await c.containerCreate(name, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: network, Init: false } });
    await c.containerStart(Id);
    return Id;
  };
  const target = await run('scale-target', 'bridge');
  record('empty', await cycle(target, 'e'));
  console.log(`empty: RSS ${rssMb(pid()).toFixed(1)} MB`);

  const before = snapshot(d.ns.path, pid());
  const t0 = performance.now();
  const nr = await pool(NETS, async (i) => { nets[i] = (await c.networkCreate({ Name: `load-${i}` })).Id; });
  const tNets = performance.now() - t0;
  console.log(`built ${nr.done} networks in ${(tNets / 1000).toFixed(1)} s (${(nr.done / tNets * 1000).toFixed(0)}/s, ${CONC} in flight)`);
  if (nr.error) console.log(`network create failed after ${nr.done}: ${String(nr.error)}`);
  const made = nets.filter(Boolean);
  const t1 = performance.now();
  let lastLog = t1;
  const br = await pool(nr.error ? 0 : BOXES, async (i) => {
    // Its networks are i, i+1, ... so that each network gets LINKS sandboxes.
    const id = await run(`load-c${i}`, made[i % made.length] ?? 'bridge');
    boxes.push(id);
    endpoints++;
    for (let k = 1; k < LINKS; k++) {
      await c.networkConnect(made[(i + k) % made.length] ?? '', id);
      endpoints++;
    }
    if (performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      console.log(`  ${boxes.length} sandboxes, ${endpoints} endpoints after ${((lastLog - t1) / 1000).toFixed(0)} s; RSS ${rssMb(pid()).toFixed(0)} MB`);
    }
  });
  const tBoxes = performance.now() - t1;
  console.log(`built ${br.done} sandboxes with ${endpoints} endpoints in ${(tBoxes / 1000).toFixed(1)} s (${(endpoints / tBoxes * 1000).toFixed(1)} endpoints/s, ${CONC} in flight); whole build ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (br.error) console.log(`!!! the build stopped at ${boxes.length} sandboxes / ${endpoints} endpoints: ${String(br.error)}`);
  const after = snapshot(d.ns.path, pid());
  console.log(`kernel and process resources for ${made.length} networks, ${boxes.length} sandboxes, ${endpoints} endpoints:\n  ${describeGrowth(before, after, Math.max(1, endpoints), 'endpoint')}`);

  const state = `${endpoints} eps`;
  // SCALE_PERF=FILE: `perf record` of the daemon (all its threads, kernel
  // included) over the loaded cycle; with SCALE_DAEMON_NODE_OPTIONS=--perf-basic-prof
  // perf names the JavaScript frames too.
  const perf = process.env.SCALE_PERF ? spawn('perf', ['record', '-F', '499', '-g', '-p', String(pid()), '-o', process.env.SCALE_PERF], { stdio: 'ignore' }) : null;
  if (perf) await new Promise((r) => setTimeout(r, 500));
  record(state, await cycle(target, 'l'));
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('exit', r));
  }
  const rss = rssMb(pid());
  console.log(`daemon RSS at ${endpoints} endpoints on ${made.length} networks: ${rss.toFixed(1)} MB`);

  const restarts: { sig: string; ms: number }[] = [];
  for (let i = 0; i < RESTARTS * 2; i++) {
    const sig = i % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
    await d.stop(sig);
    const [ms] = await timed(() => d.restart());
    restarts.push({ sig, ms });
  }
  const inner = [...d.logs().matchAll(/startup_ms=(\d+)/g)].map((m) => Number(m[1])).slice(-RESTARTS * 2);
  const of = (sig: string): number[] => restarts.filter((r) => r.sig === sig).map((r) => r.ms);
  console.log(`restart at ${endpoints} endpoints, process start to API ready: after SIGKILL p50 ${fmt(p50(of('SIGKILL')))} ms (${of('SIGKILL').map(fmt).join(', ')}); after SIGTERM p50 ${fmt(p50(of('SIGTERM')))} ms (${of('SIGTERM').map(fmt).join(', ')}); in-daemon startup_ms ${inner.join('/')}`);
  console.log(`daemon RSS after restart: ${rssMb(pid()).toFixed(1)} MB`);
  // SCALE_LOG_GREP=REGEX: the daemon's log lines that match (e.g. a phase's timings).
  if (process.env.SCALE_LOG_GREP) for (const l of d.logs().split('\n').filter((x) => new RegExp(process.env.SCALE_LOG_GREP ?? '').test(x))) console.log(`  log: ${l}`);
  // The state came back: every sandbox is listed and one more cycle works.
  const listed = (await c.containerList()).length;
  record(`${state}, restarted`, await cycle(target, 'r'));
  console.log(`after restart: ${listed} running sandboxes listed`);
} finally {
  const t = performance.now();
  await pool(boxes.length, async (i) => { await c.containerRemove(boxes[i] ?? '', true).catch(() => undefined); });
  await pool(nets.length, async (i) => { await c.networkRemove(nets[i] ?? '').catch(() => undefined); });
  console.log(`teardown through the API: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await d.destroy();
}

console.log(`\n${table(rows)}\n`);
const ratio = (state: string, op: keyof Sample): string => (p50(samples.get(state)?.[op] ?? []) / p50(samples.get('empty')?.[op] ?? [])).toFixed(2);
for (const state of [...samples.keys()].filter((s) => s !== 'empty')) {
  console.log(`loaded/empty p50 (${state}): ${(['create', 'connect', 'disconnect', 'rm'] as const).map((op) => `${op} ${ratio(state, op)}x`).join(', ')} (target: create and connect within 1.5x)`);
}
