// The DHCP client against Debian's dnsmasq on a LAN of namespaces: a
// sandbox holds eth0, a macvlan child of the host's veth into the LAN
// bridge, as the macvlan driver makes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acquire, extend, releaseLease } from '../../src/dhcp/client.ts';
import { clientIdFor } from '../../src/dhcp/messages.ts';
import type { ClientIdentity } from '../../src/dhcp/messages.ts';
import { Netns } from '../../src/netlink/index.ts';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { DhcpLan, LAN_DNS, LAN_GATEWAY, dnsmasqSkipReason, macvlanSandbox } from '../helpers/dhcp-lan.ts';

const skip = skipUnlessCI('dhcp-client', privilegedSkipReason() ?? dnsmasqSkipReason());
const inRange = (ip: string): boolean => /^10\.77\.0\.(1[6-9]\d|200)$/.test(ip);
const hexId = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

describe('DHCP client against dnsmasq', { skip }, () => {
  let lan: DhcpLan;
  let host: TestNetns;
  let sbx: TestNetns;
  let ns: Netns;
  let who: ClientIdentity;

  before(async () => {
    lan = await DhcpLan.create();
    host = await TestNetns.create('dhcph');
    sbx = await TestNetns.create('dhcps');
    await lan.plug(host);
    who = { mac: await macvlanSandbox(host, sbx), clientId: clientIdFor('a'.repeat(64), 'b'.repeat(64)) };
    ns = await Netns.open(sbx.path);
    await lan.start({ t1: 3, t2: 5 });
  });
  after(async () => {
    ns?.close();
    await lan?.destroy();
    await sbx?.destroy();
    await host?.destroy();
  });

  test('DORA gives an address in the range with the router, DNS and timers the server sent', async () => {
    const lease = await acquire(ns, 'eth0', who);
    assert.ok(inRange(lease.address), lease.address);
    assert.equal(lease.prefix, 24);
    assert.equal(lease.gateway, LAN_GATEWAY);
    assert.deepEqual(lease.dns, [LAN_DNS]);
    assert.equal(lease.serverId, LAN_GATEWAY);
    assert.equal(lease.leaseTime, 120);
    assert.equal(lease.t1, 3);
    assert.equal(lease.t2, 5);
    const held = lan.leases().find((l) => l.ip === lease.address);
    assert.ok(held, `dnsmasq records the lease: ${JSON.stringify(lan.leases())}`);
    assert.equal(held.mac, who.mac);
    assert.equal(held.clientId, hexId(who.clientId));
  });

  test('the same client id gets the same address again; renew (unicast) and rebind (broadcast) extend it', async () => {
    const first = await acquire(ns, 'eth0', who);
    const again = await acquire(ns, 'eth0', who);
    assert.equal(again.address, first.address);
    await ns.rtnl.addrAdd('eth0', `${first.address}/${first.prefix}`);
    try {
      const before = lan.leases().find((l) => l.ip === first.address)!.expiry;
      await new Promise((r) => setTimeout(r, 1100)); // the lease file stores whole seconds
      const renewed = await extend(ns, 'eth0', who, first, 'renew');
      assert.ok(renewed && renewed !== 'nak', 'renew answered with an ACK');
      assert.equal(renewed.address, first.address);
      assert.ok(lan.leases().find((l) => l.ip === first.address)!.expiry > before, 'dnsmasq extended the lease');
      const rebound = await extend(ns, 'eth0', who, renewed, 'rebind');
      assert.ok(rebound && rebound !== 'nak');
      assert.equal(rebound.address, first.address);
      assert.match(lan.log, /DHCPREQUEST\(br0\) 10\.77\.0\.\d+ /, 'dnsmasq logged the renewal');
    } finally {
      await ns.rtnl.addrDel('eth0', `${first.address}/${first.prefix}`).catch(() => undefined);
    }
  });

  test('a client another id asks for gets another address', async () => {
    const mine = await acquire(ns, 'eth0', who);
    const other = await acquire(ns, 'eth0', { ...who, clientId: clientIdFor('c'.repeat(64), 'b'.repeat(64)) });
    assert.notEqual(other.address, mine.address);
    await ns.rtnl.addrAdd('eth0', `${other.address}/24`);
    try {
      assert.equal(await releaseLease(ns, 'eth0', { ...who, clientId: clientIdFor('c'.repeat(64), 'b'.repeat(64)) }, other), true);
    } finally {
      await ns.rtnl.addrDel('eth0', `${other.address}/24`).catch(() => undefined);
    }
  });

  test('RELEASE removes the lease from the server', async () => {
    const lease = await acquire(ns, 'eth0', who);
    await ns.rtnl.addrAdd('eth0', `${lease.address}/24`);
    try {
      assert.equal(await releaseLease(ns, 'eth0', who, lease), true);
      for (let i = 0; i < 50 && lan.leases().some((l) => l.ip === lease.address); i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(lan.leases().filter((l) => l.ip === lease.address), [], 'the lease is gone from dnsmasq');
    } finally {
      await ns.rtnl.addrDel('eth0', `${lease.address}/24`).catch(() => undefined);
    }
  });

  test('with the server gone, acquire fails within its timeout with a clear error', async () => {
    await lan.stop();
    const t0 = Date.now();
    await assert.rejects(acquire(ns, 'eth0', who, { timeoutMs: 3000 }), (e: Error) => {
      assert.match(e.message, /DHCP: no lease for eth0 within 3 s: no DHCP server answered/);
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 2900 && took < 6000, `gave up after ${took} ms`);
  });
});
