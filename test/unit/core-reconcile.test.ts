// Start-up reconcile against the fake kernel: the store says what should
// exist; reconcile rebuilds exactly what is missing, removes only links
// carrying this daemon's mark that no record owns (and namespace files no
// sandbox owns), and leaves the user's unmarked links alone, even on cnm's
// own bridges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { World, networkRequest, sandboxRequest } from '../helpers/core-world.ts';
import { FakeNetnsProvider } from '../helpers/fake-netlink.ts';
import { linkMark } from '../../src/drivers/link-mark.ts';

const att = { aliases: ['db'], gwPriority: 0, driverOpts: {} };

test('reconcile repairs what is missing and removes only marked strays', async () => {
  const w = await World.start();
  const { controller, host } = w;
  await controller.createNetwork(networkRequest('n1', { enableIPv6: true, ipamConfig: [{ subnet: '10.60.0.0/24' }, { subnet: 'fd00:60::/64' }] }));
  const sbx = await controller.createSandbox(sandboxRequest('s1'));
  await controller.startSandbox('s1');
  await controller.connect('n1', 's1', att);
  const n1 = controller.state.findNetwork('n1');
  const n1Bridge = n1.driverState.bridge ?? '';
  const owner = controller.ctx.driverCtx.owner;
  // The user's links: a bridge of their own, and a veth they plugged into cnm's bridge.
  await host.rtnl.linkAdd({ kind: 'bridge', name: 'userbr' });
  await host.rtnl.linkAdd({ kind: 'veth', name: 'uservA', peer: { name: 'uservB' } });
  await host.rtnl.linkSet('uservA', { master: n1Bridge, up: true });
  const wanted = w.kernel.snapshot();
  const fwWanted = w.fw.state();
  const ns = controller.ctx.netns.get(sbx.id);
  assert.ok(ns);
  const netnsPath = controller.state.sandboxes.get(sbx.id)?.netnsPath ?? '';
  const eps = controller.state.endpointsOf(sbx.id);
  const onN1 = eps.find((e) => e.networkId === n1.id);
  const onBridge = eps.find((e) => e.networkId !== n1.id);
  assert.ok(onN1 && onBridge);
  await w.stop(); // a daemon restart: sandboxes keep running

  // Missing pieces: n1's veth (both ends go), the default bridge (its port
  // stays, unplugged), n1's gateway address, eth0's address in the sandbox.
  const h = w.kernel.handle('/fake/host');
  const inner = w.kernel.handle(netnsPath);
  try {
    await h.rtnl.linkDel(onN1.driverState.hostIfName ?? '');
    await h.rtnl.linkDel('cnm0');
    await h.rtnl.addrDel(n1Bridge, '10.60.0.1/24');
    await inner.rtnl.addrDel('eth0', onBridge.ipv4 ?? '');
    // Strays with this daemon's mark, which no record owns.
    await h.rtnl.linkAdd({ kind: 'veth', name: 'vethdead000', peer: { name: 'vethdead001' }, alias: linkMark(owner, 'dead'.repeat(16)) });
    await h.rtnl.linkAdd({ kind: 'bridge', name: 'br-deadbeef0000', alias: linkMark(owner, 'beef'.repeat(16)) });
    // Another daemon's mark is not ours to remove.
    await h.rtnl.linkAdd({ kind: 'bridge', name: 'br-other', alias: linkMark('0123456789ab', 'beef'.repeat(16)) });
  } finally {
    h.close();
    inner.close();
  }
  // A namespace file no sandbox owns.
  const stray = join(w.dir, 'exec', 'netns', 'stray0000000');
  (await new FakeNetnsProvider(w.kernel).create(stray)).close();

  const again = await World.start(w.parts);
  try {
    const after = again.kernel.snapshot();
    const other = after['/fake/host']?.links.find((l) => l.name === 'br-other');
    assert.ok(other, 'a link marked by another daemon stays');
    after['/fake/host'] = { ...after['/fake/host']!, links: after['/fake/host']!.links.filter((l) => l.name !== 'br-other') };
    assert.deepEqual(after, wanted, 'the kernel is as it was: missing pieces back, marked strays gone, the user\'s links kept');
    assert.deepEqual((await again.controller.checkKernel()).problems, []);
    assert.ok((await again.fw.drift()).ok);
    const ids = (s: { networks: { id: string }[]; endpoints: { id: string }[] }) => [s.networks.map((n) => n.id).sort(), s.endpoints.map((e) => e.id).sort()];
    assert.deepEqual(ids(again.fw.state()), ids(fwWanted), 'the firewall holds the same networks and endpoints');
    assert.ok(again.runtime.running.has(sbx.id), 'the sandbox was adopted, not stopped');
    assert.deepEqual([...again.dns.names.keys()], [onN1.id], 'its DNS names are back');
  } finally {
    await again.close();
  }
});

test('a sandbox whose process ended while the daemon was down is cleaned up', async () => {
  const w = await World.start();
  const sbx = await w.controller.createSandbox(sandboxRequest('s2'));
  await w.controller.startSandbox('s2');
  const hostIf = w.controller.state.endpointsOf(sbx.id)[0]?.driverState.hostIfName;
  await w.stop();
  await w.runtime.remove(sbx.id); // the process dies with no daemon to see it
  const again = await World.start(w.parts);
  try {
    const rec = again.controller.state.sandboxes.get(sbx.id);
    assert.equal(rec?.state, 'exited');
    assert.equal(again.controller.state.endpointsOf(sbx.id).length, 0);
    const snap = again.kernel.snapshot();
    assert.deepEqual(Object.keys(snap), ['/fake/host'], 'its namespace is gone');
    assert.ok(!snap['/fake/host']?.links.some((l) => l.name === hostIf), 'and its veth with it');
    assert.deepEqual(again.fw.state().endpoints, []);
    assert.deepEqual((await again.controller.checkKernel()).problems, []);
  } finally {
    await again.close();
  }
});

test('a restart leaves an intact bridge alone: no request touches it', async () => {
  const w = await World.start();
  await w.controller.createNetwork(networkRequest('n2', { ipamConfig: [{ subnet: '10.61.0.0/24' }] }));
  const bridge = w.controller.state.findNetwork('n2').driverState.bridge ?? '';
  assert.ok(bridge);
  await w.stop();
  w.faults.arm(0);
  const again = await World.start(w.parts);
  try {
    const touched = w.faults.log.filter((c) => c.includes(` ${bridge}`) || c.includes(`(${bridge})`));
    assert.deepEqual(touched, [], 'the bridge was read in the one host dump only');
    assert.deepEqual((await again.controller.checkKernel()).problems, []);
    // Joins find it by the index the dump gave.
    await again.controller.createSandbox(sandboxRequest('s2'));
    await again.controller.startSandbox('s2');
    await again.controller.connect('n2', 's2', att);
    assert.deepEqual((await again.controller.checkKernel()).problems, []);
  } finally {
    await again.close();
  }
});
