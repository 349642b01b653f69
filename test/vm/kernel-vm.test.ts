// What this machine lacks, tested for real under Debian's stock kernel in a
// qemu VM (../shared/vm/kernel-vm.sh): ipvlan, 802.1Q and dummy links (and
// the networks built on them), and a pure cgroup v2
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

// The runner's default modules, and nftables with what cnm's ruleset uses
// (the daemon programs its firewall in the VM too).
const MODULES = [
  'virtio_pci 9pnet_virtio 9p ipvlan 8021q dummy macvlan vxlan veth bridge sch_netem',
  'nf_tables nft_chain_nat nft_nat nft_masq nft_redir nft_ct nft_fib_inet nft_fib_ipv4 nft_fib_ipv6 nft_reject_inet',
  'nft_reject_bridge nft_meta_bridge nf_conntrack_bridge br_netfilter nft_limit nft_numgen nft_hash nft_queue',
].join(' ');

// One boot for the group: each part prints its own summary after a marker.
test(`under Debian's stock kernel in a VM: ipvlan, 802.1Q and dummy links and networks; runc and crun on cgroup v2${skip ? ` (skipped: ${skip})` : ''}`, { skip, timeout: 15 * 60_000 }, () => {
  const node = join(ROOT, 'node_modules', '.bin', 'node');
  const run = `${node} --test --test-reporter=spec --disable-warning=ExperimentalWarning`;
  const script = [
    // A pure cgroup v2 host: containers need a cgroup mount, and crun 1.8
    // runs there (this machine's hybrid layout it refuses).
    'mount -t cgroup2 none /sys/fs/cgroup',
    `echo @@PART links; ${run} --test-name-pattern='^(ipvlan|vlan|dummy)' test/priv/netlink-links.test.ts`,
    // ipvlan networks, 802.1Q and dummy parents through the daemon and the docker CLI.
    // Under software emulation a daemon takes tens of seconds to start.
    `echo @@PART networks; CNM_TEST_DAEMON_WAIT_MS=240000 ${run} test/e2e/lan-kernel.test.ts`,
    `echo @@PART runtimes; ${run} test/priv/runtime.test.ts`,
  ].join('; ');
  const r = spawnSync('bash', [VM, script], { cwd: ROOT, encoding: 'utf8', timeout: 14 * 60_000, env: { ...process.env, VM_TIMEOUT: '780', VM_MEM: '1536', VM_MODULES: MODULES } });
  const out = `${r.stdout}${r.stderr}`;
  const part = (name: string): string => out.split('@@PART ').find((p) => p.startsWith(name)) ?? '';
  assert.match(part('links'), /ℹ pass 4\b/, out);
  assert.match(part('links'), /ℹ skipped 0\b/, `the ipvlan, vlan and dummy link tests ran instead of skipping: ${out}`);
  assert.match(part('networks'), /ℹ pass 5\b/, out);
  assert.match(part('networks'), /ℹ skipped 0\b/, `the network tests ran instead of skipping: ${out}`);
  assert.match(part('runtimes'), /ℹ pass 2\b/, out);
  assert.match(part('runtimes'), /ℹ skipped 0\b/, `runc and crun both ran: ${out}`);
  assert.equal(r.status, 0, out);
});
