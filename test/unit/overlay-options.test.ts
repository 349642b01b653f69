// The overlay driver without the kernel: its options (Docker's names), the
// refusal without a cluster store, and the tables setPeers aims for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CnmError } from '../../src/model/errors.ts';
import { parseOverlayOptions, vniOf } from '../../src/drivers/overlay/options.ts';
import { NO_CLUSTER_MSG, overlayDriver } from '../../src/drivers/overlay/driver.ts';
import { desiredTables } from '../../src/drivers/overlay/peers.ts';
import type { DriverContext, NetworkInfo } from '../../src/drivers/driver.ts';
import { World, networkRequest } from '../helpers/core-world.ts';

const net = (options: Record<string, string>, driverState: Record<string, string> = {}): NetworkInfo => ({
  id: 'a'.repeat(64), name: 'ov', driver: 'overlay', created: '', scope: 'global', internal: false, attachable: false, ingress: false,
  enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamOptions: {}, ipamConfigRequested: [],
  ipv4: { subnet: '10.0.9.0/24', gateway: '10.0.9.1' }, options, labels: {}, predefined: false, driverState,
});

const ctx = (cluster?: { vtep: string; mtu: number }): DriverContext =>
  ({ hostNs: null as never, owner: 'o', networks: () => [], reap: () => undefined, ...(cluster ? { cluster } : {}) });

const rejects = async (p: Promise<unknown>, code: string, re: RegExp): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof CnmError && e.code === code && re.test(e.message));
};

test('options: MTU and VNI with Docker\'s names; bad values and unknown options are refused naming them', () => {
  assert.deepEqual(parseOverlayOptions(net({})), { ifacePrefix: 'eth' });
  assert.deepEqual(parseOverlayOptions(net({ 'com.docker.network.driver.mtu': '1400', 'com.docker.network.driver.overlay.vxlanid_list': '4097' })), { ifacePrefix: 'eth', mtu: 1400, vni: 4097 });
  assert.equal(parseOverlayOptions(net({ 'com.docker.network.driver.overlay.vxlanid_list': '0x1001' })).vni, 4097, 'hex, as Docker parses it');
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ 'com.docker.network.driver.mtu': 'big' }, /"big" for option com\.docker\.network\.driver\.mtu: expected an MTU between 68 and 65535/],
    [{ 'com.docker.network.driver.mtu': '67' }, /expected an MTU/],
    [{ 'com.docker.network.driver.overlay.vxlanid_list': '255' }, /invalid VNI "255".*between 256 and 16777215/],
    [{ 'com.docker.network.driver.overlay.vxlanid_list': '16777216' }, /between 256 and 16777215/],
    [{ 'com.docker.network.driver.overlay.vxlanid_list': '300,301' }, /one VNI.*expected one number/],
    [{ 'com.docker.network.driver.overlay.vxlanid_list': 'x' }, /invalid VNI "x"/],
    [{ parent: 'eth0' }, /unknown option "parent" for the overlay driver: expected one of com\.docker\.network\.driver\.mtu/],
    [{ encrypted: '' }, /"encrypted".*not supported/],
  ];
  for (const [o, re] of bad) assert.throws(() => parseOverlayOptions(net(o)), (e: unknown) => e instanceof CnmError && e.code === 'INVALID' && re.test(e.message), JSON.stringify(o));
});

test('the VNI comes from driverState.vni, set by the cluster code; a network without one is refused', () => {
  assert.equal(vniOf(net({}, { vni: '300' })), 300);
  assert.throws(() => vniOf(net({})), /has no VNI yet/);
});

test('without a cluster store an overlay network is refused, saying how to start the daemon', async () => {
  await rejects(overlayDriver.validateNetwork(net({}), [], ctx()), 'FORBIDDEN', /need a cluster store: start the daemon with --cluster-store etcd:\/\//);
  await rejects(overlayDriver.validateNetwork(net({}), []), 'FORBIDDEN', /cluster store/);
  await rejects(overlayDriver.createNetwork(ctx(), net({}, { vni: '300' })), 'FORBIDDEN', /cluster store/);
  // With one: the VNI asked for goes to the driver state; an MTU beyond the underlay's is refused.
  assert.deepEqual(await overlayDriver.validateNetwork(net({ 'com.docker.network.driver.overlay.vxlanid_list': '300' }), [], ctx({ vtep: '192.0.2.1', mtu: 1500 })), { vni: '300' });
  await rejects(overlayDriver.validateNetwork(net({ 'com.docker.network.driver.mtu': '1451' }), [], ctx({ vtep: '192.0.2.1', mtu: 1500 })), 'INVALID', /underlay MTU is 1500, so an overlay MTU of at most 1450 fits/);
  await rejects(overlayDriver.validateNetwork(net({ 'com.docker.network.driver.mtu': '1431' }), [], ctx({ vtep: 'fd00::1', mtu: 1500 })), 'INVALID', /at most 1430/);
});

test('docker network create -d overlay on a daemon without a cluster store: 403 with the message, nothing stored', async () => {
  const w = await World.start();
  try {
    await assert.rejects(w.controller.createNetwork(networkRequest('ov', { driver: 'overlay' })),
      (e: unknown) => e instanceof CnmError && e.status === 403 && e.message === NO_CLUSTER_MSG);
    assert.ok(![...w.controller.ctx.state.networks.values()].some((n) => n.name === 'ov'));
  } finally {
    await w.close();
  }
});

test('peer tables: per remote endpoint a MAC and neighbours, per remote VTEP a flood entry; own VTEP skipped; bad peers named', () => {
  const t = desiredTables([
    { ip: '10.0.9.2/24', mac: '02:42:0A:00:09:02', vtep: '192.0.2.1' },
    { ip: '10.0.9.3', ip6: 'fd00:0:0::3/64', mac: '02:42:0a:00:09:03', vtep: '192.0.2.2' },
    { ip: '10.0.9.4', mac: '02:42:0a:00:09:04', vtep: '192.0.2.2' },
  ], '192.0.2.1');
  assert.deepEqual([...t.fdb.keys()].sort(), ['00:00:00:00:00:00|192.0.2.2', '02:42:0a:00:09:03|192.0.2.2', '02:42:0a:00:09:04|192.0.2.2']);
  assert.deepEqual([...t.neigh.entries()].sort(), [['10.0.9.3', '02:42:0a:00:09:03'], ['10.0.9.4', '02:42:0a:00:09:04'], ['fd00::3', '02:42:0a:00:09:03']]);
  assert.throws(() => desiredTables([{ ip: '10.0.9.3', mac: 'zz', vtep: '192.0.2.2' }], '192.0.2.1'), /peer 0 .*invalid mac/);
  assert.throws(() => desiredTables([{ ip: '10.0.9.3', mac: '02:42:0a:00:09:03', vtep: 'host' }], '192.0.2.1'), /invalid vtep/);
  assert.throws(() => desiredTables([{ ip: 'fd00::3', mac: '02:42:0a:00:09:03', vtep: '192.0.2.2' }], '192.0.2.1'), /invalid ip, expected an IPv4/);
});
