// Memory: the daemon's RSS at 1000 endpoints (CHURN_SANDBOXES sandboxes, 100
// by default, each on 10 of CHURN_NETS networks, as api.bench loads them)
// for cnm and for Docker's daemon (dockerd 20.10 from ../shared/bench/anchors.sh)
// in the same run, and their ratio (target cnm/dockerd <= 0.5x). Then, on
// cnm, a churn of disconnects and reconnects for CHURN_SECONDS (default 600)
// with its RSS sampled every CHURN_SAMPLE_S seconds (default 10): the series,
// its slope (least squares, MB per minute) and first/last. Flat is the target.
import { execFileSync } from 'node:child_process';
import { Client } from '../src/client/client.ts';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { DOCKER_SOCK, anchorsDown, anchorsUp, dockerdPid, rssMb } from './lib/anchors.ts';
import { fmtMem, procMem } from './lib/kernel-res.ts';

const NETS = Number(process.env.CHURN_NETS ?? 100);
const BOXES = Number(process.env.CHURN_SANDBOXES ?? 100);
const LINKS = Math.min(10, NETS);
const SECONDS = Number(process.env.CHURN_SECONDS ?? 600);
const SAMPLE_S = Number(process.env.CHURN_SAMPLE_S ?? 10);
const SETTLE_MS = 5000; // lets the daemon's lazy work (GC, reaper) finish before RSS is read

type Run = (name: string, network: string) => Promise<string>;

async function load(c: Client, run: Run): Promise<{ nets: string[]; boxes: string[] }> {
  const nets: string[] = [];
  for (let i = 0; i < NETS; i++) nets.push((await c.networkCreate({ Name: `churn-${i}` })).Id);
  const boxes: string[] = [];
  for (let i = 0; i < BOXES; i++) {
    const id = await run(`churn-c${i}`, nets[i % NETS] ?? 'bridge');
    boxes.push(id);
    for (let k = 1; k < LINKS; k++) await c.networkConnect(nets[(i + k) % NETS] ?? '', id);
  }
  return { nets, boxes };
}

async function unload(c: Client, l: { nets: string[]; boxes: string[] }): Promise<void> {
  for (const b of l.boxes) await c.containerRemove(b, true).catch(() => undefined);
  for (const n of l.nets) await c.networkRemove(n).catch(() => undefined);
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));
const eps = BOXES * LINKS;

// Docker first, then stopped: the churn runs on a quiet machine.
let dockerRss = NaN;
let dockerMem = procMem(0);
if (process.env.BENCH_NO_DOCKER !== '1') {
  const hadContainerd = pgrep('containerd');
  const wasUp = existsSock();
  if (anchorsUp()) {
    const c = new Client(`unix://${DOCKER_SOCK}`, '1.41');
    const before = rssMb(dockerdPid());
    const run: Run = async (name, network) => {
      await c.containerRemove(name, true).catch(() => undefined);
      const { Id } = await c.containerCreate(name, { Image: 'busybox:latest', Cmd: ['sleep', '1000000'], HostConfig: { NetworkMode: network } });
      await c.containerStart(Id);
      return Id;
    };
    const t0 = performance.now();
    const l = await load(c, run);
    await settle();
    dockerRss = rssMb(dockerdPid());
    dockerMem = procMem(dockerdPid());
    console.log(`dockerd: RSS ${before.toFixed(1)} MB before, ${dockerRss.toFixed(1)} MB at ${eps} endpoints on ${NETS} networks (loaded in ${((performance.now() - t0) / 1000).toFixed(0)} s); ${fmtMem(dockerMem)}`);
    await unload(c, l);
    if (!wasUp) {
      anchorsDown();
      // anchors.sh starts containerd when none runs; one it started goes too.
      for (const pid of pgrep('containerd')) if (!hadContainerd.includes(pid)) process.kill(pid, 'SIGTERM');
    }
  } else {
    console.log('dockerd: not measured (anchors unavailable)');
  }
}

function pgrep(name: string): number[] {
  try {
    return execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function existsSock(): boolean {
  try {
    execFileSync('test', ['-S', DOCKER_SOCK]);
    return true;
  } catch {
    return false;
  }
}

const d = await startTestDaemon({ args: ['--default-address-pool', 'base=10.128.0.0/9,size=24'] });
const c = d.client;
const pid = d.proc.pid ?? 0;
try {
  const run: Run = async (name, network) => {
    const { Id } = await c.containerCreate(name, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: network } });
    await c.containerStart(Id);
    return Id;
  };
  const before = rssMb(pid);
  const t0 = performance.now();
  const l = await load(c, run);
  await settle();
  const cnmRss = rssMb(pid);
  const cnmMem = procMem(pid);
  console.log(`cnm: RSS ${before.toFixed(1)} MB empty, ${cnmRss.toFixed(1)} MB at ${eps} endpoints on ${NETS} networks (loaded in ${((performance.now() - t0) / 1000).toFixed(0)} s); ${fmtMem(cnmMem)}`);
  if (!Number.isNaN(dockerRss)) {
    console.log(`RSS at ${eps} endpoints: cnm ${cnmRss.toFixed(1)} MB, dockerd ${dockerRss.toFixed(1)} MB: cnm/dockerd ${(cnmRss / dockerRss).toFixed(2)}x (target <= 0.5x)`);
    console.log(`  the same by PSS ${(cnmMem.pss / dockerMem.pss).toFixed(2)}x and by USS (private pages) ${(cnmMem.uss / dockerMem.uss).toFixed(2)}x`);
  }

  // Churn: one sandbox at a time leaves one of its networks and joins it again.
  const series: [number, number][] = [[0, cnmRss]];
  let ops = 0;
  const start = performance.now();
  let nextSample = start + SAMPLE_S * 1000;
  let seed = 1;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  while (performance.now() - start < SECONDS * 1000) {
    const i = rand(BOXES);
    const net = l.nets[(i + rand(LINKS)) % NETS] ?? '';
    const box = l.boxes[i] ?? '';
    await c.networkDisconnect(net, box);
    await c.networkConnect(net, box);
    ops += 2;
    if (performance.now() >= nextSample) {
      series.push([(performance.now() - start) / 60_000, rssMb(pid)]);
      nextSample += SAMPLE_S * 1000;
    }
  }
  await settle();
  series.push([(performance.now() - start) / 60_000, rssMb(pid)]);
  const n = series.length;
  const mx = series.reduce((s, [x]) => s + x, 0) / n;
  const my = series.reduce((s, [, y]) => s + y, 0) / n;
  const slope = series.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / series.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const ys = series.map(([, y]) => y);
  console.log(`churn: ${ops} connects+disconnects in ${SECONDS} s (${(ops / SECONDS).toFixed(0)}/s) at ${eps} endpoints`);
  console.log(`cnm RSS every ${SAMPLE_S} s (MB): ${ys.map((y) => y.toFixed(1)).join(' ')}`);
  console.log(`cnm RSS over the churn: first ${ys[0]?.toFixed(1)} MB, last ${ys.at(-1)?.toFixed(1)} MB, min ${Math.min(...ys).toFixed(1)}, max ${Math.max(...ys).toFixed(1)}; slope ${slope.toFixed(2)} MB/min (target: flat)`);
  await unload(c, l);
} finally {
  await d.destroy();
}
