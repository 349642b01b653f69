// One contract, two implementations: FakeFirewall (for others' unit tests)
// must behave like NftFirewall in what callers can observe.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { NftFirewall } from '../../src/firewall/nft-firewall.ts';
import { FakeFirewall } from '../../src/firewall/fake-firewall.ts';
import { FirewallError } from '../../src/firewall/errors.ts';
import type { FirewallErrorCode } from '../../src/firewall/errors.ts';
import type { EndpointFw, Firewall, NetworkFw } from '../../src/firewall/types.ts';

const LOCAL_IP = '10.97.0.1';
const net: NetworkFw = { id: 'c1', bridge: 'br-c1', v4: { subnet: '172.29.1.0/24', gateway: '172.29.1.1' }, icc: true, masquerade: true, internal: false, gatewayModeV4: 'nat', gatewayModeV6: 'nat', antiSpoof: true };
const ep: EndpointFw = { id: 'e1', networkId: 'c1', hostIface: 'vc1', mac: '02:00:00:00:09:01', ipv4: '172.29.1.2', ports: [{ hostIp: LOCAL_IP, hostPort: 8080, containerPort: 80, proto: 'tcp' }] };

const code = (c: FirewallErrorCode) => (e: unknown): boolean => e instanceof FirewallError && e.code === c;

async function contract(make: () => Firewall): Promise<void> {
  const fw = make();
  await fw.init();
  await fw.addNetwork(net);
  await assert.rejects(fw.addNetwork(net), code('NETWORK_EXISTS'));
  await assert.rejects(fw.addNetwork({ ...net, id: 'c2', bridge: 'br-c2', gatewayModeV4: 'isolated' }), code('INVALID_CONFIG'));
  await assert.rejects(fw.addEndpoint({ ...ep, networkId: 'nope' }), code('UNKNOWN_NETWORK'));
  await assert.rejects(fw.addEndpoint({ ...ep, ports: [{ hostIp: '10.123.0.9', hostPort: 1, containerPort: 1, proto: 'tcp' }] }), code('HOST_IP_NOT_LOCAL'));
  await assert.rejects(fw.addEndpoint({ ...ep, mac: 'nope' }), code('INVALID_CONFIG'));
  await fw.addEndpoint(ep);
  await fw.addEndpoint({ ...ep, ports: [] }); // replace
  assert.deepEqual(fw.state().endpoints.map((e) => e.ports.length), [0]);
  await assert.rejects(fw.removeEndpoint('nope'), code('UNKNOWN_ENDPOINT'));
  await fw.removeNetwork('c1'); // takes its endpoint along
  assert.deepEqual(fw.state(), { networks: [], endpoints: [] });
  await assert.rejects(fw.removeNetwork('c1'), code('UNKNOWN_NETWORK'));
  await fw.restoreAll({ networks: [net], endpoints: [ep] });
  assert.equal(fw.state().endpoints.length, 1);
  assert.equal((await fw.drift()).ok, true);
  await fw.close();
  // A daemon restart: a new instance takes the state over in one step.
  const again = make();
  await again.init({ networks: [net], endpoints: [ep] });
  assert.deepEqual(again.state(), fw.state());
  assert.equal((await again.drift()).ok, true);
  await again.close();
}

const skip = skipUnlessCI('firewall-contract', privilegedSkipReason());

describe('Firewall contract', () => {
  test('FakeFirewall', async () => {
    await contract(() => new FakeFirewall({ localAddresses: [LOCAL_IP] }));
  });
  test(`NftFirewall${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, async () => {
    const ns = await TestNetns.create('contract');
    try {
      await ns.sh(`ip link add br-c1 type bridge && ip addr add ${LOCAL_IP}/24 dev br-c1 && ip link set br-c1 up`);
      await contract(() => new NftFirewall({ nsPath: ns.path, watch: false }));
    } finally {
      await ns.destroy();
    }
  });
});
