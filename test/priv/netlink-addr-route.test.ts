// Addresses, routes, neighbours, bridge FDB, bridge-port flags and batches,
// each read back through the layer and checked against iproute2's view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Netns } from '../../src/netlink/index.ts';
import { privilegedSkipReason, withNetns } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import type { TestNetns } from '../helpers/netns.ts';
import { rejectsWith } from '../helpers/netlink.ts';

const skip = skipUnlessCI('netlink-addr-route', privilegedSkipReason());

async function inNamespace(label: string, body: (ns: Netns, t: TestNetns) => Promise<void>): Promise<void> {
  await withNetns([label], async ([t]) => {
    const ns = await Netns.open(t!.path);
    try {
      await body(ns, t!);
    } finally {
      ns.close();
    }
  });
}


const ip = (t: TestNetns, ...args: string[]): string => execFileSync('ip', ['-n', t.name, ...args], { encoding: 'utf8' });

test('IPv4 and IPv6 addresses: add, list, duplicate, delete', { skip }, async () => {
  await inNamespace('addr', async (ns, t) => {
    await ns.rtnl.linkAdd({ kind: 'veth', name: 'v0', up: true, peer: { name: 'v1', up: true } });
    await ns.rtnl.addrAdd('v0', '10.10.0.1/24');
    await ns.rtnl.addrAdd('v0', 'fd10::1/64', { noDad: true });
    const mine = (await ns.rtnl.addrList('v0')).filter((a) => !a.cidr.startsWith('fe80'));
    assert.deepEqual(mine, [{ dev: 'v0', family: 4, cidr: '10.10.0.1/24' }, { dev: 'v0', family: 6, cidr: 'fd10::1/64' }]);
    const shown = ip(t, 'addr', 'show', 'dev', 'v0');
    assert.match(shown, /inet 10\.10\.0\.1\/24 brd 10\.10\.0\.255/);
    assert.match(shown, /inet6 fd10::1\/64 scope global\s*(nodad)?/);
    assert.doesNotMatch(shown, /fd10::1\/64.*tentative/, 'noDad: usable at once');
    await rejectsWith(ns.rtnl.addrAdd('v0', '10.10.0.1/24'), 'EEXIST', 'address 10.10.0.1/24 on "v0"');
    assert.ok((await ns.rtnl.addrList()).some((a) => a.dev === 'lo' && a.cidr === '127.0.0.1/8'));
    await ns.rtnl.addrDel('v0', '10.10.0.1/24');
    await ns.rtnl.addrDel('v0', 'fd10::1/64');
    assert.deepEqual((await ns.rtnl.addrList('v0')).filter((a) => !a.cidr.startsWith('fe80')), []);
    await rejectsWith(ns.rtnl.addrDel('v0', '10.10.0.1/24'), 'EADDRNOTAVAIL', '10.10.0.1/24');
  });
});

test('routes: default, onlink, other table, metric, source, replace, delete; IPv6 too', { skip }, async () => {
  await inNamespace('route', async (ns, t) => {
    await ns.rtnl.linkAdd({ kind: 'veth', name: 'v0', up: true, peer: { name: 'v1', up: true } });
    await ns.rtnl.addrAdd('v0', '10.20.0.2/24');
    await ns.rtnl.addrAdd('v0', 'fd20::2/64', { noDad: true });
    await ns.rtnl.routeAdd({ dst: 'default', gateway: '10.20.0.1' });
    await ns.rtnl.routeAdd({ dst: '198.51.100.0/24', gateway: '203.0.113.1', dev: 'v0', onlink: true });
    await ns.rtnl.routeAdd({ dst: '10.99.0.0/16', dev: 'v0', table: 100, metric: 50, src: '10.20.0.2' });
    await ns.rtnl.routeAdd({ dst: 'default', gateway: 'fd20::1', dev: 'v0' });
    const v4 = await ns.rtnl.routeList({ family: 4 });
    assert.deepEqual(v4.find((r) => r.dst === 'default'), { dst: 'default', family: 4, table: 254, gateway: '10.20.0.1', dev: 'v0' });
    assert.deepEqual(v4.find((r) => r.dst === '198.51.100.0/24'), { dst: '198.51.100.0/24', family: 4, table: 254, gateway: '203.0.113.1', dev: 'v0', onlink: true });
    assert.equal(v4.some((r) => r.dst === '10.99.0.0/16'), false, 'table 100 is not main');
    assert.deepEqual(await ns.rtnl.routeList({ table: 100 }), [{ dst: '10.99.0.0/16', family: 4, table: 100, dev: 'v0', metric: 50, src: '10.20.0.2' }]);
    const v6 = await ns.rtnl.routeList({ family: 6 });
    assert.equal(v6.find((r) => r.dst === 'default')?.gateway, 'fd20::1');
    assert.match(ip(t, 'route', 'show', 'table', '100'), /10\.99\.0\.0\/16 dev v0 scope link src 10\.20\.0\.2 metric 50/);
    assert.match(ip(t, 'route'), /198\.51\.100\.0\/24 via 203\.0\.113\.1 dev v0 onlink/);
    await rejectsWith(ns.rtnl.routeAdd({ dst: 'default', gateway: '10.20.0.1' }), 'EEXIST', 'route default via 10.20.0.1');
    await ns.rtnl.routeReplace({ dst: 'default', gateway: '10.20.0.3' });
    assert.equal((await ns.rtnl.routeList({ family: 4 })).find((r) => r.dst === 'default')?.gateway, '10.20.0.3');
    await ns.rtnl.routeDel({ dst: 'default', gateway: '10.20.0.3' });
    await ns.rtnl.routeDel({ dst: '10.99.0.0/16', dev: 'v0', table: 100 });
    assert.equal((await ns.rtnl.routeList({ family: 4 })).some((r) => r.dst === 'default'), false);
    assert.deepEqual(await ns.rtnl.routeList({ table: 100 }), []);
    await rejectsWith(ns.rtnl.routeDel({ dst: '10.98.0.0/16', dev: 'v0' }), 'ESRCH', '10.98.0.0/16');
    await rejectsWith(ns.rtnl.routeAdd({ dst: 'default', gateway: '10.77.0.1' }), 'ENETUNREACH', '10.77.0.1');
  });
});

test('neighbours: permanent IPv4 and IPv6 entries added, listed, deleted', { skip }, async () => {
  await inNamespace('neigh', async (ns, t) => {
    await ns.rtnl.linkAdd({ kind: 'veth', name: 'v0', up: true, peer: { name: 'v1', up: true } });
    await ns.rtnl.neighAdd({ dev: 'v0', ip: '10.30.0.9', mac: '02:00:00:00:30:09' });
    await ns.rtnl.neighAdd({ dev: 'v0', ip: 'fd30::9', mac: '02:00:00:00:30:0a' });
    const list = await ns.rtnl.neighList('v0');
    assert.deepEqual(list.find((n) => n.ip === '10.30.0.9'), { dev: 'v0', ip: '10.30.0.9', mac: '02:00:00:00:30:09', permanent: true, state: 'permanent' });
    assert.equal(list.find((n) => n.ip === 'fd30::9')?.mac, '02:00:00:00:30:0a');
    assert.match(ip(t, 'neigh', 'show', 'dev', 'v0'), /10\.30\.0\.9 lladdr 02:00:00:00:30:09 PERMANENT/);
    await rejectsWith(ns.rtnl.neighAdd({ dev: 'v0', ip: '10.30.0.9', mac: '02:00:00:00:30:01' }), 'EEXIST', '10.30.0.9');
    await ns.rtnl.neighAdd({ dev: 'v0', ip: '10.30.0.9', mac: '02:00:00:00:30:01', replace: true });
    assert.equal((await ns.rtnl.neighList('v0')).find((n) => n.ip === '10.30.0.9')?.mac, '02:00:00:00:30:01');
    await ns.rtnl.neighDel({ dev: 'v0', ip: '10.30.0.9' });
    await ns.rtnl.neighDel({ dev: 'v0', ip: 'fd30::9' });
    assert.deepEqual((await ns.rtnl.neighList('v0')).filter((n) => n.permanent), []);
  });
});

test('FDB: VXLAN remotes (self, append) and bridge entries (master)', { skip }, async () => {
  await inNamespace('fdb', async (ns, t) => {
    await ns.rtnl.linkAdd({ kind: 'vxlan', name: 'vx0', vni: 100, local: '192.0.2.1', port: 4789, learning: false });
    const zero = '00:00:00:00:00:00';
    await ns.rtnl.fdbAdd({ dev: 'vx0', mac: zero, dst: '192.0.2.2' });
    await ns.rtnl.fdbAdd({ dev: 'vx0', mac: zero, dst: '192.0.2.3', append: true });
    await ns.rtnl.fdbAdd({ dev: 'vx0', mac: '02:00:00:00:40:01', dst: '192.0.2.2', vni: 100 });
    const vx = await ns.rtnl.fdbList('vx0');
    assert.deepEqual(vx.filter((e) => e.mac === zero).map((e) => e.dst).sort(), ['192.0.2.2', '192.0.2.3']);
    const one = vx.find((e) => e.mac === '02:00:00:00:40:01');
    assert.equal(one?.dst, '192.0.2.2');
    assert.equal(one?.self, true);
    assert.equal(one?.permanent, true);
    assert.match(execFileSync('bridge', ['-n', t.name, 'fdb', 'show', 'dev', 'vx0'], { encoding: 'utf8' }), /02:00:00:00:40:01 dst 192\.0\.2\.2 .*self permanent/);
    await rejectsWith(ns.rtnl.fdbAdd({ dev: 'vx0', mac: zero, dst: '192.0.2.2' }), 'EEXIST', '192.0.2.2');
    await ns.rtnl.fdbDel({ dev: 'vx0', mac: zero, dst: '192.0.2.3' });
    assert.deepEqual((await ns.rtnl.fdbList('vx0')).filter((e) => e.mac === zero).map((e) => e.dst), ['192.0.2.2']);

    await ns.rtnl.linkAdd({ kind: 'bridge', name: 'br0', up: true });
    await ns.rtnl.linkAdd({ kind: 'veth', name: 'p0', peer: { name: 'p1' } });
    await ns.rtnl.linkSet('p0', { master: 'br0', up: true });
    await ns.rtnl.fdbAdd({ dev: 'p0', mac: '02:00:00:00:50:01', master: true, permanent: false });
    const port = (await ns.rtnl.fdbList('p0')).find((e) => e.mac === '02:00:00:00:50:01');
    assert.equal(port?.master, true);
    assert.equal(port?.bridge, 'br0');
    assert.equal(port?.permanent, false, 'static (NOARP), not local');
    await ns.rtnl.fdbDel({ dev: 'p0', mac: '02:00:00:00:50:01', master: true });
    assert.equal((await ns.rtnl.fdbList('p0')).some((e) => e.mac === '02:00:00:00:50:01'), false);
  });
});

test('bridge-port flags: hairpin, learning, isolated, neighbour suppression read back', { skip }, async () => {
  await inNamespace('brport', async (ns, t) => {
    await ns.rtnl.linkAdd({ kind: 'bridge', name: 'br0' });
    await ns.rtnl.linkAdd({ kind: 'veth', name: 'p0', peer: { name: 'p1' } });
    await ns.rtnl.linkSet('p0', { master: 'br0' });
    assert.deepEqual(await ns.rtnl.bridgePortGet('p0'), { hairpin: false, learning: true, isolated: false, neighSuppress: false });
    await ns.rtnl.bridgePortSet('p0', { hairpin: true, learning: false, isolated: true, neighSuppress: true });
    assert.deepEqual(await ns.rtnl.bridgePortGet('p0'), { hairpin: true, learning: false, isolated: true, neighSuppress: true });
    const j = (JSON.parse(execFileSync('ip', ['-n', t.name, '-d', '-j', 'link', 'show', 'p0'], { encoding: 'utf8' })) as Array<{ linkinfo: { info_slave_data: Record<string, unknown> } }>)[0]?.linkinfo.info_slave_data;
    assert.equal(j?.hairpin, true);
    assert.equal(j?.learning, false);
    assert.equal(j?.isolated, true);
    assert.equal(j?.neigh_suppress, true);
    await ns.rtnl.bridgePortSet('p0', { hairpin: false });
    assert.equal((await ns.rtnl.bridgePortGet('p0')).hairpin, false);
    await rejectsWith(ns.rtnl.bridgePortSet('p1', { hairpin: true }), 'EOPNOTSUPP', '"p1"');
    await rejectsWith(ns.rtnl.bridgePortGet('p1'), 'EOPNOTSUPP', 'not a port');
  });
});

test('batch: several changes in one sendmsg, in call order; failures reported', { skip }, async () => {
  await inNamespace('batch', async (ns) => {
    const made = await ns.rtnl.linkAdd({ kind: 'veth', name: 'v0', peer: { name: 'v1' } });
    await ns.rtnl.batch((b) => b
      .linkSet(made.index, { up: true, mtu: 1400 })
      .addrAdd(made.index, '10.40.0.2/24')
      .routeAdd({ dst: 'default', gateway: '10.40.0.1' }));
    const v0 = await ns.rtnl.linkGet('v0');
    assert.equal(v0?.up, true);
    assert.equal(v0?.mtu, 1400);
    assert.equal((await ns.rtnl.routeList({ family: 4 })).find((r) => r.dst === 'default')?.gateway, '10.40.0.1');
    // Not a transaction: the good change after a failing one still applies.
    await rejectsWith(ns.rtnl.batch((b) => b.addrAdd('v0', '10.40.0.2/24').addrAdd('v0', '10.40.0.3/24')), 'EEXIST', '10.40.0.2/24');
    assert.ok((await ns.rtnl.addrList('v0')).some((a) => a.cidr === '10.40.0.3/24'));
    await assert.rejects(ns.rtnl.batch((b) => b.addrAdd('v0', '10.40.0.2/24').addrAdd('v0', '10.40.0.3/24')), AggregateError);
    // A validation error stops the whole batch before anything is sent.
    await rejectsWith(ns.rtnl.batch((b) => b.addrAdd('v0', '10.40.0.4/24').addrAdd('v0', 'bogus')), 'INVALID_CIDR', 'bogus');
    assert.equal((await ns.rtnl.addrList('v0')).some((a) => a.cidr === '10.40.0.4/24'), false);
  });
});
