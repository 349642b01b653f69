// dnsperf from inside a sandbox against cnm's embedded DNS (the real daemon,
// names of real sandboxes) and, in the same run, from inside a container
// against Docker's embedded DNS (127.0.0.11): same names, same concurrency.
// The runs are interleaved (cnm, Docker, cnm, ...) so that both see the same
// background load; each pair gives a ratio, and the ratios' median is the
// figure. The daemons' CPU time per answered query (cnm's daemon process,
// dockerd, whose resolver runs inside it) is less sensitive to a busy
// machine than q/s. Then one fixed-rate run each at 10,000 q/s: per-query
// latency p50/p99 (dnsperf -v).
// (aardvark-dns is compared in bench/dns.bench.ts.)
// Env: BENCH_SECONDS (each max-rate run, default 10), BENCH_RUNS (default 3),
// BENCH_NO_DOCKER=1 (cnm only).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../src/client/client.ts';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { DOCKER_SOCK, anchorsUp, dockerdPid } from './lib/anchors.ts';
import { percentile, table } from './lib/stats.ts';

const execFileP = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FIXED_QPS = 10_000;
const NAMES = ['target1', 'target2', 'target3', 'target4'];
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

interface Run { qps: number; avgMs: number; lost: string; done: number; cpuUs: number; out: string }

/** utime + stime of a process, in microseconds. */
function cpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}

async function dnsperf(pid: number, server: string, file: string, serverPid: number, extra: string[] = []): Promise<Run> {
  const before = cpuUs(serverPid);
  const r = await execFileP('nsenter', ['-t', String(pid), '-n', 'dnsperf', '-s', server, '-d', file, '-c', '8', '-l', String(SECONDS), ...extra], { timeout: (SECONDS + 60) * 1000, maxBuffer: 256 << 20 });
  const done = Number(/Queries completed:\s+(\d+)/.exec(r.stdout)?.[1] ?? NaN);
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN),
    avgMs: Number(/Average Latency \(s\):\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN) * 1000,
    lost: /Queries lost:\s+(\d+ \([\d.]+%\))/.exec(r.stdout)?.[1] ?? '?',
    done,
    cpuUs: (cpuUs(serverPid) - before) / done,
    out: r.stdout,
  };
}

/** Per-query latencies (ms, sorted) of a dnsperf -v run. */
const latencies = (out: string): number[] => [...out.matchAll(/^> \w+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const spread = (xs: number[], digits = 0): string => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;

// The peers' installer also brings dnsperf.
const peers = process.env.BENCH_NO_DOCKER !== '1' && anchorsUp();
const tmp = mkdtempSync(join(tmpdir(), 'cnm-dnsdocker-'));
const file = join(tmp, 'queries.txt');
writeFileSync(file, `${NAMES.map((n) => `${n} A`).join('\n')}\n`);

interface Side { name: string; pid: number; server: string; serverPid: number; runs: Run[]; fixed?: Run }
const d = await startTestDaemon({ args: ['--log-level', 'warn'] });
const c = new Client(`unix://${DOCKER_SOCK}`, '1.41');
const ids: string[] = [];
try {
  await d.client.networkCreate({ Name: 'dnsb' });
  for (const n of [...NAMES, 'asker']) {
    const { Id } = await d.client.containerCreate(n, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'dnsb' } });
    await d.client.containerStart(Id);
  }
  const info = await d.client.containerInspect('asker');
  const sides: Side[] = [{
    name: 'cnm (gateway, scoped by source)', pid: info.State.Pid, server: info.NetworkSettings.Networks.dnsb?.Gateway ?? '',
    serverPid: d.proc.pid ?? 0, runs: [],
  }];
  if (peers) {
    await c.networkRemove('cnm-dnsb').catch(() => undefined);
    await c.networkCreate({ Name: 'cnm-dnsb' });
    for (const n of [...NAMES, 'asker']) {
      await c.containerRemove(n, true).catch(() => undefined);
      const { Id } = await c.containerCreate(n, { Image: 'busybox:latest', Cmd: ['sleep', '1000000'], HostConfig: { NetworkMode: 'cnm-dnsb' } });
      ids.push(Id);
      await c.containerStart(Id);
    }
    sides.push({ name: 'docker 20.10 (127.0.0.11)', pid: (await c.containerInspect('asker')).State.Pid, server: '127.0.0.11', serverPid: dockerdPid(), runs: [] });
  }
  for (let i = 0; i < RUNS; i++) {
    for (const s of sides) s.runs.push(await dnsperf(s.pid, s.server, file, s.serverPid));
    console.log(`  run ${i + 1}: ${sides.map((s) => `${s.name.split(' ')[0]} ${s.runs.at(-1)?.qps.toFixed(0)} q/s, ${s.runs.at(-1)?.cpuUs.toFixed(1)} us CPU/query`).join('; ')}; load average ${loadavg()[0]?.toFixed(2)}`);
  }
  for (const s of sides) s.fixed = await dnsperf(s.pid, s.server, file, s.serverPid, ['-Q', String(FIXED_QPS), '-v']);

  const rows: (string | number)[][] = [['resolver', 'q/s median (spread)', 'CPU us/query median (spread)', `at ${FIXED_QPS} q/s: p50 / p99 ms`, 'lost']];
  for (const s of sides) {
    const lat = latencies(s.fixed?.out ?? '');
    rows.push([s.name, `${median(s.runs.map((r) => r.qps)).toFixed(0)} (${spread(s.runs.map((r) => r.qps))})`,
      `${median(s.runs.map((r) => r.cpuUs)).toFixed(1)} (${spread(s.runs.map((r) => r.cpuUs), 1)})`,
      `${percentile(lat, 50).toFixed(3)} / ${percentile(lat, 99).toFixed(3)}`, s.runs.map((r) => r.lost).join('; ')]);
  }
  console.log(`\n${table(rows)}`);
  const [cnm, docker] = sides;
  if (cnm && docker) {
    const ratios = cnm.runs.map((r, i) => r.qps / (docker.runs[i]?.qps ?? NaN));
    const cpu = cnm.runs.map((r, i) => (docker.runs[i]?.cpuUs ?? NaN) / r.cpuUs);
    console.log(`\ncnm / docker q/s, per interleaved pair: median ${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2)).join(', ')}) (target >= 2x); ratio of medians ${(median(cnm.runs.map((r) => r.qps)) / median(docker.runs.map((r) => r.qps))).toFixed(2)}x`);
    console.log(`docker / cnm CPU per query: median ${median(cpu).toFixed(2)}x (${cpu.map((x) => x.toFixed(2)).join(', ')})`);
    console.log(JSON.stringify({ bench: 'dns-docker', cnmQps: cnm.runs.map((r) => Math.round(r.qps)), dockerQps: docker.runs.map((r) => Math.round(r.qps)), ratioMedian: Number(median(ratios).toFixed(2)),
      cnmCpuUs: cnm.runs.map((r) => Number(r.cpuUs.toFixed(1))), dockerCpuUs: docker.runs.map((r) => Number(r.cpuUs.toFixed(1))),
      cnmP99ms: percentile(latencies(cnm.fixed?.out ?? ''), 99), dockerP99ms: percentile(latencies(docker.fixed?.out ?? ''), 99) }));
  }
} finally {
  await d.destroy();
  for (const id of ids) await c.containerRemove(id, true).catch(() => undefined);
  if (peers) await c.networkRemove('cnm-dnsb').catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
