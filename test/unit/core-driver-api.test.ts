// The driver API from the core's side, with a driver written against it
// alone (as a remote plugin would be): DriverOpts reach it, it names the
// interface, its join asks the core to move and rename a link it made on
// the host (a plugin's SrcName) and to install a route, and the gateway it
// reports (none here) is the one the sandbox gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, networkRequest, sandboxRequest } from '../helpers/core-world.ts';
import { invalid } from '../../src/model/errors.ts';
import type { NetworkDriver } from '../../src/drivers/driver.ts';

const seen: { driverOpts: Record<string, string>[] } = { driverOpts: [] };

const movingDriver: NetworkDriver = {
  name: 'mover',
  capabilities: { scope: 'local', ownNamespace: true, endpoints: true, singleton: false, combinable: true, portPublishing: false, dns: false },
  async validateNetwork(net) {
    if (net.options.mode && net.options.mode !== 'a') throw invalid(`invalid mode "${net.options.mode}": expected a`);
    return { made: 'yes' };
  },
  async createNetwork() {},
  async deleteNetwork() {},
  async createEndpoint(_net, ep, sandbox) {
    seen.driverOpts.push(ep.driverOpts);
    return { ifName: `mv${sandbox.ifNames.length}`, driverState: { tmp: `tmp${ep.id.slice(0, 6)}` } };
  },
  async join(ctx, _net, ep) {
    const tmp = ep.driverState.tmp ?? '';
    // Made on the host, as a plugin does; the core moves it in.
    await ctx.hostNs.rtnl.linkAdd({ kind: 'veth', name: tmp, peer: { name: `p${tmp}` } });
    return { iface: { name: ep.ifName, moveFrom: tmp }, gateway: { ipv4: null, ipv6: null }, routes: [{ dst: '10.98.0.0/16' }], dns: false };
  },
  async leave(ctx, _net, ep) {
    await ctx.hostNs.rtnl.linkDel(`p${ep.driverState.tmp ?? ''}`).catch(() => undefined);
  },
  ownedLinks: () => [],
};

test('a driver that knows only the API: options, names, link move, routes, no gateway', async () => {
  const w = await World.start();
  try {
    w.controller.ctx.drivers.register(movingDriver);
    await assert.rejects(w.controller.createNetwork(networkRequest('bad', { driver: 'mover', options: { mode: 'b' } })), /invalid mode "b"/);
    const net = await w.controller.createNetwork(networkRequest('mv', { driver: 'mover', ipamConfig: [{ subnet: '10.97.0.0/24' }] }));
    assert.equal(net.driverState.made, 'yes');
    const sbx = await w.controller.createSandbox(sandboxRequest('s1', {
      networkMode: 'mv', networks: [{ ref: 'mv', att: { aliases: [], gwPriority: 0, driverOpts: { 'x.y': 'z' } } }],
    }));
    await w.controller.startSandbox(sbx.id);
    assert.deepEqual(seen.driverOpts, [{ 'x.y': 'z' }]);
    const ep = [...w.controller.state.endpoints.values()].find((e) => e.networkId === net.id);
    assert.ok(ep);
    assert.equal(ep.ifName, 'mv0');
    assert.deepEqual(ep.gateway, { ipv4: null, ipv6: null });
    const ns = w.controller.ctx.netns.get(sbx.id);
    assert.ok(ns);
    const links = await ns.rtnl.linkList();
    const moved = links.find((l) => l.name === 'mv0');
    assert.ok(moved?.up, 'the link was moved in, renamed and brought up');
    assert.ok(!(await w.host.rtnl.linkList()).some((l) => l.name === ep.driverState.tmp), 'no longer on the host');
    assert.deepEqual((await ns.rtnl.addrList('mv0')).map((a) => a.cidr), [ep.ipv4]);
    const routes = await ns.rtnl.routeList({ family: 4 });
    assert.ok(routes.some((r) => r.dst === '10.98.0.0/16' && r.dev === 'mv0'), 'the route join asked for');
    assert.ok(!routes.some((r) => r.dst === 'default'), 'no gateway, no default route');
  } finally {
    await w.close();
  }
});

test('a driver whose join gives the addresses (cni): no pool, requested values passed in, the answer recorded, observers after join', async () => {
  const w = await World.start();
  const asked: Record<string, string>[] = [];
  let namedBeforeJoin = false;
  const ownAddresses: NetworkDriver = {
    name: 'own',
    capabilities: { scope: 'local', ownNamespace: true, endpoints: true, singleton: false, combinable: true, portPublishing: false, dns: true, addressesFromJoin: true },
    async validateNetwork() { return {}; },
    async createNetwork() {},
    async deleteNetwork() {},
    async createEndpoint(_net, ep, sandbox) {
      return { ifName: `eth${sandbox.ifNames.length}`, driverState: { ...ep.driverState } };
    },
    async join(_ctx, _net, ep, sandbox) {
      asked.push(ep.driverState);
      namedBeforeJoin ||= w.dns.names.has(ep.id);
      await sandbox.ns.rtnl.linkAdd({ kind: 'veth', name: ep.ifName, peer: { name: `${ep.ifName}p` } });
      await sandbox.ns.rtnl.addrAdd(ep.ifName, '10.77.0.9/24', { noDad: true });
      await sandbox.ns.rtnl.linkSet(ep.ifName, { up: true });
      return {
        iface: { name: ep.ifName }, gateway: { ipv4: '10.77.0.1', ipv6: null }, routes: [], dns: true,
        addresses: { ipv4: '10.77.0.9/24', mac: '02:00:00:00:77:09' }, dnsServers: ['10.77.0.53'],
      };
    },
    async leave() {},
    ownedLinks: () => [],
  };
  try {
    w.controller.ctx.drivers.register(ownAddresses);
    await assert.rejects(w.controller.createNetwork(networkRequest('o2', { driver: 'own', ipamConfig: [{ subnet: '10.77.0.0/24' }] })), /takes no IPAM configuration/);
    const net = await w.controller.createNetwork(networkRequest('o', { driver: 'own' }));
    assert.equal(net.ipv4, undefined, 'no cnm pool');
    const sbx = await w.controller.createSandbox(sandboxRequest('s2', {
      networkMode: 'o', networks: [{ ref: 'o', att: { aliases: [], gwPriority: 0, driverOpts: {}, ipv4Address: '10.77.0.9', macAddress: '02:00:00:00:77:09' } }],
    }));
    await w.controller.startSandbox(sbx.id);
    assert.deepEqual(asked, [{ requestedIpv4: '10.77.0.9', requestedMac: '02:00:00:00:77:09' }]);
    const ep = [...w.controller.state.endpoints.values()].find((e) => e.networkId === net.id);
    assert.ok(ep);
    assert.equal(ep.ipv4, '10.77.0.9/24');
    assert.equal(ep.mac, '02:00:00:00:77:09');
    assert.deepEqual(ep.gateway, { ipv4: '10.77.0.1', ipv6: null });
    assert.deepEqual(ep.dnsServers, ['10.77.0.53']);
    assert.equal(namedBeforeJoin, false, 'the DNS names come after join, with the address');
    assert.ok(w.dns.names.has(ep.id));
  } finally {
    await w.close();
  }
});
