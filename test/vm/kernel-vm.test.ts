// Kernel features this machine's kernel lacks (ipvlan), tested for real under
// Debian's stock kernel in a qemu VM (../shared/vm/kernel-vm.sh): the VM
// boots, mounts this machine's filesystem read-only and runs the privileged
// tests named here. One boot for the whole group (~25 s).
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

test(`ipvlan links under Debian's stock kernel in a VM${skip ? ` (skipped: ${skip})` : ''}`, { skip, timeout: 15 * 60_000 }, () => {
  const node = join(ROOT, 'node_modules', '.bin', 'node');
  const r = spawnSync('bash', [VM, `${node} --test --test-reporter=spec --test-name-pattern=ipvlan test/priv/netlink-links.test.ts`], {
    cwd: ROOT, encoding: 'utf8', timeout: 14 * 60_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(out, /ℹ pass 1\b/, out);
  assert.match(out, /ℹ skipped 0\b/, `the test ran instead of skipping: ${out}`);
});
