// ipvlan networks (l2, l3, l3s), 802.1Q VLAN parents and the dummy parent of
// a network without one. This machine's kernel lacks ipvlan, 8021q and
// dummy, so the suite skips here by name; the VM suite
// (test/vm/kernel-vm.test.ts) runs it under Debian's stock kernel, in CI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { makeLan } from '../helpers/lan.ts';
import type { Lan } from '../helpers/lan.ts';
import { canPing, ipOf, runSandbox } from '../helpers/sandbox.ts';

/** Whether this kernel makes ipvlan, vlan and dummy links (probed in a throwaway namespace). */
function kernelLacks(): string | null {
  if (privilegedSkipReason()) return null;
  const ns = `cnmt-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    for (const [kind, args] of [['dummy', ['d0', 'type', 'dummy']], ['802.1Q vlan', ['link', 'd0', 'name', 'd0.5', 'type', 'vlan', 'id', '5']], ['ipvlan', ['link', 'd0', 'name', 'iv0', 'type', 'ipvlan']]] as const) {
      try {
        execFileSync('ip', ['-n', ns, 'link', 'add', ...args], { stdio: 'ignore' });
      } catch {
        return `this kernel has no ${kind} links (the VM suite runs this)`;
      }
    }
    return null;
  } finally {
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* never made */ }
  }
}

const skip = skipUnlessCI('lan-kernel', privilegedSkipReason()) || kernelLacks() || false;

async function links(d: DaemonHandle): Promise<Array<{ ifname: string; ifalias?: string }>> {
  return JSON.parse((await d.ns.sh('ip -j link show')).stdout) as Array<{ ifname: string; ifalias?: string }>;
}
/** A command in the container's network namespace only, with this machine's tools (iproute2's `ip -d`). */
async function inNet(d: DaemonHandle, name: string, cmd: string): Promise<string> {
  const pid = (await d.client.containerInspect(name)).State.Pid;
  return execFileSync('nsenter', ['-t', String(pid), '-n', 'sh', '-c', `${cmd} 2>&1`], { encoding: 'utf8' });
}
const hasLink = async (d: DaemonHandle, name: string): Promise<boolean> => (await links(d)).some((l) => l.ifname === name);

describe(`ipvlan, 802.1Q and dummy parents${skip ? ` (skipped: ${skip})` : ''}`, { skip }, () => {
  let d: DaemonHandle;
  let lan: Lan;
  before(async () => {
    d = await startTestDaemon();
    lan = await makeLan(d, { prefix: '192.168.78' });
  });
  after(async () => {
    await lan?.destroy();
    await d?.destroy();
  });
  const cleanup = async (containers: string[], networks: string[]): Promise<void> => {
    if (containers.length) await d.docker(['rm', '-f', ...containers], { allowFail: true });
    for (const n of networks) await d.docker(['network', 'rm', n], { allowFail: true });
    await lan.host.sh('ip neigh flush all');
  };

  test('ipvlan l2: the LAN, the router and each other; the default route via the gateway; the parent\'s MAC', async (t) => {
    t.after(() => cleanup(['iva', 'ivb'], ['iv-l2']));
    await d.docker(['network', 'create', '-d', 'ipvlan', '--subnet', '192.168.78.0/24', '--gateway', '192.168.78.1',
      '--ip-range', '192.168.78.128/25', '-o', `parent=${lan.parent}`, 'iv-l2']);
    const inspect = JSON.parse((await d.docker(['network', 'inspect', 'iv-l2'])).stdout)[0];
    assert.equal(inspect.Driver, 'ipvlan');
    assert.deepEqual(inspect.Options, { parent: lan.parent });
    await runSandbox(d, 'iva', { network: 'iv-l2' });
    await runSandbox(d, 'ivb', { network: 'iv-l2' });
    const b = await ipOf(d, 'ivb', 'iv-l2');
    assert.match(await inNet(d, 'iva', 'ip -d link show eth0'), /ipvlan\s+mode l2 bridge/);
    const parentMac = (await links(d)).find((l) => l.ifname === lan.parent) as unknown as { address: string };
    assert.match(await inNet(d, 'iva', 'ip -br link show eth0'), new RegExp(parentMac.address), 'children share the parent\'s MAC');
    assert.ok(await canPing(d, 'iva', lan.hostIp), 'LAN host');
    assert.ok(await canPing(d, 'iva', '192.168.78.1'), 'router');
    assert.ok(await canPing(d, 'iva', b), 'each other');
    assert.match(await inNet(d, 'iva', 'ip route show exact 0.0.0.0/0'), /default via 192\.168\.78\.1 dev eth0/);
  });

  // l3 with the private flag: slaves may not talk to each other; l3s with
  // the default (bridge) flag: they may.
  for (const [mode, flag] of [['l3', 'private'], ['l3s', 'bridge']] as const) {
    test(`ipvlan ${mode} (${flag}): no gateway, default routes straight out of the interface; containers ${flag === 'private' ? 'kept apart' : 'reach each other'}`, async (t) => {
      t.after(() => cleanup([`${mode}a`, `${mode}b`], [`iv-${mode}`]));
      await d.docker(['network', 'create', '-d', 'ipvlan', '--subnet', '10.90.0.0/24', '-o', `parent=${lan.parent}`, '-o', `ipvlan_mode=${mode}`, '-o', `ipvlan_flag=${flag}`, `iv-${mode}`]);
      await runSandbox(d, `${mode}a`, { network: `iv-${mode}` });
      await runSandbox(d, `${mode}b`, { network: `iv-${mode}` });
      assert.match(await inNet(d, `${mode}a`, 'ip -d link show eth0'), new RegExp(`ipvlan\\s+mode ${mode} ${flag}`));
      assert.match(await inNet(d, `${mode}a`, 'ip route show exact 0.0.0.0/0'), /^default dev eth0/m);
      const info = (await d.client.containerInspect(`${mode}a`)).NetworkSettings.Networks[`iv-${mode}`];
      assert.equal(info?.Gateway, '');
      assert.equal(await canPing(d, `${mode}a`, await ipOf(d, `${mode}b`, `iv-${mode}`)), flag !== 'private');
    });
  }

  test('802.1Q parent: made when absent, shared, made again after a restart, deleted with the last network; the user\'s VLAN stays', async (t) => {
    t.after(() => cleanup(['vl'], ['vlan-a', 'vlan-b', 'vlan-user']));
    await lan.host.sh('ip link add link eth0 name eth0.10 type vlan id 10 && ip addr add 192.168.79.100/24 dev eth0.10 && ip link set eth0.10 up');
    await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '192.168.79.0/24', '--ip-range', '192.168.79.128/25', '-o', `parent=${lan.parent}.10`, 'vlan-a']);
    const made = (await links(d)).find((l) => l.ifname === `${lan.parent}.10`);
    assert.ok(made, 'the VLAN link was made');
    assert.match(made.ifalias ?? '', /^cnm:/, 'and marked as cnm\'s');
    assert.match((await d.ns.sh(`ip -d link show ${lan.parent}.10`)).stdout, /vlan protocol 802\.1Q id 10/);
    await runSandbox(d, 'vl', { network: 'vlan-a' });
    assert.ok(await canPing(d, 'vl', '192.168.79.100'), 'tagged traffic reaches the LAN host on VLAN 10');
    await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '192.168.80.0/24', '-o', `parent=${lan.parent}.10`, 'vlan-b']);
    // Lost while the daemon is down: made again at restart.
    await d.stop('SIGKILL');
    await d.ns.sh(`ip link del ${lan.parent}.10`);
    await d.restart();
    assert.ok(await hasLink(d, `${lan.parent}.10`), 'made again at restart');
    assert.ok(await canPing(d, 'vl', '192.168.79.100'), 'the container talks again');
    await d.docker(['rm', '-f', 'vl']);
    await d.docker(['network', 'rm', 'vlan-a']);
    assert.ok(await hasLink(d, `${lan.parent}.10`), 'kept while vlan-b uses it');
    await d.docker(['network', 'rm', 'vlan-b']);
    assert.ok(!(await hasLink(d, `${lan.parent}.10`)), 'deleted with the last network');
    // A VLAN link the user made is theirs.
    await d.ns.sh(`ip link add link ${lan.parent} name ${lan.parent}.20 type vlan id 20 && ip link set ${lan.parent}.20 up`);
    await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '192.168.81.0/24', '-o', `parent=${lan.parent}.20`, 'vlan-user']);
    await d.docker(['network', 'rm', 'vlan-user']);
    assert.ok(await hasLink(d, `${lan.parent}.20`), 'the user\'s VLAN link stays');
    await d.ns.sh(`ip link del ${lan.parent}.20`);
  });

  test('no parent: a dummy link (dm-/di-<id>), the network is internal, containers talk only to each other', async (t) => {
    t.after(() => cleanup(['da', 'db'], ['mv-dummy', 'iv-dummy']));
    await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.91.0.0/24', 'mv-dummy']);
    const inspect = JSON.parse((await d.docker(['network', 'inspect', 'mv-dummy'])).stdout)[0];
    assert.equal(inspect.Internal, true);
    const dm = `dm-${(inspect.Id as string).slice(0, 12)}`;
    assert.ok(await hasLink(d, dm));
    await runSandbox(d, 'da', { network: 'mv-dummy' });
    await runSandbox(d, 'db', { network: 'mv-dummy' });
    assert.ok(await canPing(d, 'da', await ipOf(d, 'db', 'mv-dummy')));
    assert.equal((await inNet(d, 'da', 'ip route show exact 0.0.0.0/0')).trim(), '', 'no default route');
    await d.docker(['network', 'create', '-d', 'ipvlan', '--subnet', '10.92.0.0/24', 'iv-dummy']);
    const iv = (await d.docker(['network', 'inspect', '-f', '{{.Id}}', 'iv-dummy'])).stdout.trim();
    assert.ok(await hasLink(d, `di-${iv.slice(0, 12)}`));
    await d.docker(['rm', '-f', 'da', 'db']);
    await d.docker(['network', 'rm', 'mv-dummy', 'iv-dummy']);
    assert.ok(!(await hasLink(d, dm)) && !(await hasLink(d, `di-${iv.slice(0, 12)}`)), 'dummies go with their networks');
  });
});
