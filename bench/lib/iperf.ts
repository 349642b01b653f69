// iperf3 between two network namespaces: the server and the client each run
// under nsenter in a namespace given by a path (or a PID's namespace).
import { spawn, spawnSync } from 'node:child_process';

export type NsRef = { path: string } | { pid: number };

const enter = (ns: NsRef): string[] => ('path' in ns ? ['nsenter', `--net=${ns.path}`] : ['nsenter', '-t', String(ns.pid), '-n']);

/** Gbit/s from `iperf3 -c` to a server started for the run (TCP, 1 stream). */
export async function iperf(server: NsRef, client: NsRef, target: string, opts: { port?: number; serverPort?: number; seconds?: number } = {}): Promise<number> {
  return (await iperfStats(server, client, target, opts)).gbps;
}

/**
 * Also the CPU both ends used, in per cent of one core (iperf3's getrusage
 * figures; without IRQ time accounting they include the softirq work the
 * kernel does in their context, i.e. most of the veth/bridge/nftables path).
 * Gbit/s per busy core varies far less on a shared machine than Gbit/s.
 */
export async function iperfStats(server: NsRef, client: NsRef, target: string, opts: { port?: number; serverPort?: number; seconds?: number } = {}): Promise<{ gbps: number; cpuPct: number }> {
  const sport = opts.serverPort ?? opts.port ?? 5201;
  const srv = spawn(enter(server)[0] ?? 'nsenter', [...enter(server).slice(1), 'iperf3', '-s', '-1', '-p', String(sport)], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const [cmd, ...args] = enter(client);
    const r = spawnSync(cmd ?? 'nsenter', [...args, 'iperf3', '-c', target, '-p', String(opts.port ?? sport), '-t', String(opts.seconds ?? 3), '-J'], { encoding: 'utf8', timeout: 60_000 });
    const j = JSON.parse(r.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number }; cpu_utilization_percent?: { host_total?: number; remote_total?: number } }; error?: string };
    if (!j.end?.sum_received?.bits_per_second) throw new Error(`iperf3 to ${target}:${opts.port ?? sport} failed: ${j.error ?? r.stderr}`);
    const cpu = j.end.cpu_utilization_percent;
    return { gbps: j.end.sum_received.bits_per_second / 1e9, cpuPct: (cpu?.host_total ?? NaN) + (cpu?.remote_total ?? NaN) };
  } finally {
    srv.kill('SIGKILL');
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
