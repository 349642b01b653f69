// The fake kernel behaves as the core relies on the real one to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkError } from '../../src/netlink/index.ts';
import { Faults } from '../helpers/faults.ts';
import { FakeKernel, FakeNetnsProvider } from '../helpers/fake-netlink.ts';

const code = (c: string) => (e: unknown): boolean => e instanceof NetlinkError && e.code === c;

test('veth ends die together; a bridge frees its ports; addresses and routes go with their link', async () => {
  const k = new FakeKernel();
  k.addNamespace('/h');
  const host = k.handle('/h');
  const sbx = await new FakeNetnsProvider(k).create('/nonexistent-dir/s');
  await host.rtnl.linkAdd({ kind: 'bridge', name: 'br0', mac: '02:00:00:00:00:01' });
  await assert.rejects(host.rtnl.linkAdd({ kind: 'bridge', name: 'br0' }), code('EEXIST'));
  const v = await host.rtnl.linkAdd({ kind: 'veth', name: 'vh', peer: { name: 'eth0', netns: sbx } });
  assert.equal(v.linkNetnsId !== undefined, true, 'the peer is in another namespace');
  await host.rtnl.linkSet('vh', { master: 'br0', up: true });
  await sbx.rtnl.addrAdd('eth0', '10.0.0.2/24');
  await sbx.rtnl.linkSet('eth0', { up: true });
  await assert.rejects(sbx.rtnl.linkSet('eth0', { name: 'eth9' }), code('EBUSY'));
  await sbx.rtnl.routeReplace({ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' });
  await assert.rejects(sbx.rtnl.routeReplace({ dst: 'default', gateway: '10.9.0.1', dev: 'eth0' }), code('ENETUNREACH'));
  await host.rtnl.linkDel('br0');
  assert.equal((await host.rtnl.linkGet('vh'))?.master, null, 'the port is free');
  await host.rtnl.linkDel('vh');
  assert.equal(await sbx.rtnl.linkGet('eth0'), null, 'the peer went too');
  assert.deepEqual(await sbx.rtnl.addrList(), []);
  assert.deepEqual(await sbx.rtnl.routeList(), []);
  await assert.rejects(host.rtnl.linkDel('vh'), code('ENODEV'));
});

test('a removed namespace lives until its last handle closes, then takes its veths along', async () => {
  const k = new FakeKernel();
  k.addNamespace('/h');
  const host = k.handle('/h');
  const p = new FakeNetnsProvider(k);
  const sbx = await p.create('/nonexistent-dir/s');
  await host.rtnl.linkAdd({ kind: 'veth', name: 'vh', peer: { name: 'eth0', netns: sbx } });
  await p.remove('/nonexistent-dir/s');
  assert.ok(await host.rtnl.linkGet('vh'), 'still held open');
  sbx.close();
  assert.equal(await host.rtnl.linkGet('vh'), null);
  assert.deepEqual(Object.keys(k.snapshot()), ['/h']);
});

test('the chosen call fails with EIO and changes nothing', async () => {
  const f = new Faults();
  const k = new FakeKernel(f);
  k.addNamespace('/h');
  const host = k.handle('/h');
  const before = JSON.stringify(k.snapshot());
  f.arm(1);
  await assert.rejects(host.rtnl.linkAdd({ kind: 'bridge', name: 'br0' }), code('EIO'));
  assert.equal(JSON.stringify(k.snapshot()), before);
  await host.rtnl.linkAdd({ kind: 'bridge', name: 'br0' });
  assert.equal(f.calls, 2);
});
