// docker top and stats read a sandbox's cgroup: on a v1 or hybrid host one
// directory per controller, on a pure v2 host one directory. Both layouts,
// as fake trees of the kernel's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupPids, cgroupStats } from '../../src/runtime/cgroups.ts';

const ID = 'a'.repeat(64);

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cnm-cgroup-'));
  for (const [p, v] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), v);
  }
  return root;
}

test('cgroup v1 (and hybrid): memory, cpuacct and pids controllers each at /cnm/<id>', async () => {
  const root = tree({
    [`pids/cnm/${ID}/cgroup.procs`]: '101\n102\n',
    [`pids/cnm/${ID}/pids.current`]: '2\n',
    [`pids/cnm/${ID}/pids.max`]: 'max\n',
    [`memory/cnm/${ID}/memory.usage_in_bytes`]: '1048576\n',
    [`memory/cnm/${ID}/memory.max_usage_in_bytes`]: '2097152\n',
    [`memory/cnm/${ID}/memory.limit_in_bytes`]: '67108864\n',
    [`memory/cnm/${ID}/memory.stat`]: 'cache 4096\ntotal_inactive_file 8192\n',
    [`cpuacct/cnm/${ID}/cpuacct.usage`]: '5000000\n',
    [`cpuacct/cnm/${ID}/cpuacct.usage_percpu`]: '3000000 2000000 \n',
    [`cpuacct/cnm/${ID}/cpuacct.stat`]: 'user 2\nsystem 1\n',
  });
  try {
    assert.deepEqual(await cgroupPids(ID, root), [101, 102]);
    assert.deepEqual(await cgroupStats(ID, root), {
      memory: { usage: 1048576, maxUsage: 2097152, limit: 67108864, stats: { cache: 4096, total_inactive_file: 8192 } },
      cpu: { total: 5000000, perCpu: [3000000, 2000000], user: 20_000_000, system: 10_000_000 },
      pids: { current: 2, limit: null },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cgroup v2: one directory; usec counters become nanoseconds, "max" is no limit', async () => {
  const root = tree({
    'cgroup.controllers': 'cpu memory pids\n',
    [`cnm/${ID}/cgroup.procs`]: '7\n',
    [`cnm/${ID}/memory.current`]: '4096\n',
    [`cnm/${ID}/memory.max`]: 'max\n',
    [`cnm/${ID}/memory.stat`]: 'anon 4096\ninactive_file 0\n',
    [`cnm/${ID}/cpu.stat`]: 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n',
    [`cnm/${ID}/pids.current`]: '1\n',
    [`cnm/${ID}/pids.max`]: '100\n',
  });
  try {
    assert.deepEqual(await cgroupPids(ID, root), [7]);
    assert.deepEqual(await cgroupStats(ID, root), {
      memory: { usage: 4096, maxUsage: 0, limit: null, stats: { anon: 4096, inactive_file: 0 } },
      cpu: { total: 1_500_000, perCpu: [], user: 1_000_000, system: 500_000 },
      pids: { current: 1, limit: 100 },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
