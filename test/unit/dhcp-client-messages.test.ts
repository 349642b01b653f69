// The DHCP client's pure parts: the requests of each RFC 2131 state, the
// client id, and the lease read from an ACK with its timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  INFINITE, clientIdFor, discover, leaseFromAck, leasePhase, release, requestExtend, requestSelecting,
} from '../../src/dhcp/messages.ts';
import { BOOTREPLY, FLAG_BROADCAST, MSG, OPT, decodeDhcp, encodeDhcp, newMessage, optByte, optIp, optIps, optU32, readIp } from '../../src/dhcp/wire.ts';
import type { DhcpMessage } from '../../src/dhcp/wire.ts';

const who = { mac: '02:42:ac:11:00:02', clientId: clientIdFor('s'.repeat(64), 'n'.repeat(64)) };
const roundTrip = (m: DhcpMessage): DhcpMessage => decodeDhcp(encodeDhcp(m))!;

function ack(opts: Record<number, Buffer>, yiaddr = '10.0.0.7'): DhcpMessage {
  const m = newMessage(BOOTREPLY, { yiaddr, xid: 1, chaddr: who.mac });
  m.options.set(OPT.MESSAGE_TYPE, optByte(MSG.ACK));
  for (const [k, v] of Object.entries(opts)) m.options.set(Number(k), v);
  return roundTrip(m);
}

test('the client id is type 0 + "<sandbox>/<network>", at most 255 bytes, stable', () => {
  const id = clientIdFor('abc', 'def');
  assert.equal(id[0], 0);
  assert.equal(id.subarray(1).toString(), 'abc/def');
  assert.deepEqual(clientIdFor('abc', 'def'), id);
  assert.ok(clientIdFor('x'.repeat(500), 'y'.repeat(500)).length <= 255);
});

test('DISCOVER and SELECTING REQUEST are broadcast-flagged, carry the client id; REQUEST repeats server id and address', () => {
  const d = roundTrip(discover(who, 7, 0));
  assert.equal(d.flags & FLAG_BROADCAST, FLAG_BROADCAST);
  assert.deepEqual(d.options.get(OPT.CLIENT_ID), who.clientId);
  assert.equal(d.chaddr, who.mac);
  assert.equal(d.ciaddr, '0.0.0.0');
  const offer = newMessage(BOOTREPLY, { yiaddr: '10.0.0.7', xid: 7 });
  offer.options.set(OPT.SERVER_ID, optIp('10.0.0.1'));
  const r = roundTrip(requestSelecting(who, 7, 1, offer));
  assert.equal(r.options.get(OPT.MESSAGE_TYPE)![0], MSG.REQUEST);
  assert.equal(readIp(r, OPT.REQUESTED_IP), '10.0.0.7');
  assert.equal(readIp(r, OPT.SERVER_ID), '10.0.0.1');
  assert.equal(r.ciaddr, '0.0.0.0');
});

test('RENEWING/REBINDING requests carry ciaddr and neither server id nor requested address; RELEASE names the server', () => {
  const r = roundTrip(requestExtend(who, 9, '10.0.0.7'));
  assert.equal(r.ciaddr, '10.0.0.7');
  assert.equal(r.options.has(OPT.SERVER_ID), false);
  assert.equal(r.options.has(OPT.REQUESTED_IP), false);
  const rel = roundTrip(release(who, 9, { address: '10.0.0.7', serverId: '10.0.0.1' }));
  assert.equal(rel.options.get(OPT.MESSAGE_TYPE)![0], MSG.RELEASE);
  assert.equal(rel.ciaddr, '10.0.0.7');
  assert.equal(readIp(rel, OPT.SERVER_ID), '10.0.0.1');
});

test('a lease from an ACK: mask, router, DNS, default T1/T2 at 0.5 and 0.875 of the lease', () => {
  const l = leaseFromAck(ack({
    [OPT.LEASE_TIME]: optU32(3600), [OPT.SERVER_ID]: optIp('10.0.0.1'), [OPT.SUBNET_MASK]: optIp('255.255.0.0'),
    [OPT.ROUTERS]: optIps(['10.0.0.1', '10.0.0.2']), [OPT.DNS_SERVERS]: optIps(['10.0.0.53', '10.0.0.54']),
  }), 1000)!;
  assert.deepEqual(l, {
    address: '10.0.0.7', prefix: 16, gateway: '10.0.0.1', dns: ['10.0.0.53', '10.0.0.54'], serverId: '10.0.0.1',
    leaseTime: 3600, t1: 1800, t2: 3150, obtainedAt: 1000,
  });
});

test('server T1/T2 are used when sane and repaired when not; no lease time or server id, no lease', () => {
  const base = { [OPT.LEASE_TIME]: optU32(100), [OPT.SERVER_ID]: optIp('10.0.0.1') };
  assert.deepEqual(pick(leaseFromAck(ack({ ...base, [OPT.RENEWAL_T1]: optU32(5), [OPT.REBINDING_T2]: optU32(8) }), 0)), [5, 8]);
  assert.deepEqual(pick(leaseFromAck(ack({ ...base, [OPT.RENEWAL_T1]: optU32(90), [OPT.REBINDING_T2]: optU32(500) }), 0)), [50, 87]);
  assert.equal(leaseFromAck(ack({ [OPT.SERVER_ID]: optIp('10.0.0.1') }), 0), null);
  assert.equal(leaseFromAck(ack({ [OPT.LEASE_TIME]: optU32(100) }), 0), null);
  assert.equal(leaseFromAck(ack({ [OPT.LEASE_TIME]: optU32(100) }), 0, '10.0.0.9')!.serverId, '10.0.0.9');
  assert.equal(leaseFromAck(ack(base, '0.0.0.0'), 0), null);
});

const pick = (l: { t1: number; t2: number } | null): number[] => [l!.t1, l!.t2];

test('lease phases: bound until T1, renewing until T2, rebinding until expiry; infinite stays bound', () => {
  const l = { address: '10.0.0.7', prefix: 24, gateway: null, dns: [], serverId: '10.0.0.1', leaseTime: 100, t1: 50, t2: 80, obtainedAt: 10_000 };
  assert.deepEqual(leasePhase(l, 10_000), { phase: 'bound', next: 60_000 });
  assert.deepEqual(leasePhase(l, 60_000), { phase: 'renewing', next: 90_000 });
  assert.deepEqual(leasePhase(l, 90_000), { phase: 'rebinding', next: 110_000 });
  assert.deepEqual(leasePhase(l, 110_000), { phase: 'expired', next: null });
  assert.deepEqual(leasePhase({ ...l, leaseTime: INFINITE }, 1e12), { phase: 'bound', next: null });
});
