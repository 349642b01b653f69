// The fake firewall keeps what nftables would hold apart from what it was
// asked for, so drift() compares the two as NftFirewall's does: missing and
// extra elements, missing tables, and repair() puts them back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeFirewall } from '../../src/firewall/fake-firewall.ts';
import type { EndpointFw, NetworkFw } from '../../src/firewall/types.ts';

const net: NetworkFw = { id: 'n1', bridge: 'br-n1', v4: { subnet: '172.29.1.0/24', gateway: '172.29.1.1' }, icc: true, masquerade: true, internal: false, gatewayModeV4: 'nat', gatewayModeV6: 'nat', antiSpoof: true };
const ep: EndpointFw = { id: 'e1', networkId: 'n1', hostIface: 'veth1', mac: '02:00:00:00:09:01', ipv4: '172.29.1.2', ports: [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }] };

test('drift reports missing and extra elements and missing tables; repair restores them', async () => {
  const fw = new FakeFirewall();
  assert.equal((await fw.drift()).missingTables.length, 2, 'nothing installed before init');
  await fw.init();
  await fw.addNetwork(net);
  await fw.addEndpoint(ep);
  assert.equal((await fw.drift()).ok, true);

  const dnat = fw.kernel.get('inet')?.sets.get('dnat4-any');
  assert.ok(dnat && dnat.length === 1, 'the published port is an element');
  const [gone] = dnat.splice(0, 1);
  dnat.push('udp . 9999 : 172.29.1.9 . 53');
  let d = await fw.drift();
  assert.equal(d.ok, false);
  assert.deepEqual(d.missingElements, [`inet cnm dnat4-any: ${gone}`]);
  assert.deepEqual(d.extraElements, ['inet cnm dnat4-any: udp . 9999 : 172.29.1.9 . 53']);
  assert.equal(await fw.repair(), true);
  assert.equal((await fw.drift()).ok, true);
  assert.equal(await fw.repair(), false, 'nothing to repair');

  // `nft delete table bridge cnm`: an incremental change finds it gone and
  // rebuilds everything, as NftFirewall's apply does.
  fw.kernel.set('bridge', null);
  d = await fw.drift();
  assert.deepEqual(d.missingTables, ['bridge cnm']);
  await fw.removeEndpoint('e1');
  assert.equal((await fw.drift()).ok, true);
  assert.ok(!fw.kernel.get('inet')?.sets.get('dnat4-any')?.length, 'the endpoint\'s elements went');
  await fw.removeNetwork('n1');
  assert.equal((await fw.drift()).ok, true);
});

test('a failed transaction changes neither the state nor the kernel', async () => {
  let fail = false;
  const fw = new FakeFirewall({ fault: (op) => { if (fail) throw new Error(`no ${op}`); } });
  await fw.init();
  await fw.addNetwork(net);
  const before = JSON.stringify([fw.state(), [...fw.kernel]], (_k, v: unknown) => (v instanceof Map ? [...v] : v));
  fail = true;
  await assert.rejects(fw.addEndpoint(ep), /no add endpoint/);
  await assert.rejects(fw.removeNetwork('n1'), /no remove network/);
  assert.equal(JSON.stringify([fw.state(), [...fw.kernel]], (_k, v: unknown) => (v instanceof Map ? [...v] : v)), before);
});
