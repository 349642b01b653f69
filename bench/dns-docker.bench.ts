// dnsperf from inside a sandbox against cnm's embedded DNS (the real daemon,
// names of real sandboxes) and, in the same run, from inside a container
// against Docker's embedded DNS (127.0.0.11): same names, same concurrency.
// (aardvark-dns is compared in bench/dns.bench.ts.)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../src/client/client.ts';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { DOCKER_SOCK, anchorsUp } from './lib/anchors.ts';
import { table } from './lib/stats.ts';

const execFileP = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NAMES = ['target1', 'target2', 'target3', 'target4'];

async function dnsperf(pid: number, server: string, file: string, extra: string[] = []): Promise<{ qps: number; avgMs: number; lost: string }> {
  const r = await execFileP('nsenter', ['-t', String(pid), '-n', 'dnsperf', '-s', server, '-d', file, '-c', '8', '-l', String(SECONDS), ...extra], { timeout: (SECONDS + 60) * 1000, maxBuffer: 64 << 20 });
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN),
    avgMs: Number(/Average Latency \(s\):\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN) * 1000,
    lost: /Queries lost:\s+(\d+ \([\d.]+%\))/.exec(r.stdout)?.[1] ?? '?',
  };
}

// The peers' installer also brings dnsperf.
const peers = process.env.BENCH_NO_DOCKER !== '1' && anchorsUp();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const tmp = mkdtempSync(join(tmpdir(), 'cnm-dnsdocker-'));
const file = join(tmp, 'queries.txt');
writeFileSync(file, `${NAMES.map((n) => `${n} A`).join('\n')}\n`);
const rows: (string | number)[][] = [['resolver', 'q/s (median)', 'avg latency ms', 'runs']];
const res: Record<string, number> = {};

// cnm
const d = await startTestDaemon({ args: ['--log-level', 'warn'] });
try {
  await d.client.networkCreate({ Name: 'dnsb' });
  for (const n of [...NAMES, 'asker']) {
    const { Id } = await d.client.containerCreate(n, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'dnsb' } });
    await d.client.containerStart(Id);
  }
  const info = await d.client.containerInspect('asker');
  const gw = info.NetworkSettings.Networks.dnsb?.Gateway ?? '';
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await dnsperf(info.State.Pid, gw, file));
  res.cnm = median(runs.map((r) => r.qps));
  rows.push(['cnm (gateway, scoped by source)', res.cnm.toFixed(0), median(runs.map((r) => r.avgMs)).toFixed(3), runs.map((r) => `${r.qps.toFixed(0)} lost ${r.lost}`).join('; ')]);
} finally {
  await d.destroy();
}

// Docker's embedded DNS
if (peers) {
  const c = new Client(`unix://${DOCKER_SOCK}`, '1.41');
  const ids: string[] = [];
  try {
    await c.networkRemove('cnm-dnsb').catch(() => undefined);
    await c.networkCreate({ Name: 'cnm-dnsb' });
    for (const n of [...NAMES, 'asker']) {
      await c.containerRemove(n, true).catch(() => undefined);
      const { Id } = await c.containerCreate(n, { Image: 'busybox:latest', Cmd: ['sleep', '1000000'], HostConfig: { NetworkMode: 'cnm-dnsb' } });
      ids.push(Id);
      await c.containerStart(Id);
    }
    const pid = (await c.containerInspect('asker')).State.Pid;
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await dnsperf(pid, '127.0.0.11', file));
    res.docker = median(runs.map((r) => r.qps));
    rows.push(['docker 20.10 (127.0.0.11)', res.docker.toFixed(0), median(runs.map((r) => r.avgMs)).toFixed(3), runs.map((r) => `${r.qps.toFixed(0)} lost ${r.lost}`).join('; ')]);
  } finally {
    for (const id of ids) await c.containerRemove(id, true).catch(() => undefined);
    await c.networkRemove('cnm-dnsb').catch(() => undefined);
  }
}
rmSync(tmp, { recursive: true, force: true });
console.log(`\n${table(rows)}`);
if (res.docker) console.log(`\ncnm / docker: ${((res.cnm ?? NaN) / res.docker).toFixed(2)}x (target >= 2x)`);
