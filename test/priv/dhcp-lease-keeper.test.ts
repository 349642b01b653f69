// The lease keeper against dnsmasq: it renews at T1 (unicast), rebinds at
// T2 (broadcast) when the granting server is out of reach, and takes the
// address off the interface when the lease runs out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acquire } from '../../src/dhcp/client.ts';
import { LeaseKeeper } from '../../src/dhcp/lease-keeper.ts';
import { clientIdFor, leaseCidr } from '../../src/dhcp/messages.ts';
import type { ClientIdentity, Lease } from '../../src/dhcp/messages.ts';
import { Netns } from '../../src/netlink/index.ts';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { DhcpLan, LAN_GATEWAY, dnsmasqSkipReason, macvlanSandbox } from '../helpers/dhcp-lan.ts';

const skip = skipUnlessCI('dhcp-lease-keeper', privilegedSkipReason() ?? dnsmasqSkipReason());

describe('DHCP lease keeper against dnsmasq', { skip }, () => {
  let lan: DhcpLan;
  let host: TestNetns;
  let sbx: TestNetns;
  let ns: Netns;
  let who: ClientIdentity;
  const seen: { id: string; lease: Lease | null }[] = [];
  const logs: string[] = [];
  let keeper: LeaseKeeper;

  before(async () => {
    lan = await DhcpLan.create();
    host = await TestNetns.create('dhkh');
    sbx = await TestNetns.create('dhks');
    await lan.plug(host);
    who = { mac: await macvlanSandbox(host, sbx), clientId: clientIdFor('k'.repeat(64), 'n'.repeat(64)) };
    ns = await Netns.open(sbx.path);
    await lan.start({ t1: 2, t2: 4 });
    keeper = new LeaseKeeper({
      openNs: (p) => Netns.open(p),
      onLease: (id, lease) => { seen.push({ id, lease }); },
      log: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
    });
  });
  after(async () => {
    keeper?.close();
    ns?.close();
    await lan?.destroy();
    await sbx?.destroy();
    await host?.destroy();
  });

  const addrs = async (): Promise<string[]> => (await ns.rtnl.addrList('eth0')).filter((a) => a.family === 4).map((a) => a.cidr);
  const waitFor = async (what: string, ok: () => boolean, ms: number): Promise<void> => {
    for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; logs: ${logs.join(' | ')}`);
    }
  };

  test('at T1 the lease is renewed with the server; the address stays', async () => {
    const lease = await acquire(ns, 'eth0', who);
    await ns.rtnl.addrAdd('eth0', leaseCidr(lease));
    const acksBefore = lan.log.match(/DHCPACK/g)?.length ?? 0;
    keeper.track({ endpointId: 'ep1', nsPath: sbx.path, ifName: 'eth0', who, lease });
    await waitFor('a renewal', () => seen.some((s) => s.id === 'ep1' && s.lease), 8000);
    const renewed = seen.find((s) => s.id === 'ep1')!.lease!;
    assert.equal(renewed.address, lease.address);
    assert.ok(renewed.obtainedAt >= lease.obtainedAt + 2000, 'renewed at T1, not before');
    assert.ok((lan.log.match(/DHCPACK/g)?.length ?? 0) > acksBefore, 'dnsmasq acknowledged a renewal');
    assert.deepEqual(await addrs(), [leaseCidr(lease)]);
    keeper.forget('ep1');
    seen.length = 0;
  });

  test('when the granting server cannot be reached, it rebinds by broadcast at T2', async () => {
    const lease = keeper.leaseOf('ep1') ?? await acquire(ns, 'eth0', who);
    // A server id nobody answers at: the unicast renewals go unanswered.
    const lost = { ...lease, serverId: '10.77.0.99', t1: 1, t2: 3, obtainedAt: Date.now() };
    keeper.track({ endpointId: 'ep2', nsPath: sbx.path, ifName: 'eth0', who, lease: lost });
    await waitFor('a rebinding', () => seen.some((s) => s.id === 'ep2' && s.lease), 10_000);
    const rebound = seen.find((s) => s.id === 'ep2')!.lease!;
    assert.equal(rebound.address, lease.address);
    assert.equal(rebound.serverId, LAN_GATEWAY, 'the answer came from the real server');
    assert.ok(rebound.obtainedAt >= lost.obtainedAt + 3000, 'only after T2');
    keeper.forget('ep2');
    seen.length = 0;
  });

  test('with the server gone, the address is removed when the lease expires', async () => {
    const lease = await acquire(ns, 'eth0', who);
    await lan.stop();
    const short = { ...lease, leaseTime: 4, t1: 1, t2: 2, obtainedAt: Date.now() };
    keeper.track({ endpointId: 'ep3', nsPath: sbx.path, ifName: 'eth0', who, lease: short });
    await waitFor('the expiry', () => seen.some((s) => s.id === 'ep3'), 10_000);
    assert.equal(seen.find((s) => s.id === 'ep3')!.lease, null);
    assert.deepEqual(await addrs(), [], 'the address is off the interface');
    assert.match(logs.join('\n'), /the lease expired: 10\.77\.0\.\d+\/24 removed from eth0/);
    assert.equal(keeper.size, 0);
  });
});
