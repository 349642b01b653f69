// What this machine lacks, tested for real under Debian's stock kernel in a
// qemu VM (../shared/vm/kernel-vm.sh): ipvlan, and a pure cgroup v2
// hierarchy (crun 1.8 refuses this machine's hybrid one). The VM boots,
// mounts this machine's filesystem read-only and runs the privileged tests
// named here. One boot for the whole group (~35 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { skipUnlessCI } from '../helpers/ci.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const VM = resolve(ROOT, '..', 'shared', 'vm', 'kernel-vm.sh');
// With CI=true each of these is a failure (CNM_SKIP_VM=1 too): the VM test
// is the only one that proves ipvlan for real.
const skip = skipUnlessCI('kernel-vm', process.getuid?.() !== 0 ? 'needs root'
  : !existsSync(VM) ? `needs ${VM} (the shared VM runner)`
  : process.env.CNM_SKIP_VM === '1' ? 'CNM_SKIP_VM=1' : null);

// One boot for the group: each part prints its own summary after a marker.
test(`under Debian's stock kernel in a VM: ipvlan links; runc and crun on cgroup v2${skip ? ` (skipped: ${skip})` : ''}`, { skip, timeout: 15 * 60_000 }, () => {
  const node = join(ROOT, 'node_modules', '.bin', 'node');
  const run = `${node} --test --test-reporter=spec --disable-warning=ExperimentalWarning`;
  const script = [
    `echo @@PART ipvlan; ${run} --test-name-pattern=ipvlan test/priv/netlink-links.test.ts`,
    // A pure cgroup v2 host, where crun 1.8 runs (this machine's hybrid layout it refuses).
    `echo @@PART runtimes; mount -t cgroup2 none /sys/fs/cgroup && ${run} test/priv/runtime.test.ts`,
  ].join('; ');
  const r = spawnSync('bash', [VM, script], { cwd: ROOT, encoding: 'utf8', timeout: 14 * 60_000 });
  const out = `${r.stdout}${r.stderr}`;
  const part = (name: string): string => out.split('@@PART ').find((p) => p.startsWith(name)) ?? '';
  assert.match(part('ipvlan'), /ℹ pass 1\b/, out);
  assert.match(part('ipvlan'), /ℹ skipped 0\b/, `the ipvlan test ran instead of skipping: ${out}`);
  assert.match(part('runtimes'), /ℹ pass 2\b/, out);
  assert.match(part('runtimes'), /ℹ skipped 0\b/, `runc and crun both ran: ${out}`);
  assert.equal(r.status, 0, out);
});
