// Containers, cnm against Debian's dockerd 20.10 (containerd, runc; from
// ../shared/bench/anchors.sh) in the same run, with the same docker CLI
// (DOCKER_HOST pointed at each) and the same image: the busybox of
// scripts/make-busybox-image.ts loaded into both (the anchors' own busybox
// import has no `true` applet). Runs interleaved, the first peer alternating:
//  - `docker run -d IMG sleep`, the CLI returns after start (then
//    State.Running is checked and the container removed, untimed);
//  - `docker run --rm IMG true`, end to end (the CLI waits for the removal);
//  - `docker exec c true` on one running container;
//  - `docker version` as the floor: the CLI's start and one round trip;
//  - runc alone (create + start of a bare `runc spec` bundle; exec), what
//    both engines pay underneath.
// Then the host memory each idle container costs at BENCH_CONTAINERS `sleep`
// containers: the daemon's growth (cnm's daemon; dockerd plus containerd)
// plus each container's supervisor (cnm-monitor; containerd-shim-runc-v2),
// found as the parent of the container's PID 1. Both VmRSS and Pss
// (/proc/PID/smaps_rollup: shared pages split among their users, fairer to
// the shims, which share one Go binary's text).
// Every container the benchmark makes is named cnmbench-ctr-PID-*; only those
// are removed from Docker's daemon, which others may use meanwhile.
// Run: npm run bench containers. BENCH_N runs per figure (default 20),
// BENCH_CONTAINERS idle containers (default 100; 0 skips the memory part),
// BENCH_CNM_LOG=debug for cnm's server-side split (create, start, wait, exec
// start).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeBusyboxImage } from '../scripts/make-busybox-image.ts';
import { run, startTestDaemon } from '../test/helpers/daemon.ts';
import type { DaemonHandle } from '../test/helpers/daemon.ts';
import { DOCKER_SOCK, anchorsDown, anchorsUp, dockerdPid } from './lib/anchors.ts';
import { fmt, p50, percentile, table } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 20);
const COUNT = Number(process.env.BENCH_CONTAINERS ?? 100);
const IMAGE = 'cnm-bench/containers-busybox:latest';
const PREFIX = `cnmbench-ctr-${process.pid}-`;
const p90 = (xs: number[]): number => percentile(xs, 90);

interface Out { stdout: string; stderr: string; code: number }
interface Peer {
  name: 'cnm' | 'docker';
  env: NodeJS.ProcessEnv;
  /** The daemon processes whose growth counts (cnm's daemon; dockerd, containerd). */
  daemonPids(): number[];
  /** The comm of the per-container supervisor. */
  supervisor: RegExp;
}

const exec = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Out> => run(cmd, args, env);

async function docker(p: Peer, ...args: string[]): Promise<Out> {
  const r = await exec('docker', args, p.env);
  if (r.code !== 0) throw new Error(`${p.name}: docker ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

/** Milliseconds `fn` took. */
async function ms(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

interface ProcInfo { comm: string; ppid: number; rssKb: number; pssKb: number }

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (re: RegExp, text: string): number => Number(re.exec(text)?.[1] ?? NaN);
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return {
      comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
      ppid: field(/^PPid:\s+(\d+)/m, status),
      rssKb: field(/^VmRSS:\s+(\d+) kB/m, status),
      pssKb: field(/^Pss:\s+(\d+) kB/m, rollup),
    };
  } catch {
    return undefined;
  }
}

function sum(pids: number[]): { rssKb: number; pssKb: number } {
  const infos = pids.map((pid) => {
    const i = procInfo(pid);
    if (!i) throw new Error(`process ${pid} is gone`);
    return i;
  });
  return { rssKb: infos.reduce((n, i) => n + i.rssKb, 0), pssKb: infos.reduce((n, i) => n + i.pssKb, 0) };
}

/** PIDs of processes named exactly `comm`. */
function pidsNamed(comm: string): number[] {
  return readdirSync('/proc').filter((f) => /^\d+$/.test(f)).map(Number)
    .filter((pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm; } catch { return false; } });
}

/** runc on its own state root under the work directory (no daemon). */
function runc(root: string, ...args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    // stdio ignored: a created container's init inherits runc's descriptors,
    // so a pipe would stay open as long as the container runs.
    const p = spawn('runc', ['--root', root, ...args], { stdio: 'ignore' });
    p.once('error', rej);
    p.once('exit', (code) => (code === 0 ? res() : rej(new Error(`runc ${args.join(' ')} exited ${code}`))));
  });
}

/** A bare bundle (`runc spec`: new namespaces, no network setup) with busybox's sleep. */
async function bareBundle(dir: string): Promise<void> {
  mkdirSync(join(dir, 'rootfs', 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'rootfs', 'bin', 'busybox'));
  for (const a of ['sleep', 'true']) symlinkSync('busybox', join(dir, 'rootfs', 'bin', a));
  await runc(join(dir, 'state'), 'spec', '--bundle', dir);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: { args: string[]; terminal: boolean } };
  cfg.process.args = ['/bin/sleep', '100000'];
  cfg.process.terminal = false;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
}

const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

/** Removes the containers named PREFIX* on a peer (never any other). */
async function removeOurs(p: Peer): Promise<void> {
  const r = await exec('docker', ['ps', '-aq', '--filter', `name=^/${PREFIX}`], p.env);
  const ids = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) await exec('docker', ['rm', '-f', ...ids.slice(i, i + 50)], p.env);
}

const work = mkdtempSync('/dev/shm/cnm-bench-containers-');
let daemon: DaemonHandle | undefined;
let broughtUp = false;
const peers: Peer[] = [];
const hadImage = new Map<string, boolean>();

try {
  const tar = join(work, 'busybox.tar');
  const bb = await makeBusyboxImage(undefined, IMAGE);
  writeFileSync(tar, bb.tar);

  daemon = await startTestDaemon({ args: ['--log-level', process.env.BENCH_CNM_LOG ?? 'info'] });
  const d = daemon;
  peers.push({ name: 'cnm', env: { ...process.env, DOCKER_HOST: d.host }, daemonPids: () => [d.proc.pid ?? 0], supervisor: /^cnm-monitor$/ });
  const hadDocker = existsSync(DOCKER_SOCK);
  if (process.env.BENCH_NO_DOCKER !== '1' && anchorsUp()) {
    broughtUp = !hadDocker;
    // containerd's comm is "containerd"; its shims' is cut to 15 characters.
    peers.push({ name: 'docker', env: { ...process.env, DOCKER_HOST: `unix://${DOCKER_SOCK}` }, daemonPids: () => [dockerdPid(), ...pidsNamed('containerd')], supervisor: /^containerd-shim/ });
  } else {
    console.log('docker: not measured (anchors unavailable or BENCH_NO_DOCKER=1)');
  }
  for (const p of peers) {
    hadImage.set(p.name, (await exec('docker', ['image', 'inspect', IMAGE], p.env)).code === 0);
    await docker(p, 'load', '-q', '-i', tar);
    const id = (await docker(p, 'image', 'inspect', '--format', '{{.Id}}', IMAGE)).stdout.trim();
    if (id !== bb.id) throw new Error(`${p.name}: loaded image ${id}, expected ${bb.id}`);
  }

  // (1) Latencies, interleaved.
  const ops = ['run -d sleep', 'run --rm true', 'exec true', 'version (CLI floor)'] as const;
  const t = new Map<string, number[]>();
  const add = (op: string, peer: string, x: number): void => { const k = `${op}/${peer}`; t.set(k, [...(t.get(k) ?? []), x]); };
  for (const p of peers) await docker(p, 'run', '-d', '--name', `${PREFIX}exec`, IMAGE, 'sleep', '100000');
  // runc alone, for reference: what both engines pay for a start and an exec.
  const bundle = join(work, 'bundle');
  const runcRoot = join(work, 'runc');
  await bareBundle(bundle);
  const runcExecId = `${PREFIX}runc-exec`;
  await runc(runcRoot, 'create', '--bundle', bundle, runcExecId);
  await runc(runcRoot, 'start', runcExecId);
  const runcRows: number[][] = [[], []];
  let seq = 0;
  // Run 0 warms both up and is not counted.
  for (let r = 0; r <= N; r++) {
    const order = r % 2 ? [...peers].reverse() : peers;
    for (const p of order) {
      const name = `${PREFIX}${seq++}`;
      const run = await ms(() => docker(p, 'run', '-d', '--name', name, IMAGE, 'sleep', '1000'));
      const running = (await docker(p, 'inspect', '--format', '{{.State.Running}}', name)).stdout.trim();
      if (running !== 'true') throw new Error(`${p.name}: ${name} not running after docker run -d (State.Running ${running})`);
      await docker(p, 'rm', '-f', name);
      const rmRun = await ms(() => docker(p, 'run', '--rm', '--name', `${PREFIX}${seq++}`, IMAGE, 'true'));
      const ex = await ms(() => docker(p, 'exec', `${PREFIX}exec`, 'true'));
      const ver = await ms(() => docker(p, 'version', '--format', '{{.Server.Version}}'));
      if (r === 0) continue;
      add(ops[0], p.name, run);
      add(ops[1], p.name, rmRun);
      add(ops[2], p.name, ex);
      add(ops[3], p.name, ver);
    }
    const id = `${PREFIX}runc-${r}`;
    const start = await ms(async () => { await runc(runcRoot, 'create', '--bundle', bundle, id); await runc(runcRoot, 'start', id); });
    await runc(runcRoot, 'delete', '--force', id);
    const ex = await ms(() => runc(runcRoot, 'exec', runcExecId, '/bin/true'));
    if (r > 0) { runcRows[0]?.push(start); runcRows[1]?.push(ex); }
  }
  await runc(runcRoot, 'delete', '--force', runcExecId);
  for (const p of peers) await docker(p, 'rm', '-f', `${PREFIX}exec`);
  const rows: (string | number)[][] = [['op', 'peer', 'p50 ms', 'p90 ms', 'min ms', 'max ms']];
  for (const op of ops) {
    for (const p of peers) {
      const xs = t.get(`${op}/${p.name}`) ?? [];
      rows.push([op, p.name, fmt(p50(xs)), fmt(p90(xs)), fmt(Math.min(...xs)), fmt(Math.max(...xs))]);
    }
  }
  for (const [i, what] of ['runc create + start (bare bundle)', 'runc exec true'].entries()) {
    const xs = runcRows[i] ?? [];
    rows.push([what, 'runc alone', fmt(p50(xs)), fmt(p90(xs)), fmt(Math.min(...xs)), fmt(Math.max(...xs))]);
  }
  console.log(`\n(1) the docker CLI (${(await exec('docker', ['--version'])).stdout.trim()}) against each daemon (cnm with ${process.env.CNM_TEST_RUNTIME ?? 'runc'}, Docker with containerd and runc), ${N} runs each, interleaved\n${table(rows)}`);
  if (peers.length === 2) {
    for (const op of ops) {
      const c = p50(t.get(`${op}/cnm`) ?? []);
      const k = p50(t.get(`${op}/docker`) ?? []);
      const target = op === 'version (CLI floor)' ? '' : ' (target >= 3x)';
      console.log(`${op}: docker/cnm p50 ${(k / c).toFixed(2)}x${target}`);
    }
  }
  if (process.env.BENCH_CNM_LOG === 'debug') {
    // Server-side split from cnm's request log ("POST /v1.50/... 204 61.1ms").
    const split = new Map<string, number[]>();
    for (const m of d.logs().matchAll(/DEBUG (POST|DELETE) \/v[\d.]+\/(containers|exec)\/(\S+) (?:\d{3}|hijacked) ([\d.]+)ms/g)) {
      const [, method = '', kind = '', path = '', took = ''] = m;
      const parts = path.split('?')[0]?.split('/') ?? [];
      const what = kind === 'exec' ? `exec ${parts[1] ?? ''}` : method === 'DELETE' ? 'rm' : parts[0] === 'create' ? 'create' : parts[1] === 'exec' ? 'exec create' : parts[1] ?? '';
      split.set(what, [...(split.get(what) ?? []), Number(took)]);
    }
    const attach = [...d.logs().matchAll(/DEBUG attach sandbox=\S+ network=\S+ store_ms=([\d.]+) kernel_and_observers_ms=([\d.]+)/g)].map((m) => Number(m[1]) + Number(m[2]));
    split.set('network attach (in start)', attach);
    console.log(`cnm server side, p50 ms over the whole run: ${[...split].map(([k, xs]) => `${k} ${fmt(p50(xs))} (${xs.length})`).join(', ')}`);
  }

  // (2) Memory at COUNT idle containers, one engine at a time.
  const mem = new Map<string, { rss: number; pss: number }>();
  const memRows: (string | number)[][] = [['peer', 'daemon growth RSS/Pss MB', 'supervisors RSS/Pss MB', 'per container RSS/Pss MB', 'supervisor each RSS/Pss MB', `start ${COUNT} s`]];
  for (const p of COUNT > 0 ? peers : []) {
    await sleep(2000);
    const before = sum(p.daemonPids());
    const ids: string[] = [];
    const took = await ms(async () => {
      for (let i = 0; i < COUNT; i++) ids.push((await docker(p, 'run', '-d', '--name', `${PREFIX}idle-${i}`, IMAGE, 'sleep', '100000')).stdout.trim());
    });
    await sleep(3000);
    const supervisors: number[] = [];
    for (const id of ids) {
      const pid = Number((await docker(p, 'inspect', '--format', '{{.State.Pid}}', id)).stdout.trim());
      const parent = procInfo(pid)?.ppid ?? 0;
      const comm = procInfo(parent)?.comm ?? '';
      if (!p.supervisor.test(comm)) throw new Error(`${p.name}: the parent of container ${id.slice(0, 12)}'s PID ${pid} is ${parent} "${comm}", expected ${p.supervisor}`);
      supervisors.push(parent);
    }
    if (new Set(supervisors).size !== COUNT) throw new Error(`${p.name}: ${new Set(supervisors).size} supervisors for ${COUNT} containers`);
    const after = sum(p.daemonPids());
    const sup = sum(supervisors);
    const growth = { rssKb: after.rssKb - before.rssKb, pssKb: after.pssKb - before.pssKb };
    const per = { rss: (growth.rssKb + sup.rssKb) / COUNT / 1024, pss: (growth.pssKb + sup.pssKb) / COUNT / 1024 };
    mem.set(p.name, per);
    const mb = (kb: number): string => (kb / 1024).toFixed(1);
    memRows.push([p.name, `${mb(growth.rssKb)} / ${mb(growth.pssKb)}`, `${mb(sup.rssKb)} / ${mb(sup.pssKb)}`, `${per.rss.toFixed(2)} / ${per.pss.toFixed(2)}`,
      `${(sup.rssKb / COUNT / 1024).toFixed(2)} / ${(sup.pssKb / COUNT / 1024).toFixed(2)}`, (took / 1000).toFixed(1)]);
    await removeOurs(p);
  }
  if (COUNT > 0) console.log(`\n(2) host memory per idle container at ${COUNT} \`sleep\` containers (daemon growth + one supervisor each; the sleep processes themselves not counted)\n${table(memRows)}`);
  const c = mem.get('cnm');
  const k = mem.get('docker');
  if (c && k) console.log(`memory per idle container cnm/docker: Pss ${(c.pss / k.pss).toFixed(3)} (1/${(k.pss / c.pss).toFixed(1)}), RSS ${(c.rss / k.rss).toFixed(3)} (1/${(k.rss / c.rss).toFixed(1)}) (target <= 1/5)`);
} finally {
  for (const p of peers) await removeOurs(p).catch(() => undefined);
  const dockerPeer = peers.find((p) => p.name === 'docker');
  if (dockerPeer && !hadImage.get('docker')) await exec('docker', ['rmi', IMAGE], dockerPeer.env);
  await daemon?.destroy();
  const runcRoot = join(work, 'runc');
  if (existsSync(runcRoot)) {
    for (const id of readdirSync(runcRoot)) await runc(runcRoot, 'delete', '--force', id).catch(() => undefined);
  }
  await rm(work, { recursive: true, force: true });
  if (broughtUp) anchorsDown();
}
