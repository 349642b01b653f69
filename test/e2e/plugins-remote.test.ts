// Remote network and IPAM plugins through the docker CLI: a Python plugin
// (test/plugins/plugin.py) whose network driver makes a bridge and veths in
// the daemon's namespace and whose IPAM driver hands out pools and
// addresses. Create, run, connect, ping, disconnect, rm and a daemon
// restart; every call as libnetwork makes it; failures injected per call
// (an error, a hang, a killed plugin, garbage) fail that one operation,
// naming the plugin, and leave nothing half-made; a plugin restarted
// mid-life; unknown driver names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { startPlugin } from '../helpers/plugins.ts';
import type { Fault, TestPlugin } from '../helpers/plugins.ts';
import { canPing, inSandbox, ipOf } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('remote plugins', privilegedSkipReason());
const TIMEOUT_S = 2;

describe(`remote plugins${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  let rnet: TestPlugin;
  let ripam: TestPlugin;
  before(async () => {
    dir = mkdtempSync('/tmp/cnmt-plugins-');
    d = await startTestDaemon({ args: ['--plugin-dir', dir, '--plugin-timeout', String(TIMEOUT_S)] });
    rnet = await startPlugin({ dir, name: 'rnet', kind: 'network', netns: d.ns.path, args: ['--state', join(dir, 'rnet.state')] });
    ripam = await startPlugin({ dir, name: 'ripam', kind: 'ipam', netns: d.ns.path, args: ['--requires-mac', '--state', join(dir, 'ripam.state')] });
    writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
    await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
  });
  after(async () => {
    await d?.destroy();
    await rnet?.kill();
    await ripam?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const links = async (): Promise<string[]> =>
    (JSON.parse((await d.ns.sh('ip -j link show')).stdout) as Array<{ ifname: string }>).map((l) => l.ifname);
  const run = (name: string, net: string, extra: string[] = []): Promise<{ stdout: string; stderr: string; code: number }> =>
    d.docker(['run', '-d', '--name', name, '--network', net, ...extra, 'busybox', 'sleep', '100000']);
  const cleanup = async (containers: string[], networks: string[]): Promise<void> => {
    rnet.faults({});
    ripam.faults({});
    if (containers.length) await d.docker(['rm', '-f', ...containers], { allowFail: true });
    for (const n of networks) await d.docker(['network', 'rm', n], { allowFail: true });
  };
  const netId = async (name: string): Promise<string> => (await d.docker(['network', 'inspect', '-f', '{{.Id}}', name])).stdout.trim();

  test('a remote network driver: create, run, ping, connect, disconnect, restart, rm', async (t) => {
    t.after(() => cleanup(['ra', 'rb', 'rc'], ['rn1']));
    const from = rnet.calls().length;
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.61.0.0/24', '--gateway', '10.61.0.1', '--aux-address', 'r=10.61.0.250', '-o', 'foo=bar', 'rn1']);
    const id = await netId('rn1');
    const create = rnet.calls().find((c) => c.method === 'NetworkDriver.CreateNetwork');
    assert.deepEqual(create?.body, {
      NetworkID: id,
      Options: { 'com.docker.network.generic': { foo: 'bar' }, 'com.docker.network.enable_ipv4': true, 'com.docker.network.enable_ipv6': false, 'com.docker.network.internal': false },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.61.0.0/24', Gateway: '10.61.0.1/24', AuxAddresses: { r: '10.61.0.250/24' } }],
      IPv6Data: [],
    });
    assert.ok((await links()).includes(`pb-${id.slice(0, 10)}`), 'the plugin made its bridge');
    const inspect = JSON.parse((await d.docker(['network', 'inspect', 'rn1'])).stdout)[0];
    assert.equal(inspect.Driver, 'rnet');
    assert.equal(inspect.IPAM.Config[0].Subnet, '10.61.0.0/24');

    await run('ra', 'rn1');
    await run('rb', 'rn1');
    const a = await ipOf(d, 'ra', 'rn1');
    const b = await ipOf(d, 'rb', 'rn1');
    // The plugin's SrcName, moved in and renamed DstPrefix "eth" + 0, with the endpoint's MAC and address.
    const eth0 = await inSandbox(d, 'ra', 'ip -o link show eth0; ip -o -4 addr show eth0; ip route show default');
    const mac = JSON.parse((await d.docker(['inspect', 'ra'])).stdout)[0].NetworkSettings.Networks.rn1.MacAddress as string;
    assert.match(eth0.stdout, new RegExp(`link/ether ${mac}`));
    assert.match(eth0.stdout, new RegExp(`inet ${a.replace(/\./g, '\\.')}/24`));
    assert.match(eth0.stdout, /default via 10\.61\.0\.1 dev eth0/);
    assert.ok(await canPing(d, 'ra', b), 'container to container through the plugin\'s bridge');
    assert.ok(await canPing(d, 'ra', '10.61.0.1'), 'the gateway on the plugin\'s bridge');
    const byName = await inSandbox(d, 'ra', 'ping -c 1 -W 1 rb');
    assert.ok(byName.stdout.includes(b), `the embedded DNS (inside the sandbox) answers for rb: ${byName.stdout}`);

    // connect / disconnect a container whose first network is the default bridge.
    await d.docker(['run', '-d', '--name', 'rc', 'busybox', 'sleep', '100000']);
    const before = rnet.calls().length;
    await d.docker(['network', 'connect', 'rn1', 'rc']);
    assert.deepEqual(rnet.methods(before), ['NetworkDriver.CreateEndpoint', 'NetworkDriver.Join']);
    assert.match((await inSandbox(d, 'rc', 'ip -o link show eth1')).stdout, /eth1/);
    assert.ok(await canPing(d, 'rc', a));
    const ep = rnet.calls().at(-1)?.body.EndpointID as string;
    const join = rnet.calls().at(-1)?.body as { SandboxKey: string; NetworkID: string };
    assert.equal(join.NetworkID, id);
    assert.match(join.SandboxKey, /\//);
    const left = rnet.calls().length;
    await d.docker(['network', 'disconnect', 'rn1', 'rc']);
    assert.deepEqual(rnet.methods(left), ['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint']);
    assert.equal((await links()).some((l) => l === `pv${ep.slice(0, 10)}` || l === `pc${ep.slice(0, 10)}`), false, 'the veth went back and was deleted');

    // A daemon restart: the plugin keeps its networks (no CreateNetwork again); the containers keep their links.
    const restartFrom = rnet.calls().length;
    await d.stop();
    await d.restart();
    assert.equal(rnet.methods(restartFrom).includes('NetworkDriver.CreateNetwork'), false);
    assert.ok(await canPing(d, 'ra', b), 'after the daemon restart');

    await d.docker(['rm', '-f', 'ra', 'rb', 'rc']);
    await d.docker(['network', 'rm', 'rn1']);
    assert.ok(rnet.methods(from).includes('NetworkDriver.DeleteNetwork'));
    assert.equal((await links()).some((l) => l.startsWith('pb-') || l.startsWith('pv') || l.startsWith('pc')), false, 'nothing of the plugin left');
  });

  test('a remote IPAM driver under the bridge driver: pools, gateway, addresses with the MAC, release; across a restart', async (t) => {
    t.after(() => cleanup(['ia'], ['in1']));
    const from = ripam.calls().length;
    await d.docker(['network', 'create', '--ipam-driver', 'ripam', '--subnet', '10.62.0.0/24', '--aux-address', 'x=10.62.0.200', 'in1']);
    const inspect = JSON.parse((await d.docker(['network', 'inspect', 'in1'])).stdout)[0];
    assert.equal(inspect.IPAM.Driver, 'ripam');
    assert.equal(inspect.IPAM.Config[0].Gateway, '10.62.0.1', 'the gateway the plugin chose');
    assert.deepEqual(ripam.methods(from).filter((m) => m !== 'Plugin.Activate'), [
      'IpamDriver.GetCapabilities', 'IpamDriver.GetDefaultAddressSpaces', 'IpamDriver.RequestPool', 'IpamDriver.RequestAddress', 'IpamDriver.RequestAddress',
    ]);
    await run('ia', 'in1');
    assert.equal(await ipOf(d, 'ia', 'in1'), '10.62.0.2');
    const req = ripam.calls().at(-1);
    const mac = JSON.parse((await d.docker(['inspect', 'ia'])).stdout)[0].NetworkSettings.Networks.in1.MacAddress as string;
    assert.deepEqual(req?.body, { PoolID: 'pool-10.62.0.0/24', Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    assert.ok(await canPing(d, 'ia', '10.62.0.1'), 'the bridge has the plugin\'s gateway');
    await d.stop();
    await d.restart();
    const rel = ripam.calls().length;
    await d.docker(['rm', '-f', 'ia']);
    await d.docker(['network', 'rm', 'in1']);
    assert.deepEqual(ripam.calls().slice(rel).map((c) => [c.method, c.body.Address ?? c.body.PoolID]), [
      ['IpamDriver.ReleaseAddress', '10.62.0.2'],
      ['IpamDriver.ReleaseAddress', '10.62.0.1'],
      ['IpamDriver.ReleaseAddress', '10.62.0.200'],
      ['IpamDriver.ReleasePool', 'pool-10.62.0.0/24'],
    ]);
  });

  test('a remote network driver with a remote IPAM driver; docker info lists both', async (t) => {
    t.after(() => cleanup(['ba', 'bb'], ['bn1']));
    await d.docker(['network', 'create', '-d', 'rnet', '--ipam-driver', 'ripam', 'bn1']);
    const sub = JSON.parse((await d.docker(['network', 'inspect', 'bn1'])).stdout)[0].IPAM.Config[0].Subnet as string;
    assert.match(sub, /^10\.199\.\d+\.0\/24$/);
    await run('ba', 'bn1');
    await run('bb', 'bn1');
    assert.ok(await canPing(d, 'ba', await ipOf(d, 'bb', 'bn1')));
    const network = JSON.parse((await d.docker(['info', '--format', '{{json .Plugins.Network}}'])).stdout) as string[];
    assert.ok(network.includes('rnet') && network.includes('bridge'), network.join(' '));
    // IPAM plugins: cnm's own field (the docker CLI's struct has none).
    const info = await new Promise<{ Plugins: { IPAM: string[] } }>((resolve, reject) => {
      get({ socketPath: d.socket, path: '/info' }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => { s += c.toString(); });
        res.on('end', () => resolve(JSON.parse(s) as { Plugins: { IPAM: string[] } }));
      }).on('error', reject);
    });
    assert.deepEqual(info.Plugins.IPAM, ['default', 'ripam']);
  });

  test('Join\'s DstPrefix names the interface (prefix + index), its static routes are installed', async (t) => {
    t.after(() => cleanup(['wa', 'wb'], ['wn']));
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.65.0.0/24', '-o', 'prefix=ethwe', '-o', 'route=10.99.0.0/16', 'wn']);
    await run('wa', 'wn');
    await run('wb', 'wn');
    const r = await inSandbox(d, 'wa', 'ip -o link show; ip route');
    assert.match(r.stdout, /\d+: ethwe0@/);
    assert.match(r.stdout, /10\.99\.0\.0\/16 dev ethwe0/);
    assert.match(r.stdout, /default via 10\.65\.0\.1 dev ethwe0/);
    assert.equal(JSON.parse((await d.docker(['inspect', 'wa'])).stdout)[0].NetworkSettings.Networks.wn.Gateway, '10.65.0.1');
    assert.ok(await canPing(d, 'wa', await ipOf(d, 'wb', 'wn')));
    // A second network of the same prefix: the next index.
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.66.0.0/24', '-o', 'prefix=ethwe', 'wn2']);
    t.after(() => cleanup([], ['wn2']));
    await d.docker(['network', 'connect', 'wn2', 'wa']);
    assert.match((await inSandbox(d, 'wa', 'ip -o link show ethwe1')).stdout, /ethwe1/);
    await d.docker(['network', 'disconnect', 'wn2', 'wa']);
  });

  test('a connect right after a bridge disconnect takes the interface name the reaper has not freed yet', async (t) => {
    t.after(() => cleanup(['sc'], ['sbr', 'srn']));
    await d.docker(['network', 'create', '--subnet', '10.69.0.0/24', 'sbr']);
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.70.0.0/24', 'srn']);
    await d.docker(['run', '-d', '--name', 'sc', 'busybox', 'sleep', '100000']);
    for (let i = 0; i < 3; i++) {
      await d.client.networkConnect('sbr', 'sc');
      await d.client.networkDisconnect('sbr', 'sc');
      await d.client.networkConnect('srn', 'sc');
      const eth1 = await inSandbox(d, 'sc', 'ip -o -4 addr show eth1');
      assert.match(eth1.stdout, /inet 10\.70\.0\.\d+\/24/, 'eth1 is the plugin\'s link');
      await d.client.networkDisconnect('srn', 'sc');
    }
  });

  test('a daemon restarts with networks whose plugin is not there; they work once it is', async (t) => {
    t.after(async () => {
      if (!existsSync(rnet.socket)) await rnet.restart();
      await cleanup(['ac', 'ad'], ['an']);
    });
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.71.0.0/24', 'an']);
    await run('ac', 'an');
    await d.docker(['run', '-d', '--name', 'ad', 'busybox', 'sleep', '100000']);
    await d.stop();
    await rnet.kill();
    rmSync(rnet.socket);
    await d.restart();
    assert.equal(JSON.parse((await d.docker(['network', 'inspect', 'an'])).stdout)[0].Driver, 'rnet');
    const r = await d.docker(['network', 'connect', 'an', 'ad'], { allowFail: true });
    assert.match(r.stderr, /plugin "rnet" not found/);
    await rnet.restart();
    await d.docker(['network', 'connect', 'an', 'ad']);
    assert.ok(await canPing(d, 'ad', await ipOf(d, 'ac', 'an')));
  });

  test('unknown driver names give Docker\'s error', async () => {
    const r1 = await d.docker(['network', 'create', '-d', 'nosuch', 'un1'], { allowFail: true });
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /plugin "nosuch" not found/);
    const r2 = await d.docker(['network', 'create', '--ipam-driver', 'nosuchipam', 'un2'], { allowFail: true });
    assert.match(r2.stderr, /plugin "nosuchipam" not found/);
    const r3 = await d.docker(['network', 'create', '-d', 'ripam', 'un3'], { allowFail: true });
    assert.match(r3.stderr, /plugin "ripam" not found: Plugin does not implement the requested driver/);
    assert.equal((await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout.includes('un'), false);
  });

  /** What the plugin and cnm hold for network `n`: nothing half-made after a failure. */
  const clean = async (container: string, net: string): Promise<void> => {
    const nets = JSON.parse((await d.docker(['inspect', container])).stdout)[0].NetworkSettings.Networks as Record<string, unknown>;
    assert.equal(net in nets, false, `${container} is not on ${net}`);
    const mine = (JSON.parse((await d.docker(['network', 'inspect', net])).stdout)[0].Containers ?? {}) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mine), []);
    assert.equal((await inSandbox(d, container, 'ip -o link show eth1')).code !== 0, true, 'no eth1 in the container');
    assert.deepEqual((await links()).filter((l) => l.startsWith('pv') || l.startsWith('pc')), [], 'no veth of the plugin left');
  };

  const faults: { method: string; fault: Fault; why: RegExp }[] = [
    { method: 'NetworkDriver.CreateEndpoint', fault: 'error', why: /plugin "rnet": NetworkDriver\.CreateEndpoint: remote: injected failure/ },
    { method: 'NetworkDriver.Join', fault: 'http500', why: /plugin "rnet": NetworkDriver\.Join: injected failure/ },
    { method: 'NetworkDriver.Join', fault: 'garbage', why: /plugin "rnet": NetworkDriver\.Join: malformed answer/ },
    { method: 'NetworkDriver.Join', fault: 'timeout', why: /plugin "rnet": NetworkDriver\.Join: no answer within 2000 ms/ },
    { method: 'IpamDriver.RequestAddress', fault: 'error', why: /plugin "ripam": IpamDriver\.RequestAddress: remote: injected failure/ },
  ];
  for (const f of faults) {
    test(`connect fails when ${f.method} answers ${f.fault}: the plugin and the reason named, nothing left`, async (t) => {
      t.after(() => cleanup(['fc'], ['fn']));
      await d.docker(['network', 'create', '-d', 'rnet', '--ipam-driver', 'ripam', 'fn']);
      await d.docker(['run', '-d', '--name', 'fc', 'busybox', 'sleep', '100000']);
      (f.method.startsWith('Ipam') ? ripam : rnet).faults({ [f.method]: f.fault });
      const from = rnet.calls().length;
      const r = await d.docker(['network', 'connect', 'fn', 'fc'], { allowFail: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, f.why);
      await clean('fc', 'fn');
      // libnetwork's rollback: no Leave for a failed Join; DeleteEndpoint once created.
      const after = rnet.methods(from);
      assert.equal(after.includes('NetworkDriver.Leave'), false);
      if (f.method === 'NetworkDriver.Join') assert.ok(after.includes('NetworkDriver.DeleteEndpoint'));
      rnet.faults({});
      ripam.faults({});
      await d.docker(['network', 'connect', 'fn', 'fc']);
      assert.match((await inSandbox(d, 'fc', 'ip -o link show eth1')).stdout, /eth1/, 'the next connect works');
    });
  }

  test('a failure after Join (ProgramExternalConnectivity) undoes Join: Leave, DeleteEndpoint; the veth goes', async (t) => {
    t.after(() => cleanup(['pc1'], ['pn']));
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.63.0.0/24', 'pn']);
    rnet.faults({ 'NetworkDriver.ProgramExternalConnectivity': 'error' });
    const from = rnet.calls().length;
    const r = await d.docker(['run', '-d', '--name', 'pc1', '--network', 'pn', '-p', '8080:80', 'busybox', 'sleep', '100000'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.includes('discarded'), false, 'the ports go to the plugin');
    assert.match(r.stderr, /plugin "rnet": NetworkDriver\.ProgramExternalConnectivity: remote: injected failure/);
    assert.deepEqual(rnet.methods(from), ['NetworkDriver.CreateEndpoint', 'NetworkDriver.Join', 'NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint']);
    assert.deepEqual((await links()).filter((l) => l.startsWith('pv') || l.startsWith('pc')), []);
    rnet.faults({});
    await d.docker(['start', 'pc1']);
    const prog = rnet.calls().find((c, i) => i >= from && c.method === 'NetworkDriver.ProgramExternalConnectivity');
    assert.deepEqual((prog?.body.Options as Record<string, unknown>)['com.docker.network.portmap'], [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }]);
  });

  test('a plugin killed mid-call, then down: the operations fail naming it, the daemon serves on; restarted, it is activated again', async (t) => {
    t.after(() => cleanup(['kc'], ['kn']));
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.64.0.0/24', 'kn']);
    await d.docker(['run', '-d', '--name', 'kc', 'busybox', 'sleep', '100000']);
    rnet.faults({ 'NetworkDriver.Join': 'kill' });
    const r = await d.docker(['network', 'connect', 'kn', 'kc'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /plugin "rnet": NetworkDriver\.Join: socket hang up/);
    rnet.faults({});
    // Down: the daemon answers other requests meanwhile, and the plugin's calls fail after the retry window.
    assert.equal((await d.docker(['ps', '-q'])).code, 0);
    const r2 = await d.docker(['network', 'connect', 'kn', 'kc'], { allowFail: true });
    assert.match(r2.stderr, /plugin "rnet": Plugin\.Activate: cannot connect \(ECONNREFUSED\)/);
    const nets = JSON.parse((await d.docker(['inspect', 'kc'])).stdout)[0].NetworkSettings.Networks as Record<string, unknown>;
    assert.equal('kn' in nets, false);
    const from = rnet.calls().length;
    await rnet.restart();
    await d.docker(['network', 'connect', 'kn', 'kc']);
    assert.deepEqual(rnet.methods(from), ['Plugin.Activate', 'NetworkDriver.GetCapabilities', 'NetworkDriver.CreateEndpoint', 'NetworkDriver.Join']);
    assert.match((await inSandbox(d, 'kc', 'ip -o link show eth1')).stdout, /eth1/);
  });

  test('a hung plugin holds up its one operation only: the daemon answers meanwhile', async (t) => {
    t.after(() => cleanup(['hc'], ['hn']));
    await d.docker(['network', 'create', '-d', 'rnet', '--subnet', '10.68.0.0/24', 'hn']);
    await d.docker(['run', '-d', '--name', 'hc', 'busybox', 'sleep', '100000']);
    rnet.faults({ 'NetworkDriver.Join': 'timeout' });
    let done = false;
    const pending = d.docker(['network', 'connect', 'hn', 'hc'], { allowFail: true }).finally(() => { done = true; });
    await d.docker(['ps']);
    await d.docker(['network', 'inspect', 'hn']);
    await d.docker(['info', '--format', '{{.Name}}']);
    assert.equal(done, false, 'reads were answered while the plugin hung');
    const r = await pending;
    assert.match(r.stderr, /plugin "rnet": NetworkDriver\.Join: no answer within 2000 ms/);
    await clean('hc', 'hn');
  });

  test('an IPAM plugin that asks for replay gets its pools, gateway and addresses again at daemon start', async (t) => {
    const rrep = await startPlugin({ dir, name: 'rrep', kind: 'ipam', netns: d.ns.path, args: ['--replay'] });
    t.after(async () => {
      await cleanup(['rp1', 'rp2'], ['rpn']);
      await rrep.kill();
    });
    await d.docker(['network', 'create', '--ipam-driver', 'rrep', '--subnet', '10.67.0.0/24', 'rpn']);
    await run('rp1', 'rpn');
    assert.equal(await ipOf(d, 'rp1', 'rpn'), '10.67.0.2');
    await rrep.restart(); // its state is gone
    const from = rrep.calls().length;
    await d.stop();
    await d.restart();
    assert.deepEqual(rrep.calls().slice(from).filter((c) => c.method.endsWith('Pool') || c.method.endsWith('Address')).map((c) => [c.method, c.body.Pool ?? c.body.Address]), [
      ['IpamDriver.RequestPool', '10.67.0.0/24'],
      ['IpamDriver.RequestAddress', '10.67.0.1'],
      ['IpamDriver.RequestAddress', '10.67.0.2'],
    ]);
    await d.docker(['rm', '-f', 'rp1']);
    await run('rp2', 'rpn');
    assert.equal(await ipOf(d, 'rp2', 'rpn'), '10.67.0.2', 'released and handed out again');
  });

  test('network create fails on a plugin error and gives the IPAM pool back', async (t) => {
    t.after(() => cleanup([], ['cn']));
    rnet.faults({ 'NetworkDriver.CreateNetwork': 'error' });
    const from = ripam.calls().length;
    const r = await d.docker(['network', 'create', '-d', 'rnet', '--ipam-driver', 'ripam', 'cn'], { allowFail: true });
    assert.match(r.stderr, /plugin "rnet": NetworkDriver\.CreateNetwork: remote: injected failure/);
    assert.deepEqual(ripam.methods(from).slice(-2), ['IpamDriver.ReleaseAddress', 'IpamDriver.ReleasePool']);
    assert.equal((await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').includes('cn'), false);
  });
});
