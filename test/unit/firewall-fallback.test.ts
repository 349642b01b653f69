// When an incremental transaction fails (nftables drifted from what cnm
// believes), NftFirewall rebuilds everything from the state the operation
// leads to. That state is built only on failure (not copied on every
// connect); it must still be the state after the operation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NftFirewall } from '../../src/firewall/nft-firewall.ts';
import type { NftRunner } from '../../src/firewall/nft-runner.ts';
import type { EndpointFw, NetworkFw } from '../../src/firewall/types.ts';

const net: NetworkFw = { id: 'n1', bridge: 'br-n1', v4: { subnet: '172.29.1.0/24', gateway: '172.29.1.1' }, icc: true, masquerade: true, internal: false, gatewayModeV4: 'nat', gatewayModeV6: 'nat', antiSpoof: true };
const ep = (i: number): EndpointFw => ({ id: `e${i}`, networkId: 'n1', hostIface: `veth${i}`, mac: `02:00:00:00:09:0${i}`, ipv4: `172.29.1.${i + 1}`, ports: [] });

function recorder(): { runner: NftRunner; scripts: string[]; failNext: () => void } {
  const scripts: string[] = [];
  let fail = false;
  const runner: NftRunner = {
    async run(script) {
      if (fail) { fail = false; throw new Error('No such file or directory'); }
      scripts.push(script);
      return '';
    },
    async runJson() { return '{"nftables":[]}'; },
    async readFile() { return ''; },
    async writeFile() { /* sysctls */ },
    committedBy: () => false,
    async close() { /* nothing held */ },
  };
  return { runner, scripts, failNext: () => { fail = true; } };
}

test('a failed incremental add or remove rebuilds the whole state as it is after the operation', async () => {
  const r = recorder();
  const fw = new NftFirewall({ nsPath: '/nonexistent', runner: r.runner, watch: false, sysctl: async () => undefined });
  await fw.init();
  await fw.addNetwork(net);
  await fw.addEndpoint(ep(1));
  r.failNext();
  await fw.addEndpoint(ep(2));
  const full = r.scripts.at(-1) ?? '';
  assert.match(full, /172\.29\.1\.2\b/, 'the endpoint already there');
  assert.match(full, /172\.29\.1\.3\b/, 'the endpoint being added');
  assert.deepEqual(fw.state().endpoints.map((e) => e.id), ['e1', 'e2']);

  r.failNext();
  await fw.removeEndpoint('e1');
  const after = r.scripts.at(-1) ?? '';
  assert.doesNotMatch(after, /172\.29\.1\.2\b/, 'the endpoint removed');
  assert.match(after, /172\.29\.1\.3\b/);
  assert.deepEqual(fw.state().endpoints.map((e) => e.id), ['e2']);

  r.failNext();
  await fw.addNetwork({ ...net, id: 'n2', bridge: 'br-n2', v4: { subnet: '172.29.2.0/24', gateway: '172.29.2.1' } });
  assert.match(r.scripts.at(-1) ?? '', /br-n2/);
  assert.deepEqual(fw.state().networks.map((n) => n.id), ['n1', 'n2']);

  r.failNext();
  await fw.removeNetwork('n1');
  const rest = r.scripts.at(-1) ?? '';
  assert.doesNotMatch(rest, /br-n1|172\.29\.1\.3\b/, 'the network and its endpoint went');
  assert.match(rest, /br-n2/);
  assert.deepEqual(fw.state(), { networks: [fw.state().networks[0]], endpoints: [] });
  assert.equal(fw.state().networks[0]?.id, 'n2');
  await fw.close();
});
