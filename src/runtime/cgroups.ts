// A sandbox's cgroup as the kernel keeps it: its processes (docker top),
// memory, CPU time and pid count (docker stats). runc puts a sandbox at
// linux.cgroupsPath /cnm/<id> (oci-spec.ts): under each v1 controller's
// mount on a v1 or hybrid host (/sys/fs/cgroup/memory/cnm/<id>, ...), or in
// the single tree on a pure v2 host (/sys/fs/cgroup/cnm/<id>).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';
/** USER_HZ: /proc/stat and cpuacct.stat count in these. */
const TICKS_PER_SECOND = 100;
const NS_PER_TICK = 1e9 / TICKS_PER_SECOND;

export const cgroupPathOf = (id: string): string => `/cnm/${id}`;

/** Pure v2 when the root itself is the unified hierarchy. */
const unifiedOnly = (root: string): boolean => existsSync(join(root, 'cgroup.controllers'));

function dirOf(root: string, controller: string, id: string): string {
  return unifiedOnly(root) ? join(root, cgroupPathOf(id)) : join(root, controller, cgroupPathOf(id));
}

async function text(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** A number file; "max" (v2's no limit) and absent ones are null. */
async function num(path: string): Promise<number | null> {
  const t = (await text(path))?.trim();
  return t && /^\d+$/.test(t) ? Number(t) : null;
}

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat). */
function keyValues(t: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (t ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** Host PIDs of every process in the sandbox's cgroup. */
export async function cgroupPids(id: string, root = ROOT): Promise<number[]> {
  const t = await text(join(dirOf(root, 'pids', id), 'cgroup.procs'));
  return (t ?? '').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

export interface CgroupStats {
  memory: { usage: number; maxUsage: number; limit: number | null; stats: Record<string, number> };
  /** Nanoseconds of CPU time: total, per CPU (v1 only), user and system. */
  cpu: { total: number; perCpu: number[]; user: number; system: number };
  pids: { current: number; limit: number | null };
}

/** `root` is the cgroup file system's mount point (a test passes a fake tree). */
export async function cgroupStats(id: string, root = ROOT): Promise<CgroupStats> {
  if (unifiedOnly(root)) {
    const d = dirOf(root, '', id);
    const cpu = keyValues(await text(join(d, 'cpu.stat')));
    return {
      memory: { usage: await num(join(d, 'memory.current')) ?? 0, maxUsage: await num(join(d, 'memory.peak')) ?? 0, limit: await num(join(d, 'memory.max')), stats: keyValues(await text(join(d, 'memory.stat'))) },
      cpu: { total: (cpu.usage_usec ?? 0) * 1000, perCpu: [], user: (cpu.user_usec ?? 0) * 1000, system: (cpu.system_usec ?? 0) * 1000 },
      pids: { current: await num(join(d, 'pids.current')) ?? 0, limit: await num(join(d, 'pids.max')) },
    };
  }
  const mem = dirOf(root, 'memory', id);
  const acct = dirOf(root, 'cpuacct', id);
  const pids = dirOf(root, 'pids', id);
  const ticks = keyValues(await text(join(acct, 'cpuacct.stat')));
  const perCpu = ((await text(join(acct, 'cpuacct.usage_percpu'))) ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    memory: {
      usage: await num(join(mem, 'memory.usage_in_bytes')) ?? 0,
      maxUsage: await num(join(mem, 'memory.max_usage_in_bytes')) ?? 0,
      limit: await num(join(mem, 'memory.limit_in_bytes')),
      stats: keyValues(await text(join(mem, 'memory.stat'))),
    },
    cpu: { total: await num(join(acct, 'cpuacct.usage')) ?? 0, perCpu, user: (ticks.user ?? 0) * NS_PER_TICK, system: (ticks.system ?? 0) * NS_PER_TICK },
    pids: { current: await num(join(pids, 'pids.current')) ?? 0, limit: await num(join(pids, 'pids.max')) },
  };
}

/** The host's CPU time in nanoseconds (Docker's system_cpu_usage) and its online CPUs, from /proc/stat. */
export async function hostCpu(): Promise<{ systemNs: number; onlineCpus: number }> {
  const t = (await text('/proc/stat')) ?? '';
  const first = /^cpu\s+(.*)$/m.exec(t)?.[1] ?? '';
  // user nice system idle iowait irq softirq steal: guest time is already in user.
  const ticks = first.trim().split(/\s+/).slice(0, 8).reduce((a, v) => a + Number(v), 0);
  return { systemNs: ticks * NS_PER_TICK, onlineCpus: (t.match(/^cpu\d+\s/gm) ?? []).length };
}

export interface NetCounters { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }

/**
 * Interface counters of the network namespace process `pid` is in:
 * /proc/<pid>/net/dev is per namespace, so no sysfs of that namespace is
 * needed. Loopback is left out, as Docker reports the endpoints only.
 */
export async function netCounters(pid: number): Promise<Record<string, NetCounters>> {
  const out: Record<string, NetCounters> = {};
  for (const line of ((await text(`/proc/${pid}/net/dev`)) ?? '').split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = {
      rx_bytes: v[0] ?? 0, rx_packets: v[1] ?? 0, rx_errors: v[2] ?? 0, rx_dropped: v[3] ?? 0,
      tx_bytes: v[8] ?? 0, tx_packets: v[9] ?? 0, tx_errors: v[10] ?? 0, tx_dropped: v[11] ?? 0,
    };
  }
  return out;
}
