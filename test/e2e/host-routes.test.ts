// A network created without a subnet gets one that no host route covers,
// and the daemon follows the host's routes as they change (a route watch,
// netlink/ops/route-watch.ts): a route added after it started is avoided,
// one deleted, or taken away silently by its link going down, frees its
// subnet again. The bridge of an IPv4-only network has no IPv6; one of an
// IPv6 network has IPv6 on, with its gateway.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';

const skip = skipUnlessCI('host-routes', privilegedSkipReason());

describe(`host routes and bridges' IPv6${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  const subnetOf = async (name: string): Promise<string> => {
    const r = await d.client.networkCreate({ Name: name });
    const n = await d.client.networkInspect(r.Id);
    return (n.IPAM.Config ?? []).find((c) => !c.Subnet?.includes(':'))?.Subnet ?? '';
  };

  test('auto subnets avoid host routes as they come and go', async () => {
    assert.equal(await subnetOf('a'), '172.18.0.0/16');
    await d.ns.sh('ip route add 172.19.0.0/16 dev lo');
    assert.equal(await subnetOf('b'), '172.20.0.0/16', 'a route added after the daemon started is avoided');
    await d.ns.sh([
      'ip link add w0 type veth peer name w1',
      'ip addr add 172.21.0.1/16 dev w0',
      'ip link set w0 up', 'ip link set w1 up',
    ].join(' && '));
    assert.equal(await subnetOf('c'), '172.22.0.0/16', "a link's connected route is avoided");
    // The kernel announces the deleted route, but not the connected route
    // that w0 going down takes with it.
    await d.ns.sh('ip route del 172.19.0.0/16 dev lo && ip link set w0 down');
    assert.equal(await subnetOf('d'), '172.19.0.0/16', 'a deleted route frees its subnet');
    assert.equal(await subnetOf('e'), '172.21.0.0/16', 'so does a link gone down');
    for (const n of ['a', 'b', 'c', 'd', 'e']) await d.client.networkRemove(n);
    await d.ns.sh('ip link del w0');
  });

  test("an IPv4-only network's bridge has no IPv6; an IPv6 network's has IPv6 and its gateway", async () => {
    const v4 = await d.client.networkCreate({ Name: 'four', IPAM: { Config: [{ Subnet: '10.71.0.0/24' }] } });
    const v6 = await d.client.networkCreate({ Name: 'six', EnableIPv6: true, IPAM: { Config: [{ Subnet: '10.72.0.0/24' }, { Subnet: 'fd72::/64' }] } });
    const br4 = `br-${v4.Id.slice(0, 12)}`;
    const br6 = `br-${v6.Id.slice(0, 12)}`;
    const sysctl = async (br: string): Promise<string> => (await d.ns.sh(`ip netns exec ${d.ns.name} sysctl -n net.ipv6.conf.${br}.disable_ipv6`)).stdout.trim();
    assert.equal(await sysctl(br4), '1');
    assert.equal((await d.ns.sh(`ip -6 -o addr show dev ${br4}`)).stdout.trim(), '', 'no IPv6 address at all');
    assert.match((await d.ns.sh(`ip -4 -o addr show dev ${br4}`)).stdout, /10\.71\.0\.1\/24/, 'the IPv4 gateway');
    assert.equal(await sysctl(br6), '0');
    const six = (await d.ns.sh(`ip -6 -o addr show dev ${br6}`)).stdout;
    assert.match(six, /fd72::1\/64/, 'the IPv6 gateway');
    await d.client.networkRemove('four');
    await d.client.networkRemove('six');
  });
});
