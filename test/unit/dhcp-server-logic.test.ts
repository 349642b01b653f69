// The DHCP server's decisions (RFC 2131 §4.3) on a lease table over a real
// IPAM allocator: what is offered, acknowledged, refused, freed and kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseTable, destination } from '../../src/dhcp/server-logic.ts';
import type { Outcome } from '../../src/dhcp/server-logic.ts';
import { BOOTREQUEST, FLAG_BROADCAST, MSG, OPT, messageType, newMessage, optByte, optIp, optText, readIp, readU32 } from '../../src/dhcp/wire.ts';
import type { DhcpMessage } from '../../src/dhcp/wire.ts';
import { allocatorPool, sweepLeases } from '../../src/daemon/dhcp-hooks.ts';
import { openStore } from '../../src/store/index.ts';
import { SubnetAllocator } from '../../src/ipam/index.ts';
import { rng } from '../helpers/rng.ts';

const SID = '10.9.0.1';
function world(o: { range?: string; lease?: number } = {}): { t: LeaseTable; a: SubnetAllocator } {
  const a = new SubnetAllocator({ subnet: '10.9.0.0/24', gateway: SID, ...(o.range ? { ipRange: o.range } : {}), auxAddresses: { printer: '10.9.0.3' } });
  const t = new LeaseTable({ serverId: SID, mask: '255.255.255.0', router: SID, dns: [SID], leaseSecs: o.lease ?? 3600, offerHoldMs: 1000, declineHoldMs: 5000 },
    allocatorPool(a, '10.9.0.0/24', o.range));
  return { t, a };
}
function msg(type: number, mac: string, opts: Record<number, Buffer> = {}, fields: Partial<DhcpMessage> = {}): DhcpMessage {
  const m = newMessage(BOOTREQUEST, { xid: 1, chaddr: mac, ...fields });
  m.options.set(OPT.MESSAGE_TYPE, optByte(type));
  for (const [k, v] of Object.entries(opts)) m.options.set(Number(k), v);
  return m;
}
const type = (o: Outcome): number | null => (o.reply ? messageType(o.reply.msg) : null);
const MAC1 = '02:00:00:00:00:01';
const MAC2 = '02:00:00:00:00:02';

function dora(t: LeaseTable, mac: string, now = 0, want?: string): string {
  const offer = t.handle(msg(MSG.DISCOVER, mac, want ? { [OPT.REQUESTED_IP]: optIp(want) } : {}), now);
  assert.equal(type(offer), MSG.OFFER);
  const ip = offer.reply!.msg.yiaddr;
  const ack = t.handle(msg(MSG.REQUEST, mac, { [OPT.SERVER_ID]: optIp(SID), [OPT.REQUESTED_IP]: optIp(ip) }), now);
  assert.equal(type(ack), MSG.ACK);
  assert.deepEqual(ack.changes.map((c) => ('bound' in c ? c.bound.ip : null)), [ip]);
  return ip;
}

test('DORA: the offer and the ACK carry the address, mask, router, DNS, lease, T1, T2 and server id; gateway and aux are never given', () => {
  const { t } = world();
  const offer = t.handle(msg(MSG.DISCOVER, MAC1), 0);
  const m = offer.reply!.msg;
  assert.equal(m.yiaddr, '10.9.0.2');
  assert.equal(readIp(m, OPT.SUBNET_MASK), '255.255.255.0');
  assert.equal(readIp(m, OPT.ROUTERS), SID);
  assert.equal(readIp(m, OPT.DNS_SERVERS), SID);
  assert.equal(readIp(m, OPT.SERVER_ID), SID);
  assert.equal(readU32(m, OPT.LEASE_TIME), 3600);
  assert.equal(readU32(m, OPT.RENEWAL_T1), 1800);
  assert.equal(readU32(m, OPT.REBINDING_T2), 3150);
  assert.equal(offer.changes.length, 0, 'an offer is not stored');
  dora(t, MAC1);
  assert.equal(dora(t, MAC2), '10.9.0.4', '.3 is an aux address');
});

test('the previous binding wins over option 50; option 50 is honoured when free and in the range, else the next free', () => {
  const { t, a } = world({ range: '10.9.0.0/25' });
  const ip = dora(t, MAC1);
  const again = t.handle(msg(MSG.DISCOVER, MAC1, { [OPT.REQUESTED_IP]: optIp('10.9.0.50') }), 1);
  assert.equal(again.reply!.msg.yiaddr, ip);
  assert.equal(dora(t, MAC2, 0, '10.9.0.50'), '10.9.0.50');
  a.allocate('10.9.0.60'); // a static endpoint
  assert.notEqual(t.handle(msg(MSG.DISCOVER, '02:00:00:00:00:03', { [OPT.REQUESTED_IP]: optIp('10.9.0.60') }), 0).reply!.msg.yiaddr, '10.9.0.60');
  assert.notEqual(t.handle(msg(MSG.DISCOVER, '02:00:00:00:00:04', { [OPT.REQUESTED_IP]: optIp('10.9.0.200') }), 0).reply!.msg.yiaddr, '10.9.0.200', 'outside the ip-range');
  assert.notEqual(t.handle(msg(MSG.DISCOVER, '02:00:00:00:00:05', { [OPT.REQUESTED_IP]: optIp(SID) }), 0).reply!.msg.yiaddr, SID);
});

test('option 61 identifies the client before chaddr', () => {
  const { t } = world();
  const id = { [OPT.CLIENT_ID]: Buffer.from([0, 9, 9]) };
  const o1 = t.handle(msg(MSG.DISCOVER, MAC1, id), 0);
  const o2 = t.handle(msg(MSG.DISCOVER, MAC2, id), 0);
  assert.equal(o1.reply!.msg.yiaddr, o2.reply!.msg.yiaddr);
});

test('REQUEST: another server chosen drops our offer; a wrong address is NAKed (broadcast)', () => {
  const { t, a } = world();
  const offered = t.handle(msg(MSG.DISCOVER, MAC1), 0).reply!.msg.yiaddr;
  assert.equal(t.handle(msg(MSG.REQUEST, MAC1, { [OPT.SERVER_ID]: optIp('10.9.0.254'), [OPT.REQUESTED_IP]: optIp(offered) }), 0).reply, null);
  assert.equal(a.isUsed(offered), false, 'the offer was given back');
  t.handle(msg(MSG.DISCOVER, MAC1), 0);
  const nak = t.handle(msg(MSG.REQUEST, MAC1, { [OPT.SERVER_ID]: optIp(SID), [OPT.REQUESTED_IP]: optIp('10.9.0.77') }), 0);
  assert.equal(type(nak), MSG.NAK);
  assert.equal(nak.reply!.to.ip, '255.255.255.255');
  assert.equal(nak.reply!.msg.yiaddr, '0.0.0.0');
});

test('INIT-REBOOT: NAK outside the subnet or for another client\'s address, silent with no record, ACK for its own', () => {
  const { t } = world();
  const ip = dora(t, MAC1);
  const reboot = (mac: string, want: string): Outcome => t.handle(msg(MSG.REQUEST, mac, { [OPT.REQUESTED_IP]: optIp(want) }), 10);
  assert.equal(type(reboot(MAC1, ip)), MSG.ACK);
  assert.equal(type(reboot(MAC1, '192.168.1.5')), MSG.NAK);
  assert.equal(type(reboot(MAC2, ip)), MSG.NAK);
  assert.equal(type(reboot(MAC2, '10.9.0.99')), null);
  assert.equal(type(reboot(MAC1, '10.9.0.99')), MSG.NAK, 'known with another address');
});

test('RENEWING extends (unicast to ciaddr); a renewal of an address not ours is NAKed; leases expire and free their address', () => {
  const { t, a } = world({ lease: 10 });
  const ip = dora(t, MAC1, 0);
  const renew = t.handle(msg(MSG.REQUEST, MAC1, {}, { ciaddr: ip }), 8000);
  assert.equal(type(renew), MSG.ACK);
  assert.deepEqual(renew.reply!.to, { ip, port: 68 });
  assert.equal(t.expire(17_000).length, 0, 'extended to 18 s');
  assert.equal(type(t.handle(msg(MSG.REQUEST, MAC2, {}, { ciaddr: ip }), 9000)), MSG.NAK);
  const gone = t.expire(18_000);
  assert.deepEqual(gone.map((c) => ('gone' in c ? c.gone.ip : null)), [ip]);
  assert.equal(a.isUsed(ip), false);
});

test('an unanswered offer lapses and its address returns to the pool', () => {
  const { t, a } = world();
  const ip = t.handle(msg(MSG.DISCOVER, MAC1), 0).reply!.msg.yiaddr;
  assert.equal(a.isUsed(ip), true);
  assert.deepEqual(t.expire(1000), []);
  assert.equal(a.isUsed(ip), false);
});

test('DECLINE keeps the address out of use until its hold ends; RELEASE frees at once', () => {
  const { t, a } = world();
  const ip = dora(t, MAC1);
  const d = t.handle(msg(MSG.DECLINE, MAC1, { [OPT.REQUESTED_IP]: optIp(ip), [OPT.SERVER_ID]: optIp(SID) }), 0);
  assert.equal(d.reply, null);
  assert.equal(d.changes.length, 1);
  assert.notEqual(dora(t, MAC2, 0, ip), ip);
  t.expire(5000);
  assert.equal(a.isUsed(ip), false, 'declined address back after the hold');
  const ip2 = dora(t, '02:00:00:00:00:07');
  const r = t.handle(msg(MSG.RELEASE, '02:00:00:00:00:07', { [OPT.SERVER_ID]: optIp(SID) }, { ciaddr: ip2 }), 0);
  assert.equal(r.changes.length, 1);
  assert.equal(a.isUsed(ip2), false);
});

test('INFORM: an ACK with the options but no address and no lease time', () => {
  const { t } = world();
  const r = t.handle(msg(MSG.INFORM, MAC1, {}, { ciaddr: '10.9.0.40' }), 0);
  assert.equal(type(r), MSG.ACK);
  assert.equal(r.reply!.msg.yiaddr, '0.0.0.0');
  assert.equal(readU32(r.reply!.msg, OPT.LEASE_TIME), undefined);
  assert.equal(readIp(r.reply!.msg, OPT.ROUTERS), SID);
  assert.deepEqual(r.reply!.to, { ip: '10.9.0.40', port: 68 });
});

test('reply addressing (RFC 2131 §4.1): relay, ciaddr, broadcast flag, else unicast to chaddr with a neighbour entry', () => {
  const lease = { key: 'k', ip: '10.9.0.5', chaddr: MAC1, state: 'bound' as const, expires: 0 };
  assert.deepEqual(destination(msg(MSG.DISCOVER, MAC1, {}, { giaddr: '10.1.1.1' }), MSG.OFFER, lease), { ip: '10.1.1.1', port: 67 });
  assert.deepEqual(destination(msg(MSG.DISCOVER, MAC1, {}, { flags: FLAG_BROADCAST }), MSG.OFFER, lease), { ip: '255.255.255.255', port: 68 });
  assert.deepEqual(destination(msg(MSG.DISCOVER, MAC1), MSG.OFFER, lease), { ip: '10.9.0.5', port: 68, neighbour: { ip: '10.9.0.5', mac: MAC1 } });
});

test('restore: stored leases keep their address; expired ones and taken addresses are dropped', () => {
  const { t, a } = world();
  a.allocate('10.9.0.20');
  assert.equal(t.restore({ key: 'x', ip: '10.9.0.10', chaddr: MAC1, state: 'bound', expires: 100 }, 0), true);
  assert.equal(t.restore({ key: 'y', ip: '10.9.0.11', chaddr: MAC2, state: 'bound', expires: 100 }, 200), false);
  assert.equal(t.restore({ key: 'z', ip: '10.9.0.20', chaddr: MAC2, state: 'bound', expires: 100 }, 0), false);
  assert.equal(a.isUsed('10.9.0.10'), true);
});

test('host names: one DNS label is kept on the lease and echoed; anything else is ignored', () => {
  const { t } = world();
  const o = t.handle(msg(MSG.DISCOVER, MAC1, { [OPT.HOST_NAME]: optText('web-1') }), 0);
  assert.equal(t.byKey.values().next().value?.hostname, 'web-1');
  assert.equal(o.reply!.msg.options.get(OPT.HOST_NAME)?.toString(), 'web-1');
  t.handle(msg(MSG.DISCOVER, MAC2, { [OPT.HOST_NAME]: optText('bad name;rm') }), 0);
  assert.equal([...t.byKey.values()][1]?.hostname, undefined);
});

test('random messages of every type never throw and never lease an address twice or outside the range', () => {
  const { t } = world({ range: '10.9.0.0/26' });
  const next = rng(12);
  const r = { int: (n: number): number => Math.floor(next() * n) };
  const ips = (): string => `10.9.${r.int(2)}.${r.int(256)}`;
  for (let i = 0; i < 20_000; i++) {
    const mac = `02:00:00:00:00:${r.int(40).toString(16).padStart(2, '0')}`;
    const opts: Record<number, Buffer> = {};
    if (r.int(2)) opts[OPT.REQUESTED_IP] = optIp(ips());
    if (r.int(3)) opts[OPT.SERVER_ID] = optIp(r.int(4) ? SID : ips());
    if (!r.int(4)) opts[OPT.CLIENT_ID] = Buffer.from([r.int(4), r.int(4)]);
    t.handle(msg(1 + r.int(8), mac, opts, { ciaddr: r.int(2) ? ips() : '0.0.0.0' }), i * 10);
    if (i % 1000 === 0) t.expire(i * 10);
  }
  const seen = new Set<string>();
  for (const l of t.byKey.values()) {
    assert.ok(!seen.has(l.ip), `${l.ip} leased twice`);
    seen.add(l.ip);
    const last = Number(l.ip.split('.')[3]);
    assert.ok(l.ip.startsWith('10.9.0.') && last >= 2 && last < 64 && last !== 3, `${l.ip} in the range, not reserved`);
  }
});

test('the start-up sweep drops the leases of networks the store no longer has, and only those', async () => {
  const store = await openStore({ kind: 'memory' });
  await store.put('dhcp-leases/net1/aa', '{}');
  await store.put('dhcp-leases/net2/bb', '{}');
  await store.put('dhcp-leases/net2/cc', '{}');
  assert.equal(await sweepLeases(store, new Set(['net1'])), 2);
  assert.deepEqual((await store.list('dhcp-leases/')).kvs.map((kv) => kv.key), ['dhcp-leases/net1/aa']);
  await store.close();
});
