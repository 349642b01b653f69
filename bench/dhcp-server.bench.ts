// Leases per second of cnm's DHCP server on a bridge (the real daemon,
// cnm.bridge.dhcp=true, leases stored in its SQLite store) and, in the same
// run, of dnsmasq on the same kind of bridge in a namespace (once with a
// temporary lease file, once with none; no ping before offering, as cnm
// does not ping either). Each run adds CLIENTS new clients to the leases
// of the runs before it.
// The load is perfdhcp-style (test/helpers/dhcp-load.ts dora): distinct
// clients, DISCOVER then REQUEST each, WINDOW exchanges in flight, from a
// namespace attached to the bridge by a veth.
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { TestNetns } from '../test/helpers/netns.ts';
import { table } from './lib/stats.ts';

const execFileP = promisify(execFile);
const CLIENTS = Number(process.env.BENCH_DHCP_CLIENTS ?? 3000);
const WINDOW = Number(process.env.BENCH_DHCP_WINDOW ?? 64);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LOAD = join(import.meta.dirname, '..', 'test', 'helpers', 'dhcp-load.ts');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Run { leases: number; seconds: number; rate: number }

/** A client namespace with a veth (c0, `addr`) whose other end is a port of `bridge` in `serverNs`. */
async function clientOn(serverNs: TestNetns, bridge: string, addr: string): Promise<TestNetns> {
  const c = await TestNetns.create('dhb');
  const host = `dhb${Math.floor(Math.random() * 1e6)}`;
  await serverNs.sh(`ip link add ${host} type veth peer name c0 netns ${c.name} && ip link set ${host} master ${bridge} up`);
  await c.sh(`ip link set c0 up && ip addr add ${addr} dev c0`);
  return c;
}

async function load(c: TestNetns, server: string, run: number): Promise<Run> {
  const r = await execFileP('nsenter', [`--net=${c.path}`, process.execPath, '--disable-warning=ExperimentalWarning', LOAD, 'dora', server, String(CLIENTS), String(WINDOW), String(run + 1)], { timeout: 300_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Run;
}

const rows: (string | number)[][] = [['server', 'leases/s (median)', 'runs (leases in s)']];
const res: Record<string, number> = {};
const describe = (runs: Run[]): string => runs.map((r) => `${r.leases} in ${r.seconds.toFixed(2)}`).join('; ');

// cnm
const d = await startTestDaemon({ args: ['--log-level', 'warn'] });
let cc: TestNetns | null = null;
try {
  const { Id } = await d.client.networkCreate({
    Name: 'dhcpb', Options: { 'cnm.bridge.dhcp': 'true' }, IPAM: { Config: [{ Subnet: '10.90.0.0/16', IPRange: '10.90.0.0/17' }] },
  });
  cc = await clientOn(d.ns, `br-${Id.slice(0, 12)}`, '10.90.255.250/16');
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await load(cc, '10.90.0.1', i));
  res.cnm = median(runs.map((r) => r.rate));
  rows.push([`cnm (${CLIENTS} clients, window ${WINDOW})`, res.cnm.toFixed(0), describe(runs)]);
} finally {
  await cc?.destroy();
  await d.destroy();
}

// dnsmasq, twice: with a lease file (it rewrites the whole file for each
// lease, so it slows down as leases pile up) and with none (--leasefile-ro).
async function dnsmasqRuns(label: string, leaseArgs: (dir: string) => string[]): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'cnm-dhcpb-'));
  const sns = await TestNetns.create('dhm');
  let dc: TestNetns | null = null;
  let pid: number | undefined;
  try {
    await sns.sh('ip link add br0 type bridge && ip addr add 10.91.0.1/16 dev br0 && ip link set br0 up');
    const p = spawn('nsenter', [`--net=${sns.path}`, 'dnsmasq', '--no-daemon', '--port=0', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
      '--user=root', '--interface=br0', '--dhcp-range=10.91.0.2,10.91.127.254,255.255.0.0,1h', '--dhcp-lease-max=1000000', '--no-ping',
      '--dhcp-authoritative', `--pid-file=${join(tmp, 'pid')}`, ...leaseArgs(tmp)], { stdio: 'ignore' });
    pid = p.pid;
    dc = await clientOn(sns, 'br0', '10.91.255.250/16');
    await new Promise((r) => setTimeout(r, 500));
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await load(dc, '10.91.0.1', i));
    const rate = median(runs.map((r) => r.rate));
    rows.push([`dnsmasq 2.90, ${label}`, rate.toFixed(0), describe(runs)]);
    return rate;
  } finally {
    if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await dc?.destroy();
    await sns.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}
if (process.env.BENCH_DHCP_ONLY !== 'cnm') {
  res.dnsmasqFile = await dnsmasqRuns('lease file', (dir) => [`--dhcp-leasefile=${join(dir, 'leases')}`]);
  res.dnsmasqNoFile = await dnsmasqRuns('--leasefile-ro (no lease file)', () => ['--leasefile-ro']);
}

console.log(`\n${table(rows)}`);
const best = Math.max(res.dnsmasqFile ?? NaN, res.dnsmasqNoFile ?? NaN);
console.log(`\ncnm / dnsmasq (lease file): ${((res.cnm ?? NaN) / (res.dnsmasqFile ?? NaN)).toFixed(2)}x; cnm / dnsmasq (faster of the two): ${((res.cnm ?? NaN) / best).toFixed(2)}x (target >= 1x)`);
