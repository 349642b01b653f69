// Packets between sandboxes: one network, across networks, several networks
// at once, the default gateway on connect and disconnect, and concurrency.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { canPing, inSandbox, ipOf, runSandbox } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('connectivity', privilegedSkipReason());

async function defaultRoute(d: DaemonHandle, name: string): Promise<string> {
  return (await inSandbox(d, name, 'ip -4 route show default')).stdout.trim();
}

describe(`sandbox connectivity${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => {
    d = await startTestDaemon();
    await d.client.networkCreate({ Name: 'alpha', IPAM: { Config: [{ Subnet: '10.1.0.0/24' }] } });
    await d.client.networkCreate({ Name: 'beta', IPAM: { Config: [{ Subnet: '10.2.0.0/24' }] } });
    await runSandbox(d, 'a1', { network: 'alpha' });
    await runSandbox(d, 'a2', { network: 'alpha' });
    await runSandbox(d, 'b1', { network: 'beta' });
  });
  after(async () => { await d?.destroy(); });

  test('sandboxes on one network reach each other', async () => {
    assert.ok(await canPing(d, 'a1', await ipOf(d, 'a2', 'alpha')));
    assert.ok(await canPing(d, 'a2', await ipOf(d, 'a1', 'alpha')));
  });

  test('sandboxes on different networks do not', async () => {
    assert.equal(await canPing(d, 'a1', await ipOf(d, 'b1', 'beta')), false);
    assert.equal(await canPing(d, 'b1', await ipOf(d, 'a1', 'alpha')), false);
  });

  test('a sandbox on two networks reaches both', async () => {
    await runSandbox(d, 'both', { networks: { alpha: {}, beta: {} }, network: 'alpha' });
    assert.ok(await canPing(d, 'both', await ipOf(d, 'a1', 'alpha')));
    assert.ok(await canPing(d, 'both', await ipOf(d, 'b1', 'beta')));
    const links = (await inSandbox(d, 'both', 'ip -o link show | grep -c eth')).stdout.trim();
    assert.equal(links, '2');
  });

  test('the default gateway follows GwPriority, then the name, on connect and disconnect', async () => {
    await runSandbox(d, 'gw', { network: 'beta' });
    assert.match(await defaultRoute(d, 'gw'), /via 10\.2\.0\.1 /);
    // alpha < beta by name, so connecting alpha moves the default route there.
    await d.client.networkConnect('alpha', 'gw');
    assert.match(await defaultRoute(d, 'gw'), /via 10\.1\.0\.1 /);
    await d.client.networkDisconnect('alpha', 'gw');
    assert.match(await defaultRoute(d, 'gw'), /via 10\.2\.0\.1 /);
    // A higher GwPriority wins over the name order.
    await d.client.networkCreate({ Name: 'zeta', IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } });
    await d.client.networkConnect('zeta', 'gw', { GwPriority: 10 });
    assert.match(await defaultRoute(d, 'gw'), /via 10\.9\.0\.1 /);
    await d.client.networkConnect('alpha', 'gw');
    assert.match(await defaultRoute(d, 'gw'), /via 10\.9\.0\.1 /);
    await d.client.networkDisconnect('zeta', 'gw');
    assert.match(await defaultRoute(d, 'gw'), /via 10\.1\.0\.1 /);
    // Internal networks never take the default route.
    await d.client.networkCreate({ Name: 'aaa-internal', Internal: true, IPAM: { Config: [{ Subnet: '10.8.0.0/24' }] } });
    await d.client.networkConnect('aaa-internal', 'gw', { GwPriority: 100 });
    assert.match(await defaultRoute(d, 'gw'), /via 10\.1\.0\.1 /);
    // Reconnecting reuses the interface name; the route must come back.
    await d.client.networkDisconnect('alpha', 'gw');
    assert.match(await defaultRoute(d, 'gw'), /via 10\.2\.0\.1 /);
    await d.client.networkConnect('alpha', 'gw');
    assert.match(await defaultRoute(d, 'gw'), /via 10\.1\.0\.1 /);
  });

  test('host and none modes', async () => {
    await runSandbox(d, 'nonet', { network: 'none' });
    const links = (await inSandbox(d, 'nonet', 'ip -o link show')).stdout.trim().split('\n');
    assert.equal(links.length, 1);
    assert.match(links[0] ?? '', /lo:/);
    await runSandbox(d, 'hostnet', { network: 'host' });
    const hostLinks = (await inSandbox(d, 'hostnet', 'ip -o link show')).stdout;
    assert.match(hostLinks, /cnm0/);
    const r = await d.docker(['network', 'connect', 'alpha', 'nonet'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot be connected to any other network/);
  });

  test('stop releases endpoints and addresses; start attaches again, static IPs kept', async () => {
    await d.client.containerCreate('st', { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'alpha' }, NetworkingConfig: { EndpointsConfig: { alpha: { IPAMConfig: { IPv4Address: '10.1.0.77' } } } } });
    await d.client.containerStart('st');
    assert.equal(await ipOf(d, 'st', 'alpha'), '10.1.0.77');
    const epId = (await d.client.containerInspect('st')).NetworkSettings.Networks.alpha?.EndpointID ?? '';
    const veth = `veth${epId.slice(0, 11)}`;
    assert.equal((await d.ns.sh(`ip link show ${veth}`, { allowFail: true })).code, 0);
    await d.client.containerStop('st', 1);
    const net = await d.client.networkInspect('alpha');
    assert.ok(!Object.values(net.Containers ?? {}).some((c) => c.Name === 'st'));
    // Down at once, deleted by the reaper moments later (core/reaper.ts).
    await waitFor(async () => (await d.ns.sh(`ip link show ${veth}`, { allowFail: true })).code !== 0, { what: () => 'the host end to be gone', timeoutMs: 10_000 });
    await d.client.containerStart('st');
    assert.equal(await ipOf(d, 'st', 'alpha'), '10.1.0.77');
    assert.ok(await canPing(d, 'a1', '10.1.0.77'));
  });

  test('50 concurrent connects get unique, working addresses', async () => {
    await d.client.networkCreate({ Name: 'many', IPAM: { Config: [{ Subnet: '10.50.0.0/24' }] } });
    const names = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await Promise.all(names.map((n) => runSandbox(d, n, { network: 'beta' })));
    await Promise.all(names.map((n) => d.client.networkConnect('many', n)));
    const net = await d.client.networkInspect('many');
    const ips = Object.values(net.Containers ?? {}).map((c) => c.IPv4Address);
    assert.equal(ips.length, 50);
    assert.equal(new Set(ips).size, 50);
    // Every one answers from a peer on the network.
    const results = await Promise.all(names.slice(1).map(async (n) => canPing(d, 'm0', await ipOf(d, n, 'many'))));
    assert.deepEqual(results.filter((x) => !x).length, 0);
  });
});
