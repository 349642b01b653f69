// Legacy plugins without privileges: discovery in a daemon's own
// directories, the handshake, the wire (media type, Err vs Error), Docker's
// errors and retries, and a plugin that dies, hangs, answers garbage or is
// restarted. The plugin is test/plugins/plugin.py without its data plane.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Plugins } from '../../src/drivers/remote/index.ts';
import { callPlugin, PLUGIN_MIME } from '../../src/drivers/remote/client.ts';
import { findPlugin, listPlugins, parseSpecUrl } from '../../src/drivers/remote/discovery.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { dstName } from '../../src/drivers/remote/network-driver.ts';
import { startPlugin } from '../helpers/plugins.ts';
import type { TestPlugin } from '../helpers/plugins.ts';

const net = { id: 'n'.repeat(64), name: 'pn', enableIPv4: true, enableIPv6: false, ipamOptions: {}, options: {}, internal: false } as const;

describe('remote plugins: discovery', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'cnm-plugdisc-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('.spec and .json files, flat or in a folder of the name; bad names and schemes', () => {
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'kuryr'), { recursive: true });
    writeFileSync(join(etc, 'kuryr', 'kuryr.spec'), 'http://127.0.0.1:23750\n');
    writeFileSync(join(etc, 'weave.spec'), 'unix:///run/weave/weave.sock');
    writeFileSync(join(etc, 'ib.json'), JSON.stringify({ Name: 'ib', Addr: 'tcp://10.0.0.1:9000' }));
    writeFileSync(join(etc, 'bad.spec'), '/no/scheme.sock');
    assert.deepEqual(findPlugin([join(dir, 'none'), etc], 'kuryr'), { host: '127.0.0.1', port: 23750 });
    assert.deepEqual(findPlugin([etc], 'weave'), { socket: '/run/weave/weave.sock' });
    assert.deepEqual(findPlugin([etc], 'ib'), { host: '10.0.0.1', port: 9000 });
    assert.equal(findPlugin([etc], 'missing'), null);
    assert.equal(findPlugin([etc], '../etc/weave'), null, 'a name is one path element');
    assert.throws(() => findPlugin([etc], 'bad'), /Unknown protocol/);
    assert.throws(() => parseSpecUrl('x', 'https://h:1'), /TLS plugins are not supported/);
    assert.deepEqual(listPlugins([etc, join(dir, 'none')]), ['bad', 'ib', 'kuryr', 'weave']);
  });

  test('Docker\'s interface names: DstPrefix and the first free index for it; an endpoint keeps its own at a restart', () => {
    assert.equal(dstName('eth', []), 'eth0');
    assert.equal(dstName('eth', ['eth0', 'eth2']), 'eth1');
    assert.equal(dstName('ethwe', ['eth0']), 'ethwe0');
    assert.equal(dstName('eth', ['eth0', 'eth1'], 'eth1'), 'eth1');
  });

  test('a stored network\'s plugin that is not there yet: not found until it comes', async () => {
    const plugins = new Plugins({ dirs: [dir], timeoutMs: 1000 });
    const reg = new DriverRegistry(undefined, plugins);
    reg.adopt('late');
    reg.adopt('bridge');
    assert.equal(reg.get('bridge').name, 'bridge');
    const d = reg.get('late');
    await assert.rejects(d.validateNetwork(net as never, []), /plugin "late" not found/);
    const p = await startPlugin({ dir, name: 'late', args: ['--noop'] });
    try {
      await d.validateNetwork(net as never, []);
      assert.deepEqual(p.methods(), ['Plugin.Activate', 'NetworkDriver.GetCapabilities']);
    } finally {
      await p.kill();
    }
  });

  test('an unknown driver name is Docker\'s 404', () => {
    const reg = new DriverRegistry(undefined, new Plugins({ dirs: [dir] }));
    assert.throws(() => reg.get('nosuch'), (e: Error & { status?: number }) => e.message === 'plugin "nosuch" not found' && e.status === 404);
    assert.throws(() => reg.ipam('nosuch'), /plugin "nosuch" not found/);
  });
});

describe('remote plugins: calls', () => {
  let dir: string;
  let np: TestPlugin;
  let ip: TestPlugin;
  let plugins: Plugins;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnm-plugcall-'));
    np = await startPlugin({ dir, name: 'pnet', kind: 'network', args: ['--noop', '--scope', 'global'] });
    ip = await startPlugin({ dir, name: 'pipam', kind: 'ipam', args: ['--requires-mac'] });
    plugins = new Plugins({ dirs: [dir], timeoutMs: 1500 });
  });
  after(async () => {
    await np?.kill();
    await ip?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the wire: POST /Interface.Method, Docker\'s media type, JSON body', async () => {
    let seen: { method?: string; url?: string; accept?: string; body?: string } = {};
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        seen = { method: req.method ?? '', url: req.url ?? '', accept: req.headers.accept ?? '', body };
        res.end('{"Implements":["NetworkDriver"]}');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const r = await callPlugin('t', { host: '127.0.0.1', port: (srv.address() as AddressInfo).port }, 'NetworkDriver.Leave', { NetworkID: 'a' }, { timeoutMs: 1000, retryMs: 0 });
      assert.deepEqual(r, { Implements: ['NetworkDriver'] });
      assert.deepEqual(seen, { method: 'POST', url: '/NetworkDriver.Leave', accept: PLUGIN_MIME, body: '{"NetworkID":"a"}' });
    } finally {
      srv.close();
    }
  });

  test('activation, capabilities and docker info\'s lists (the IPAM plugin is activated by the listing)', async () => {
    const d = plugins.network('pnet');
    assert.ok(d);
    await d.validateNetwork();
    assert.equal(d.capabilities.scope, 'global');
    assert.deepEqual(np.methods(), ['Plugin.Activate', 'NetworkDriver.GetCapabilities']);
    assert.deepEqual(await plugins.info(), { network: ['pnet'], ipam: ['pipam'] });
  });

  test('a plugin asked for what it does not implement', async () => {
    await assert.rejects(plugins.network('pipam')!.validateNetwork(), /plugin "pipam" not found: Plugin does not implement the requested driver/);
  });

  test('IPAM: pool, gateway, aux in libnetwork\'s order; the MAC when required; Error field', async () => {
    const ipam = plugins.ipam('pipam')!;
    const from = ip.calls().length;
    const got = await ipam.requestPools(net, [{ subnet: '10.88.0.0/24', gateway: '10.88.0.254', auxAddresses: { r: '10.88.0.9' } }]);
    assert.deepEqual(got.ipv4, { subnet: '10.88.0.0/24', gateway: '10.88.0.254', auxAddresses: { r: '10.88.0.9' } });
    const calls = ip.calls().slice(from).filter((c) => c.method !== 'Plugin.Activate');
    assert.deepEqual(calls.map((c) => c.method), ['IpamDriver.GetCapabilities', 'IpamDriver.GetDefaultAddressSpaces', 'IpamDriver.RequestPool', 'IpamDriver.RequestAddress', 'IpamDriver.RequestAddress']);
    assert.deepEqual(calls[2]?.body, { AddressSpace: 'testlocal', Pool: '10.88.0.0/24', SubPool: '', Options: {}, V6: false });
    assert.deepEqual(calls[3]?.body, { PoolID: 'pool-10.88.0.0/24', Address: '10.88.0.254', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.deepEqual(calls[4]?.body, { PoolID: 'pool-10.88.0.0/24', Address: '10.88.0.9', Options: {} });
    const withState = { ...net, ...got, ipamState: got.state };
    const a = await ipam.requestAddress(withState, 4, undefined, '02:42:ac:11:00:02');
    assert.equal(a, '10.88.0.1/24');
    assert.deepEqual(ip.calls().at(-1)?.body.Options, { 'com.docker.network.endpoint.macaddress': '02:42:ac:11:00:02' });
    await assert.rejects(ipam.requestAddress(withState, 4, '10.88.0.1', 'x'), /plugin "pipam": IpamDriver.RequestAddress: address 10.88.0.1 in use/);
    ip.faults({ 'IpamDriver.RequestAddress': 'error' });
    await assert.rejects(ipam.requestAddress(withState, 4, undefined, 'x'), /plugin "pipam": IpamDriver.RequestAddress: remote: injected failure of IpamDriver.RequestAddress/);
    ip.faults({ 'IpamDriver.RequestAddress': 'badaddr' });
    await assert.rejects(ipam.requestAddress(withState, 4, undefined, 'x'), /invalid Address "not-an-address"/);
    ip.faults({});
    await ipam.releaseAddress(withState, a);
    const rel = ip.calls().length;
    await ipam.releasePools(withState);
    assert.deepEqual(ip.methods(rel), ['IpamDriver.ReleaseAddress', 'IpamDriver.ReleaseAddress', 'IpamDriver.ReleasePool']);
  });

  test('a pool the plugin chose that overlaps a network is held, another asked for, then released', async () => {
    const ipam = plugins.ipam('pipam')!;
    const from = ip.calls().length;
    // The plugin hands out 10.199.0.0/24, 10.199.1.0/24, ... in turn.
    const got = await ipam.requestPools(net, [], ['10.199.0.0/23']);
    assert.equal(got.ipv4?.subnet, '10.199.2.0/24');
    assert.deepEqual(ip.calls().slice(from).filter((c) => c.method.endsWith('Pool')).map((c) => [c.method, c.body.PoolID ?? c.body.Pool]), [
      ['IpamDriver.RequestPool', ''], ['IpamDriver.RequestPool', ''], ['IpamDriver.RequestPool', ''],
      ['IpamDriver.ReleasePool', 'pool-10.199.0.0/24'], ['IpamDriver.ReleasePool', 'pool-10.199.1.0/24'],
    ]);
    await ipam.releasePools({ ...net, ipamState: got.state });
  });

  test('a failed step gives back what the IPAM plugin handed out', async () => {
    const ipam = plugins.ipam('pipam')!;
    ip.faults({ 'IpamDriver.RequestAddress': 'http500' });
    const from = ip.calls().length;
    await assert.rejects(ipam.requestPools(net, [{ subnet: '10.89.0.0/24' }]), /plugin "pipam": IpamDriver.RequestAddress: injected failure/);
    ip.faults({});
    assert.deepEqual(ip.methods(from), ['IpamDriver.RequestPool', 'IpamDriver.ReleasePool']);
  });

  test('garbage, a hang and a dead plugin fail one call each, naming the plugin and the reason', async () => {
    const d = plugins.network('pnet')!;
    np.faults({ 'NetworkDriver.DeleteNetwork': 'garbage' });
    await assert.rejects(d.deleteNetwork({} as never, net as never), /plugin "pnet": NetworkDriver.DeleteNetwork: malformed answer \(not JSON\)/);
    np.faults({ 'NetworkDriver.DeleteNetwork': 'timeout' });
    await assert.rejects(d.deleteNetwork({} as never, net as never), /plugin "pnet": NetworkDriver.DeleteNetwork: no answer within 1500 ms/);
    np.faults({ 'NetworkDriver.DeleteNetwork': 'kill' });
    await assert.rejects(d.deleteNetwork({} as never, net as never), /plugin "pnet": NetworkDriver.DeleteNetwork: socket hang up/);
    np.faults({});
    // Down: Docker's retries (1 s) until the window ends, then the reason.
    const t0 = Date.now();
    await assert.rejects(d.deleteNetwork({} as never, net as never), /plugin "pnet": Plugin.Activate: cannot connect \(ECONNREFUSED\)/);
    assert.ok(Date.now() - t0 >= 1000, 'retried once after 1 s');
  });

  test('a plugin restarted mid-life is activated again before its next call', async () => {
    await np.restart();
    const from = np.calls().length;
    const d = plugins.network('pnet')!;
    await d.deleteNetwork({} as never, net as never);
    assert.deepEqual(np.methods(from), ['Plugin.Activate', 'NetworkDriver.GetCapabilities', 'NetworkDriver.DeleteNetwork']);
  });

  test('a plugin that comes up while the call waits is reached (Docker\'s retry)', async () => {
    await np.kill();
    const d = plugins.network('pnet')!;
    const pending = d.deleteNetwork({} as never, net as never);
    await np.restart();
    await pending;
  });
});
