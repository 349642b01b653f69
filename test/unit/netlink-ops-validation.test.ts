// Every operation validates its input completely before it talks to the
// kernel: with a socket that fails the test when used, bad input must come
// back as a NetlinkError naming the bad value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkError } from '../../src/netlink/errors.ts';
import type { OpContext } from '../../src/netlink/ops/context.ts';
import type { RtnlSocket } from '../../src/netlink/socket.ts';
import { linkAdd, linkDel, linkSet } from '../../src/netlink/ops/links.ts';
import { addrAdd } from '../../src/netlink/ops/addrs.ts';
import { routeAdd } from '../../src/netlink/ops/routes.ts';
import { neighAdd } from '../../src/netlink/ops/neigh.ts';
import { fdbAdd } from '../../src/netlink/ops/fdb.ts';
import { bridgePortSet } from '../../src/netlink/ops/bridge-port.ts';
import type { LinkSpec } from '../../src/netlink/types.ts';

const untouchable = (): never => { throw new Error('the kernel was called'); };
const o: OpContext = {
  sock: { run: untouchable, batch: untouchable, where: '/fake' } as unknown as RtnlSocket,
  withNs: untouchable,
  send: untouchable,
};

async function rejects(p: Promise<unknown>, code: string, mentions: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NetlinkError, String(e));
    assert.equal(e.code, code);
    assert.ok(e.message.includes(mentions), `${e.message} should mention ${mentions}`);
    return true;
  });
}

test('links: bad names, kinds, MTU, MAC, VNI and modes are refused before the kernel', async () => {
  await rejects(linkAdd(o, { kind: 'bridge', name: 'br/0' }), 'INVALID_NAME', '"br/0"');
  await rejects(linkAdd(o, { kind: 'bridge', name: 'a-very-long-name-x' }), 'INVALID_NAME', 'a-very-long-name-x');
  await rejects(linkAdd(o, { kind: 'bridge', name: '' }), 'INVALID_NAME', '""');
  await rejects(linkAdd(o, { kind: 'bond', name: 'b0' } as unknown as LinkSpec), 'INVALID_VALUE', '"bond"');
  await rejects(linkAdd(o, { kind: 'bridge', name: 'br0', mtu: 10 }), 'INVALID_VALUE', 'MTU 10');
  await rejects(linkAdd(o, { kind: 'bridge', name: 'br0', mac: '02:00' }), 'INVALID_MAC', '"02:00"');
  await rejects(linkAdd(o, { kind: 'veth', name: 'v0', peer: { name: 'has space' } }), 'INVALID_NAME', '"has space"');
  await rejects(linkAdd(o, { kind: 'veth', name: 'v0', peer: { name: 'v0' } }), 'INVALID_NAME', 'peer name "v0"');
  await rejects(linkAdd(o, { kind: 'veth', name: 'v0', peer: { name: 'v0', up: true } }), 'INVALID_NAME', 'peer name "v0"');
  await rejects(linkAdd(o, { kind: 'veth', name: 'v0', peer: { name: 'v1', up: 1 as unknown as boolean } }), 'INVALID_VALUE', 'peer up 1');
  await rejects(linkAdd(o, { kind: 'vxlan', name: 'vx0', vni: 1 << 24 }), 'INVALID_VALUE', 'VNI 16777216');
  await rejects(linkAdd(o, { kind: 'vxlan', name: 'vx0', vni: 1, local: '10.0.0.1', group: 'fd00::1' }), 'FAMILY_MISMATCH', 'IPv6');
  await rejects(linkAdd(o, { kind: 'macvlan', name: 'mv0', parent: 'eth0', mode: 'bogus' as 'bridge' }), 'INVALID_VALUE', '"bogus"');
  await rejects(linkAdd(o, { kind: 'ipvlan', name: 'iv0', parent: 'eth 0', mode: 'l2' }), 'INVALID_NAME', '"eth 0"');
  await rejects(linkDel(o, 'x:1'), 'INVALID_NAME', '"x:1"');
  await rejects(linkSet(o, 'eth0', { name: 'x'.repeat(16) }), 'INVALID_NAME', 'x'.repeat(16));
  await rejects(linkSet(o, 'eth0', { up: 'yes' as unknown as boolean }), 'INVALID_VALUE', '"yes"');
  await rejects(linkSet(o, 'eth0', { master: 'b r' }), 'INVALID_NAME', '"b r"');
});

test('addresses, routes, neighbours, fdb and port flags are checked first', async () => {
  await rejects(addrAdd(o, 'eth0', '10.0.0.1'), 'INVALID_CIDR', '"10.0.0.1"');
  await rejects(addrAdd(o, 'eth0', '10.0.0.1/40'), 'INVALID_CIDR', '10.0.0.1/40');
  await rejects(addrAdd(o, 'bad/name', '10.0.0.1/24'), 'INVALID_NAME', '"bad/name"');
  await rejects(routeAdd(o, { dst: '10.0.0.1/24', dev: 'eth0' }), 'INVALID_CIDR', 'host bits');
  await rejects(routeAdd(o, { dst: 'default', gateway: 'fd00::1', family: 4 }), 'FAMILY_MISMATCH', 'gateway');
  await rejects(routeAdd(o, { dst: '10.0.0.0/24', gateway: 'fd00::1' }), 'FAMILY_MISMATCH', 'gateway is IPv6');
  await rejects(routeAdd(o, { dst: 'default' }), 'INVALID_VALUE', 'gateway or a device');
  await rejects(routeAdd(o, { dst: 'default', gateway: '10.0.0.1', onlink: true }), 'INVALID_VALUE', 'onlink');
  await rejects(neighAdd(o, { dev: 'eth0', ip: '10.0.0.999', mac: '02:00:00:00:00:01' }), 'INVALID_ADDRESS', '10.0.0.999');
  await rejects(fdbAdd(o, { dev: 'vx0', mac: '00:00:00:00:00:00', dst: 'nowhere' }), 'INVALID_ADDRESS', '"nowhere"');
  await rejects(bridgePortSet(o, 'v0', { hairpin: 1 as unknown as boolean }), 'INVALID_VALUE', 'hairpin 1');
  await rejects(bridgePortSet(o, 'v0', { flood: true } as unknown as { hairpin: boolean }), 'INVALID_VALUE', '"flood"');
});
