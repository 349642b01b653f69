// docker stats: one sample of a sandbox's cgroup and network counters in
// Docker's StatsResponse shape (moby api/types/container/stats.go). The
// CLI's table takes CPU % from the difference between cpu_stats and
// precpu_stats against system_cpu_usage, memory as usage minus the
// inactive file cache, against limit.
import { totalmem } from 'node:os';
import { cgroupStats, hostCpu, netCounters } from '../runtime/cgroups.ts';
import type { NetCounters } from '../runtime/cgroups.ts';
import type { SandboxRecord } from '../model/records.ts';
import { rfc3339Nano } from '../model/ids.ts';

interface CpuStatsWire {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface StatsWire {
  name: string;
  id: string;
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, null>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStatsWire;
  precpu_stats: CpuStatsWire;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; limit?: number };
  networks?: Record<string, NetCounters>;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const noCpu = (): CpuStatsWire => ({ cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
const blkio = (): Record<string, null> => ({
  io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
  io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
});

/** What Docker answers for a sandbox that is not running: names and zeros. */
export function emptyStats(sbx: SandboxRecord): StatsWire {
  return {
    name: `/${sbx.name}`, id: sbx.id, read: ZERO_TIME, preread: ZERO_TIME, pids_stats: {}, blkio_stats: blkio(), num_procs: 0,
    storage_stats: {}, cpu_stats: noCpu(), precpu_stats: noCpu(), memory_stats: {},
  };
}

/** A sample; `prev` (the previous sample) becomes precpu_stats. */
export async function sampleStats(sbx: SandboxRecord, prev: StatsWire | null): Promise<StatsWire> {
  const [cg, host] = await Promise.all([cgroupStats(sbx.id), hostCpu()]);
  // No limit set: Docker shows the host's memory (moby daemon/stats collector).
  const limit = Math.min(cg.memory.limit ?? Infinity, totalmem());
  const out: StatsWire = {
    ...emptyStats(sbx),
    read: rfc3339Nano(),
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: { current: cg.pids.current, ...(cg.pids.limit !== null ? { limit: cg.pids.limit } : {}) },
    cpu_stats: {
      cpu_usage: { total_usage: cg.cpu.total, ...(cg.cpu.perCpu.length ? { percpu_usage: cg.cpu.perCpu } : {}), usage_in_kernelmode: cg.cpu.system, usage_in_usermode: cg.cpu.user },
      system_cpu_usage: host.systemNs,
      online_cpus: host.onlineCpus,
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    precpu_stats: prev?.cpu_stats ?? noCpu(),
    memory_stats: { usage: cg.memory.usage, max_usage: cg.memory.maxUsage, stats: cg.memory.stats, limit },
  };
  // A host-network sandbox has the host's interfaces: Docker reports none.
  if (sbx.networkMode !== 'host' && sbx.pid) out.networks = await netCounters(sbx.pid);
  return out;
}
