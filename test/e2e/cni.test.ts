// CNI conflists as networks (-d cni), with Debian's reference plugins as they
// are (/usr/lib/cni): bridge with host-local, ptp, macvlan with static on a
// LAN, tuning in a chain. Containers ping across them, inspect shows the
// chain's addresses, the embedded DNS names them; DEL runs after a kill -9 of
// the daemon, stale attachments are GC'd at start. Bad conflists and failing,
// hanging and babbling plugins fail one operation with the plugin's name and
// leave nothing behind. Conflists, the cache and host-local's data live in
// temp dirs (never /etc/cni or /var/lib/cni).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { makeLan } from '../helpers/lan.ts';
import type { Lan } from '../helpers/lan.ts';
import { canPing, inSandbox, ipOf, runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';
import { FAKE_UPSTREAM } from '../helpers/fake-upstream.ts';

const skip = skipUnlessCI('cni', privilegedSkipReason());

/** A resolver answering example.test with one address (argv: bind address, answer). */

describe(`cni${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let lan: Lan;
  let dir: string;
  let bin: string;
  let ipamDir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnmt-cni-'));
    bin = join(dir, 'bin');
    ipamDir = join(dir, 'ipam');
    mkdirSync(bin);
    mkdirSync(join(dir, 'conf.d'));
    // Test plugins: one that fails with an error object, one that hangs, one that prints garbage.
    const plugin = (name: string, body: string): void => {
      writeFileSync(join(bin, name), `#!/bin/sh\ncat >/dev/null\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    plugin('failing', 'if [ "$CNI_COMMAND" = ADD ]; then echo \'{"cniVersion":"1.0.0","code":100,"msg":"no luck today","details":"the test said so"}\'; exit 1; fi; exit 0');
    plugin('hanging', 'if [ "$CNI_COMMAND" = ADD ]; then exec sleep 60; fi; exit 0');
    plugin('babbling', 'if [ "$CNI_COMMAND" = ADD ]; then echo "this is not json"; fi; exit 0');
    // A conflist in the directory: a network named after it at start.
    writeFileSync(join(dir, 'conf.d', '10-dirnet.conflist'), JSON.stringify({
      cniVersion: '1.0.0', name: 'dirnet',
      plugins: [{ type: 'bridge', bridge: 'cnidir0', isGateway: true, ipam: { type: 'host-local', subnet: '10.89.9.0/24', dataDir: join(dir, 'ipam') } }],
    }));
    d = await startTestDaemon({ args: ['--cni-bin-dir', bin, '--cni-bin-dir', '/usr/lib/cni', '--cni-conf-dir', join(dir, 'conf.d'), '--cni-timeout', '2'] });
    lan = await makeLan(d, { prefix: '192.168.78' });
    writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
    await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
  });
  after(async () => {
    await lan?.destroy();
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a conflist; its host-local data goes under the test's temp dir. */
  const conflist = (name: string, plugins: unknown[], extra: Record<string, unknown> = {}): string => {
    const p = join(dir, `${name}.conflist`);
    writeFileSync(p, JSON.stringify({ cniVersion: '1.0.0', name, plugins, ...extra }));
    return p;
  };
  const hostLocal = (subnet: string, routes: unknown[] = [{ dst: '0.0.0.0/0' }]): Record<string, unknown> => ({ type: 'host-local', subnet, routes, dataDir: ipamDir });
  /** host-local's leases of a CNI network (files named after addresses). */
  const leases = (name: string): string[] => {
    const p = join(ipamDir, name);
    return existsSync(p) ? readdirSync(p).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  };
  const hostLinks = async (): Promise<string[]> =>
    (JSON.parse((await d.ns.sh('ip -j link show')).stdout) as Array<{ ifname: string }>).map((l) => l.ifname);
  const vethsOn = async (bridge: string): Promise<string[]> =>
    (JSON.parse((await d.ns.sh(`ip -j link show master ${bridge}`, { allowFail: true })).stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
  const create = (name: string, path: string, extra: string[] = []): Promise<{ stdout: string; stderr: string; code: number }> =>
    d.docker(['network', 'create', '-d', 'cni', '-o', `cni.conflist=${path}`, ...extra, name], { allowFail: true });
  const cleanup = async (containers: string[], networks: string[]): Promise<void> => {
    if (containers.length) await d.docker(['rm', '-f', ...containers], { allowFail: true });
    for (const n of networks) await d.docker(['network', 'rm', n], { allowFail: true });
  };

  test('bridge + host-local: two containers ping each other by name; inspect shows the chain\'s addresses; rm releases the lease and the veth', async (t) => {
    t.after(() => cleanup(['ca', 'cb'], ['cbr']));
    const path = conflist('cbr', [{ type: 'bridge', bridge: 'cni-t0', isGateway: true, ipam: hostLocal('10.89.1.0/24') }]);
    const made = await create('cbr', path);
    assert.equal(made.code, 0, made.stderr);
    const net = JSON.parse((await d.docker(['network', 'inspect', 'cbr'])).stdout)[0];
    assert.equal(net.Driver, 'cni');
    assert.deepEqual(net.IPAM.Config, [], 'no cnm IPAM pool: the conflist\'s IPAM gives the addresses');
    await runSandbox(d, 'ca', { network: 'cbr' });
    await runSandbox(d, 'cb', { network: 'cbr' });
    const a = await ipOf(d, 'ca', 'cbr');
    const b = await ipOf(d, 'cb', 'cbr');
    assert.match(a, /^10\.89\.1\.\d+$/);
    assert.match(b, /^10\.89\.1\.\d+$/);
    assert.notEqual(a, b);
    const info = await d.client.containerInspect('ca');
    const ep = info.NetworkSettings.Networks.cbr!;
    assert.equal(ep.IPPrefixLen, 24);
    assert.equal(ep.Gateway, '10.89.1.1', 'the default route\'s gateway from the result');
    assert.match((await inSandbox(d, 'ca', 'ip -o link show eth0')).stdout, new RegExp(ep.MacAddress ?? '-'), 'the MAC the plugin gave eth0');
    assert.match((await inSandbox(d, 'ca', 'ip route show default')).stdout, /default via 10\.89\.1\.1 dev eth0/);
    assert.ok(await canPing(d, 'ca', b), 'container to container');
    assert.ok(await canPing(d, 'ca', 'cb'), 'by name through the embedded DNS');
    assert.match((await inSandbox(d, 'ca', 'cat /etc/resolv.conf')).stdout, /nameserver 127\.0\.0\.11/);
    assert.deepEqual(leases('cbr').sort(), [a, b].sort());
    assert.equal((await vethsOn('cni-t0')).length, 2);
    await d.docker(['rm', '-f', 'ca', 'cb']);
    assert.deepEqual(leases('cbr'), [], 'DEL released the addresses');
    assert.deepEqual(await vethsOn('cni-t0'), [], 'and the veths are gone');
    assert.deepEqual(readdirSync(join(d.dir, 'data', 'cni', 'results')).filter((f) => f.startsWith('cbr-')), [], 'and the cache entries');
  });

  test('the result\'s DNS servers (the bridge plugin\'s dns) are the sandbox\'s upstreams', async (t) => {
    t.after(() => cleanup(['cn'], ['cdns']));
    // A resolver on an address of the daemon's namespace, answering example.test.
    await d.ns.sh('ip link add cdns0 type veth peer name cdns1 && ip addr add 10.96.0.53/32 dev cdns0 && ip link set cdns0 up && ip link set cdns1 up');
    const fake = d.ns.spawn(process.execPath, ['--input-type=module', '-e', FAKE_UPSTREAM, '10.96.0.53', '203.0.113.9'], { cwd: process.cwd() });
    t.after(async () => {
      fake.kill();
      await d.ns.sh('ip link del cdns0', { allowFail: true });
    });
    await new Promise((r) => fake.stdout?.once('data', r));
    // CP 1.1.1's bridge answers with its own config's dns (not its IPAM's).
    const path = conflist('cdns', [{ type: 'bridge', bridge: 'cni-t5', isGateway: true, dns: { nameservers: ['10.96.0.53'] }, ipam: hostLocal('10.89.8.0/24') }]);
    assert.equal((await create('cdns', path)).code, 0);
    await runSandbox(d, 'cn', { network: 'cdns' });
    const r = await inSandbox(d, 'cn', 'getent ahostsv4 example.test | awk \'{print $1}\' | sort -u');
    assert.equal(r.stdout.trim(), '203.0.113.9', 'forwarded to the result\'s nameserver (the daemon\'s own upstream, 192.0.2.53, answers nothing)');
  });

  test('DEL after a kill -9 of the daemon; a stale cached attachment is GC\'d at start', async (t) => {
    t.after(() => cleanup(['ck'], ['ckill']));
    const path = conflist('ckill', [{ type: 'bridge', bridge: 'cni-t1', isGateway: true, ipam: hostLocal('10.89.2.0/24') }]);
    assert.equal((await create('ckill', path)).code, 0);
    await runSandbox(d, 'ck', { network: 'ckill' });
    const ip = await ipOf(d, 'ck', 'ckill');
    // An attachment the store never heard of (a crash between ADD and the
    // store write): a host-local lease with a cache entry naming it.
    const stale = 'f'.repeat(64);
    const add = await d.ns.sh(`echo '${JSON.stringify({ cniVersion: '1.0.0', name: 'ckill', ipam: hostLocal('10.89.2.0/24') })}' | CNI_COMMAND=ADD CNI_CONTAINERID=${stale} CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/host-local`);
    const staleIp = (JSON.parse(add.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0];
    // The cached chain is host-local alone: its DEL gives the lease back.
    const config = { cniVersion: '1.0.0', name: 'ckill', plugins: [{ type: 'host-local', ipam: hostLocal('10.89.2.0/24') }] };
    const entry = { kind: 'cniCacheV1', containerId: stale, config: Buffer.from(JSON.stringify(config)).toString('base64'), ifName: 'eth0', networkName: 'ckill', netns: '', cniArgs: [], capabilityArgs: {}, result: JSON.parse(add.stdout) };
    await d.stop('SIGKILL');
    writeFileSync(join(d.dir, 'data', 'cni', 'results', `ckill-${stale}-eth0`), JSON.stringify(entry));
    assert.deepEqual(leases('ckill').sort(), [ip, staleIp].sort());
    await d.restart();
    assert.deepEqual(leases('ckill'), [ip], 'the stale attachment was DEL\'d at start; the live one kept');
    assert.ok(await canPing(d, 'ck', '10.89.2.1'), 'the container still reaches its gateway');
    await d.docker(['rm', '-f', 'ck']);
    assert.deepEqual(leases('ckill'), [], 'DEL from the cache written before the kill');
    assert.deepEqual(await vethsOn('cni-t1'), []);
  });

  test('stop gives the lease back (DEL), start takes one again (ADD); two CNI networks in one sandbox', async (t) => {
    t.after(() => cleanup(['cs'], ['cstop', 'cstop2']));
    assert.equal((await create('cstop', conflist('cstop', [{ type: 'bridge', bridge: 'cni-t6', isGateway: true, ipam: hostLocal('10.89.10.0/24') }]))).code, 0);
    assert.equal((await create('cstop2', conflist('cstop2', [{ type: 'ptp', ipam: hostLocal('10.89.11.0/24', []) }]))).code, 0);
    await runSandbox(d, 'cs', { network: 'cstop' });
    await d.docker(['network', 'connect', 'cstop2', 'cs']);
    assert.equal(leases('cstop').length, 1);
    assert.equal(leases('cstop2').length, 1);
    assert.match((await inSandbox(d, 'cs', 'ip -o -4 addr show eth1')).stdout, /10\.89\.11\./, 'the second network on eth1');
    await d.docker(['stop', '-t', '1', 'cs']);
    assert.deepEqual([...leases('cstop'), ...leases('cstop2')], []);
    assert.deepEqual(await vethsOn('cni-t6'), []);
    await d.docker(['start', 'cs']);
    assert.match(await ipOf(d, 'cs', 'cstop'), /^10\.89\.10\.\d+$/);
    assert.match(await ipOf(d, 'cs', 'cstop2'), /^10\.89\.11\.\d+$/);
    assert.ok(await canPing(d, 'cs', '10.89.10.1'));
    assert.equal((await d.docker(['network', 'rm', 'cstop'], { allowFail: true })).code !== 0, true, 'in use');
    // A second chain with a default route: the plugin keeps the first one
    // (CP skips an existing route); cnm chooses among the endpoints as for
    // any network (same priority: the network name first).
    assert.equal((await create('cstop3', conflist('cstop3', [{ type: 'bridge', bridge: 'cni-t7', isGateway: true, ipam: hostLocal('10.89.12.0/24') }]))).code, 0);
    t.after(() => cleanup([], ['cstop3']));
    await d.docker(['network', 'connect', 'cstop3', 'cs']);
    assert.equal(leases('cstop3').length, 1);
    assert.match((await inSandbox(d, 'cs', 'ip route show default')).stdout, /^default via 10\.89\.10\.1 dev eth0/);
    await d.docker(['network', 'disconnect', 'cstop', 'cs']);
    assert.match((await inSandbox(d, 'cs', 'ip route show default')).stdout, /^default via 10\.89\.12\.1 dev eth2/, 'the other gateway once the first goes');
  });

  test('a restart rebuilds an endpoint whose interface went away (DEL and ADD again, the same address)', async (t) => {
    t.after(() => cleanup(['cr'], ['crej']));
    const path = conflist('crej', [{ type: 'bridge', bridge: 'cni-t8', isGateway: true, capabilities: { ips: true, mac: true }, ipam: hostLocal('10.89.13.0/24') },
      { type: 'tuning', capabilities: { mac: true } }]);
    assert.equal((await create('crej', path)).code, 0);
    await runSandbox(d, 'cr', { network: 'crej' });
    const ip = await ipOf(d, 'cr', 'crej');
    const info = await d.client.containerInspect('cr');
    const mac = info.NetworkSettings.Networks.crej!.MacAddress;
    await d.stop('SIGKILL');
    // The interface goes behind cnm's back, with the daemon down.
    const del = await run('nsenter', [`--net=${info.NetworkSettings.SandboxKey}`, 'ip', 'link', 'del', 'eth0'], process.env);
    assert.equal(del.code, 0, del.stderr);
    await d.restart();
    assert.equal(await ipOf(d, 'cr', 'crej'), ip, 'the same address');
    assert.match((await inSandbox(d, 'cr', 'ip -o link show eth0')).stdout, new RegExp(mac ?? '-'), 'and MAC');
    assert.ok(await canPing(d, 'cr', '10.89.13.1'));
    assert.deepEqual(leases('crej'), [ip], 'one lease: the old attachment was DEL\'d first');
    assert.equal((await vethsOn('cni-t8')).length, 1);
  });

  test('network rm DELs what the cache still holds for it (a DEL that had failed)', async () => {
    const path = conflist('cgone', [{ type: 'bridge', bridge: 'cni-t10', isGateway: true, ipam: hostLocal('10.89.15.0/24') }]);
    assert.equal((await create('cgone', path)).code, 0);
    const id = 'e'.repeat(64);
    const add = await d.ns.sh(`echo '${JSON.stringify({ cniVersion: '1.0.0', name: 'cgone', ipam: hostLocal('10.89.15.0/24') })}' | CNI_COMMAND=ADD CNI_CONTAINERID=${id} CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/host-local`);
    const config = { cniVersion: '1.0.0', name: 'cgone', plugins: [{ type: 'host-local', ipam: hostLocal('10.89.15.0/24') }] };
    mkdirSync(join(d.dir, 'data', 'cni', 'results'), { recursive: true });
    writeFileSync(join(d.dir, 'data', 'cni', 'results', `cgone-${id}-eth0`), JSON.stringify({ kind: 'cniCacheV1', containerId: id, config: Buffer.from(JSON.stringify(config)).toString('base64'), ifName: 'eth0', networkName: 'cgone', netns: '', cniArgs: [], capabilityArgs: {}, result: JSON.parse(add.stdout) }));
    assert.equal(leases('cgone').length, 1);
    await d.docker(['network', 'rm', 'cgone']);
    assert.deepEqual(leases('cgone'), []);
    assert.deepEqual(readdirSync(join(d.dir, 'data', 'cni', 'results')).filter((f) => f.startsWith('cgone-')), []);
  });

  test('ptp + host-local: the container reaches the host end of its point-to-point link', async (t) => {
    t.after(() => cleanup(['cp'], ['cptp']));
    const path = conflist('cptp', [{ type: 'ptp', ipMasq: false, ipam: hostLocal('10.89.3.0/24') }]);
    assert.equal((await create('cptp', path)).code, 0);
    const before = await hostLinks();
    await runSandbox(d, 'cp', { network: 'cptp' });
    const ip = await ipOf(d, 'cp', 'cptp');
    assert.match(ip, /^10\.89\.3\.\d+$/);
    const gw = (await d.client.containerInspect('cp')).NetworkSettings.Networks.cptp!.Gateway;
    assert.ok(gw, 'ptp routes through the host end: a default route with a gateway');
    assert.ok(await canPing(d, 'cp', gw));
    assert.match((await inSandbox(d, 'cp', 'ip route show default')).stdout, new RegExp(`^default via ${gw.replaceAll('.', '\\.')} dev eth0`));
    assert.equal((await hostLinks()).length, before.length + 1, 'one host-side veth');
    await d.docker(['rm', '-f', 'cp']);
    assert.deepEqual((await hostLinks()).sort(), before.sort(), 'gone with DEL');
    assert.deepEqual(leases('cptp'), []);
  });

  test('macvlan + static on a LAN: the container reaches the LAN host and the LAN host the container', async (t) => {
    t.after(() => cleanup(['cm'], ['cmac']));
    const path = conflist('cmac', [{
      type: 'macvlan', master: lan.parent, mode: 'bridge',
      ipam: { type: 'static', addresses: [{ address: '192.168.78.50/24', gateway: '192.168.78.1' }], routes: [{ dst: '0.0.0.0/0' }] },
    }]);
    assert.equal((await create('cmac', path)).code, 0);
    await d.docker(['run', '-d', '--name', 'cm', '--network', 'cmac', 'busybox', 'sleep', 'infinity']);
    assert.equal(await ipOf(d, 'cm', 'cmac'), '192.168.78.50');
    // The host's ip (busybox's has no -d) in the container's network namespace.
    const pid = (await d.client.containerInspect('cm')).State.Pid;
    assert.match((await run('nsenter', ['-t', String(pid), '-n', 'ip', '-d', 'link', 'show', 'eth0'], process.env)).stdout, /macvlan mode bridge/);
    assert.ok(await canPing(d, 'cm', lan.hostIp), 'LAN host');
    assert.ok(await lan.host.ping('192.168.78.50'), 'the LAN host reaches the container');
    assert.ok(await canPing(d, 'cm', 'cm'), 'its own name through the DNS listener inside the sandbox');
  });

  test('bridge + tuning: a sysctl, --mac-address (the mac capability) and --ip (the ips capability, to host-local) reach the interface', async (t) => {
    t.after(() => cleanup(['ct'], ['ctun']));
    const path = conflist('ctun', [
      { type: 'bridge', bridge: 'cni-t2', isGateway: true, capabilities: { ips: true }, ipam: hostLocal('10.89.4.0/24') },
      { type: 'tuning', capabilities: { mac: true }, sysctl: { 'net.ipv4.conf.eth0.arp_announce': '2' } },
    ]);
    assert.equal((await create('ctun', path)).code, 0);
    await d.docker(['run', '-d', '--name', 'ct', '--network', 'ctun', '--ip', '10.89.4.77', '--mac-address', '02:42:c0:ff:ee:01', 'busybox', 'sleep', 'infinity']);
    assert.equal(await ipOf(d, 'ct', 'ctun'), '10.89.4.77');
    assert.equal((await inSandbox(d, 'ct', 'cat /proc/sys/net/ipv4/conf/eth0/arp_announce')).stdout.trim(), '2');
    assert.match((await inSandbox(d, 'ct', 'ip -o link show eth0')).stdout, /02:42:c0:ff:ee:01/);
    const ep = (await d.client.containerInspect('ct')).NetworkSettings.Networks.ctun!;
    assert.equal(ep.MacAddress, '02:42:c0:ff:ee:01');
    assert.ok(await canPing(d, 'ct', '10.89.4.1'));
  });

  test('bandwidth: connect --driver-opt cni.bandwidth.* reaches the bandwidth plugin (a tbf on the host end)', async (t) => {
    t.after(() => cleanup(['cw'], ['cbw']));
    const path = conflist('cbw', [
      { type: 'bridge', bridge: 'cni-t3', isGateway: true, ipam: hostLocal('10.89.6.0/24') },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ]);
    assert.equal((await create('cbw', path)).code, 0);
    await runSandbox(d, 'cw', { network: 'bridge' });
    const r = await d.docker(['network', 'connect', '--driver-opt', 'cni.bandwidth.ingress_rate=1000000', '--driver-opt', 'cni.bandwidth.ingress_burst=64000', 'cbw', 'cw'], { allowFail: true });
    assert.equal(r.code, 0, r.stderr);
    const [veth] = await vethsOn('cni-t3');
    assert.ok(veth);
    assert.match((await d.ns.sh(`tc qdisc show dev ${veth}`)).stdout, /qdisc tbf .*rate 1Mbit/);
    await d.docker(['network', 'disconnect', 'cbw', 'cw']);
    assert.deepEqual(await vethsOn('cni-t3'), []);
    const bad = await d.docker(['network', 'connect', '--driver-opt', 'cni.bandwidth.ingress_rate=fast', 'cbw', 'cw'], { allowFail: true });
    assert.match(bad.stderr, /cni\.bandwidth\.ingress_rate "fast": expected a positive whole number/);
  });

  test('cnm doctor runs CHECK through the chain: a lease taken away behind cnm\'s back is reported', async (t) => {
    t.after(() => cleanup(['cc'], ['cchk']));
    const path = conflist('cchk', [{ type: 'bridge', bridge: 'cni-t4', isGateway: true, ipam: hostLocal('10.89.7.0/24') }]);
    assert.equal((await create('cchk', path)).code, 0);
    await runSandbox(d, 'cc', { network: 'cchk' });
    let r = await d.cli(['doctor'], { allowFail: true });
    assert.doesNotMatch(r.stdout, /cchk/, r.stdout);
    const ip = await ipOf(d, 'cc', 'cchk');
    rmSync(join(ipamDir, 'cchk', ip));
    r = await d.cli(['doctor'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /endpoint eth0 on cchk: CNI plugin bridge failed \(CHECK\)/);
  });

  test('-p through a portmap plugin (portMappings): the host port reaches the container', async (t) => {
    t.after(async () => {
      await cleanup(['cpm'], ['cport']);
      await d.ns.sh(`ip addr del 192.168.78.2/24 dev ${lan.parent}`, { allowFail: true });
    });
    const path = conflist('cport', [
      { type: 'bridge', bridge: 'cni-t9', isGateway: true, ipam: hostLocal('10.89.14.0/24') },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ]);
    assert.equal((await create('cport', path)).code, 0);
    await d.docker(['run', '-d', '--name', 'cpm', '--network', 'cport', '-p', '18080:80', 'busybox', 'sh', '-c', 'while true; do echo hello-from-cni | nc -l -p 80; done']);
    // From another namespace plugged into the daemon's: a remote client of the published port.
    const client = await lan.addHost('cnicli', '192.168.78.60/24');
    await d.ns.sh(`ip addr add 192.168.78.2/24 dev ${lan.parent}`, { allowFail: true });
    // The container's nc may not listen yet when run returns: asked until it answers.
    const got = await waitFor(async () => {
      const r = await client.sh('busybox nc -w 2 192.168.78.2 18080 </dev/null', { allowFail: true });
      return /hello-from-cni/.test(r.stdout) ? r.stdout : false;
    }, { what: () => 'the published port to answer', timeoutMs: 10_000 });
    assert.match(got, /hello-from-cni/);
    // portmap's rules (iptables, in the daemon's namespace) go with DEL.
    assert.match((await d.ns.sh('iptables-save -t nat')).stdout, /--dport 18080/);
    await d.docker(['rm', '-f', 'cpm']);
    assert.doesNotMatch((await d.ns.sh('iptables-save -t nat')).stdout, /--dport 18080/);
  });

  test('a conflist in --cni-conf-dir is a network named after it', async (t) => {
    t.after(() => cleanup(['cd'], []));
    const net = JSON.parse((await d.docker(['network', 'inspect', 'dirnet'])).stdout)[0];
    assert.equal(net.Driver, 'cni');
    await runSandbox(d, 'cd', { network: 'dirnet' });
    assert.match(await ipOf(d, 'cd', 'dirnet'), /^10\.89\.9\.\d+$/);
  });

  test('bad conflists are refused at network create with what is wrong', async () => {
    const bad = (name: string, text: string): string => {
      const p = join(dir, `${name}.conflist`);
      writeFileSync(p, text);
      return p;
    };
    const cases: Array<[string, RegExp]> = [
      [bad('b1', '{not json'), /not JSON/],
      [bad('b2', JSON.stringify({ name: 'b2', plugins: [{ type: 'bridge' }] })), /"cniVersion" undefined: expected one of/],
      [bad('b3', JSON.stringify({ cniVersion: '1.0.0', name: 'b3', plugins: [] })), /"plugins" is empty/],
      [bad('b4', JSON.stringify({ cniVersion: '1.0.0', name: 'b4', plugins: [{ bridge: 'x' }] })), /plugins\[0\]: expected a "type"/],
      [bad('b5', JSON.stringify({ cniVersion: '1.0.0', name: 'b5', plugins: [{ type: 'nosuchplugin' }] })), /plugin "nosuchplugin" not found in/],
      [bad('b6', JSON.stringify({ cniVersion: '1.0.0', name: 'b6', plugins: [{ type: 'bridge', ipam: { type: 'nosuchipam' } }] })), /plugin "nosuchipam" not found/],
      [join(dir, 'missing.conflist'), /cannot read CNI conflist .*missing\.conflist: ENOENT/],
    ];
    for (const [path, want] of cases) {
      const r = await create('badnet', path);
      assert.notEqual(r.code, 0, path);
      assert.match(r.stderr, want);
    }
    let r = await d.docker(['network', 'create', '-d', 'cni', 'badnet'], { allowFail: true });
    assert.match(r.stderr, /needs -o cni\.conflist=PATH/);
    r = await create('badnet', join(dir, 'cbr.conflist'), ['--subnet', '10.99.0.0/24']);
    assert.match(r.stderr, /takes no IPAM configuration/);
    r = await d.docker(['network', 'create', '-d', 'nosuchdriver', 'badnet'], { allowFail: true });
    assert.match(r.stderr, /plugin "nosuchdriver" not found/);
    assert.equal((await d.docker(['network', 'ls', '-q', '--filter', 'name=badnet'])).stdout.trim(), '');
  });

  for (const [plugin, want] of [
    ['failing', /CNI plugin failing failed \(ADD\): no luck today: the test said so \(code 100\)/],
    ['hanging', /CNI plugin hanging failed \(ADD\): no answer within 2 s \(killed\)/],
    ['babbling', /CNI plugin babbling failed \(ADD\): its result is not JSON/],
  ] as const) {
    test(`a ${plugin} plugin fails that one start, names itself, and leaves nothing half-made`, async (t) => {
      const name = `c${plugin}`;
      t.after(() => cleanup([name], [name]));
      const path = conflist(name, [{ type: 'bridge', bridge: `cni-${plugin.slice(0, 4)}`, isGateway: true, ipam: hostLocal('10.89.5.0/24') }, { type: plugin }]);
      assert.equal((await create(name, path)).code, 0);
      const r = await d.docker(['run', '-d', '--name', name, '--network', name, 'busybox', 'sleep', 'infinity'], { allowFail: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
      assert.deepEqual(leases(name), [], 'the bridge plugin\'s address was given back');
      assert.deepEqual(await vethsOn(`cni-${plugin.slice(0, 4)}`), [], 'and its veth removed');
      assert.deepEqual(readdirSync(join(d.dir, 'data', 'cni', 'results')).filter((f) => f.startsWith(`${name}-`)), []);
      await d.client.ping();
      assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', name])).stdout.trim(), 'false');
    });
  }
});
