// Failures after validation: the kernel refuses a step of a network create
// or of a connect. Whatever the operation had done is undone (bridge and its
// addresses, veth, firewall elements, DNS names, store records), the next
// operation gets the same subnet or works, and doctor sees kernel objects
// that no record owns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox, runSandbox } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('undo', privilegedSkipReason());

describe(`undo after a failure${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  // Live bridges: one a removed network left to the reaper (down, in its
  // device group) may go at any moment, so it is not counted.
  const bridges = async (): Promise<{ ifname: string; addrs: string[] }[]> => {
    const list = JSON.parse((await d.ns.sh('ip -j addr show type bridge')).stdout) as { ifname: string; group?: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    return list.filter((l) => (l.group ?? 'default') === 'default')
      .map((l) => ({ ifname: l.ifname, addrs: l.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`) }));
  };

  test('network create: the kernel refuses the IPv6 gateway; the bridge and its IPv4 address go, the subnet is given out again', async () => {
    const before0 = await bridges();
    // New links in the daemon's namespace get IPv6 disabled: the bridge is
    // created and gets its IPv4 gateway, then the IPv6 one is refused.
    await d.ns.sh('sysctl -qw net.ipv6.conf.default.disable_ipv6=1');
    try {
      await assert.rejects(d.client.networkCreate({ Name: 'dual', EnableIPv6: true }), (e: Error) => !/^invalid/.test(e.message));
    } finally {
      await d.ns.sh('sysctl -qw net.ipv6.conf.default.disable_ipv6=0');
    }
    assert.deepEqual(await bridges(), before0, 'no bridge and no address left behind');
    assert.ok(!(await d.client.networkList()).some((n) => n.Name === 'dual'), 'no record');
    // The subnet the failed create had chosen is free again: the next
    // network gets it, and exactly one bridge holds its gateway.
    await d.client.networkCreate({ Name: 'next' });
    const subnet = (await d.client.networkInspect('next')).IPAM.Config?.[0]?.Subnet ?? '';
    assert.equal(subnet, '172.18.0.0/16', 'the first free default subnet');
    const holders = (await bridges()).filter((b) => b.addrs.includes('172.18.0.1/16'));
    assert.equal(holders.length, 1, JSON.stringify(holders));
    await d.client.networkRemove('next');
  });

  test('network create: a bridge name taken by a link of another kind is refused; that link stays', async () => {
    await d.ns.sh('ip link add cnmt-notbr type veth peer name cnmt-notbr-p');
    try {
      const before0 = await bridges();
      await assert.rejects(
        d.client.networkCreate({ Name: 'clash', Options: { 'com.docker.network.bridge.name': 'cnmt-notbr' } }),
        /device "cnmt-notbr" exists and is not a bridge/,
      );
      assert.equal((await d.ns.sh('ip -o link show cnmt-notbr', { allowFail: true })).stdout.includes('cnmt-notbr'), true, 'the veth is untouched');
      assert.deepEqual(await bridges(), before0);
      assert.ok(!(await d.client.networkList()).some((n) => n.Name === 'clash'));
    } finally {
      await d.ns.sh('ip link del cnmt-notbr', { allowFail: true });
    }
  });

  test('connect: the kernel refuses the veth; no firewall element, DNS name or attachment is left, and the next connect works', async () => {
    await d.client.networkCreate({ Name: 'app', IPAM: { Config: [{ Subnet: '10.66.0.0/24' }] } });
    await runSandbox(d, 'box');
    await runSandbox(d, 'peer', { network: 'app' });
    const ruleset = async () => (await d.ns.sh('nft -s list ruleset')).stdout;
    const links = async () => (await d.ns.sh('ip -o link show | cut -d: -f2 | sort')).stdout;
    const nft0 = await ruleset();
    const links0 = await links();
    // The sandbox's second interface will be eth1: a link of that name
    // inside the sandbox makes the kernel refuse the veth peer, after the
    // firewall and the DNS have been told about the endpoint.
    assert.equal((await inSandbox(d, 'box', 'ip link add eth1 type bridge')).code, 0);
    await assert.rejects(d.client.networkConnect('app', 'box', { Aliases: ['boxalias'] }));
    assert.equal(await ruleset(), nft0, 'no firewall element left');
    assert.equal(await links(), links0, 'no veth left');
    const info = await d.client.containerInspect('box');
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ['bridge'], 'no stale attachment');
    assert.deepEqual(Object.keys((await d.client.networkInspect('app')).Containers ?? {}).length, 1, 'only peer is on app');
    assert.notEqual((await inSandbox(d, 'peer', 'getent hosts boxalias')).code, 0, 'the alias is not served');
    // Without the obstacle the same connect works.
    await inSandbox(d, 'box', 'ip link del eth1');
    await d.client.networkConnect('app', 'box', { Aliases: ['boxalias'] });
    const ip = (await d.client.containerInspect('box')).NetworkSettings.Networks.app?.IPAddress ?? '';
    assert.match(ip, /^10\.66\.0\.\d+$/);
    assert.equal((await inSandbox(d, 'peer', 'getent hosts boxalias')).stdout.split(/\s+/)[0], ip);
    assert.equal((await inSandbox(d, 'peer', `ping -c 1 -W 2 ${ip}`)).code, 0);
  });

  test('doctor reports a stray bridge, a stray veth cnm made and a stray namespace file', async () => {
    const healthy = await d.cli(['doctor']);
    assert.match(healthy.stdout, /kernel:\s+ok/);
    await d.ns.sh('ip link add br-0123456789ab type bridge');
    // A veth carrying this daemon's mark, as one left by a lost record would.
    const owner = readFileSync(join(d.dir, 'data', 'host-id'), 'utf8').trim().slice(0, 12);
    await d.ns.sh(`ip link add vethstray0 type veth peer name vethstray1 && ip link set vethstray0 alias cnm:${owner}:000000000000 master cnm0`);
    mkdirSync(join(d.dir, 'run', 'netns'), { recursive: true });
    writeFileSync(join(d.dir, 'run', 'netns', 'stray0000000'), '');
    try {
      const r = await d.cli(['doctor'], { allowFail: true });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /bridge br-0123456789ab belongs to no network/);
      assert.match(r.stdout, /link vethstray0 made by cnm belongs to no network or endpoint/);
      assert.match(r.stdout, /namespace .*\/netns\/stray0000000 belongs to no sandbox/);
    } finally {
      await d.ns.sh('ip link del br-0123456789ab; ip link del vethstray0', { allowFail: true });
    }
  });
});
