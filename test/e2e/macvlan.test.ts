// macvlan networks on this machine's kernel: containers on a "LAN" (a
// switch namespace with a LAN host) through a parent link in the daemon's
// namespace, in every mode; the host shim; Docker's option checks and error
// texts; published ports accepted with a warning; a kill -9 of the daemon.
// ipvlan, 802.1Q and dummy parents need kernel modules this machine lacks:
// test/vm/kernel-vm.test.ts runs them under Debian's stock kernel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const skip = skipUnlessCI('macvlan', privilegedSkipReason());

async function links(d: DaemonHandle): Promise<string[]> {
  return (JSON.parse((await d.ns.sh('ip -j link show')).stdout) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
}

describe(`macvlan${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let lan: Lan;
  let dir: string;
  before(async () => {
    d = await startTestDaemon();
    lan = await makeLan(d, { prefix: '192.168.77', hairpin: true });
    dir = mkdtempSync(join(tmpdir(), 'cnm-macvlan-'));
    writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
    await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
  });
  after(async () => {
    await lan?.destroy();
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const create = (name: string, mode: string, extra: string[] = []): Promise<{ stdout: string; stderr: string; code: number }> =>
    d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '192.168.77.0/24', '--gateway', '192.168.77.1',
      '--ip-range', '192.168.77.128/25', '-o', `parent=${lan.parent}`, '-o', `macvlan_mode=${mode}`, ...extra, name]);
  /** Whatever a test made goes, also when it fails; the LAN host forgets old neighbours (addresses are reused with new MACs). */
  const cleanup = async (containers: string[], networks: string[]): Promise<void> => {
    if (containers.length) await d.docker(['rm', '-f', ...containers], { allowFail: true });
    for (const n of networks) await d.docker(['network', 'rm', n], { allowFail: true });
    await lan.host.sh('ip neigh flush all');
  };

  for (const mode of ['bridge', 'private', 'vepa']) {
    test(`mode ${mode}: containers reach the LAN host and the LAN's router; each other ${mode === 'private' ? 'not' : 'too'}`, async (t) => {
      t.after(() => cleanup([`a-${mode}`, `b-${mode}`], [`mv-${mode}`]));
      await create(`mv-${mode}`, mode);
      const inspect = JSON.parse((await d.docker(['network', 'inspect', `mv-${mode}`])).stdout)[0];
      assert.equal(inspect.Driver, 'macvlan');
      assert.deepEqual(inspect.Options, { parent: lan.parent, macvlan_mode: mode });
      assert.equal(inspect.Internal, false);
      assert.equal(inspect.IPAM.Config[0].Gateway, '192.168.77.1');
      await runSandbox(d, `a-${mode}`, { network: `mv-${mode}` });
      await runSandbox(d, `b-${mode}`, { network: `mv-${mode}` });
      const a = await ipOf(d, `a-${mode}`, `mv-${mode}`);
      const b = await ipOf(d, `b-${mode}`, `mv-${mode}`);
      assert.match(a, /^192\.168\.77\.(1[2-9]\d|2\d\d)$/, 'from the ip-range');
      const kind = await inSandbox(d, `a-${mode}`, 'ip -d link show eth0');
      assert.match(kind.stdout, new RegExp(`macvlan mode ${mode}`));
      assert.ok(await canPing(d, `a-${mode}`, lan.hostIp), 'LAN host');
      assert.ok(await canPing(d, `a-${mode}`, '192.168.77.1'), 'router');
      assert.ok(await lan.host.ping(b), 'the LAN host reaches the container');
      assert.match((await inSandbox(d, `a-${mode}`, 'ip route show exact 0.0.0.0/0')).stdout, /default via 192\.168\.77\.1 dev eth0/);
      assert.equal(await canPing(d, `a-${mode}`, b), mode !== 'private', 'container to container');
    });
  }

  test('mode passthru: one container owns the parent; no other network may share it', async (t) => {
    t.after(() => cleanup(['pt'], ['mv-pt', 'mv-pt2']));
    await create('mv-pt', 'passthru');
    const r = await d.docker(['network', 'create', '-d', 'macvlan', '-o', `parent=${lan.parent}`, 'mv-pt2'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`macvlan network mv-pt is already using parent interface ${lan.parent} in mode passthru`));
    await runSandbox(d, 'pt', { network: 'mv-pt' });
    assert.ok(await canPing(d, 'pt', lan.hostIp));
  });

  test('passthru may not join a parent another network uses (Docker 27+ text)', async (t) => {
    t.after(() => cleanup([], ['mv-one', 'mv-two', 'mv-pt3']));
    await create('mv-one', 'bridge');
    const r = await d.docker(['network', 'create', '-d', 'macvlan', '-o', `parent=${lan.parent}`, '-o', 'macvlan_mode=passthru', 'mv-pt3'], { allowFail: true });
    assert.match(r.stderr, new RegExp(`cannot use mode passthru, macvlan network mv-one is already using parent interface ${lan.parent}`));
    // bridge-mode networks share a parent (on other subnets: IPAM refuses overlapping pools, as Docker's does)
    await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.77.9.0/24', '-o', `parent=${lan.parent}`, 'mv-two']);
  });

  test('IPv6: a dual-stack macvlan network; the container reaches the LAN host over both families', async (t) => {
    t.after(async () => {
      await cleanup(['v6box'], ['mv-v6']);
      await lan.host.sh('ip addr del fd77::100/64 dev eth0', { allowFail: true });
    });
    await lan.host.sh('ip addr add fd77::100/64 dev eth0 nodad');
    await d.docker(['network', 'create', '-d', 'macvlan', '--ipv6', '--subnet', '192.168.77.0/24', '--ip-range', '192.168.77.128/25',
      '--subnet', 'fd77::/64', '-o', `parent=${lan.parent}`, 'mv-v6']);
    await runSandbox(d, 'v6box', { network: 'mv-v6' });
    const info = (await d.client.containerInspect('v6box')).NetworkSettings.Networks['mv-v6'];
    assert.match(info?.GlobalIPv6Address ?? '', /^fd77::/);
    assert.ok(await canPing(d, 'v6box', lan.hostIp));
    assert.equal((await inSandbox(d, 'v6box', 'ping -6 -c 1 -W 2 fd77::100')).code, 0, 'IPv6 to the LAN host');
  });

  test('host shim: the host reaches its own macvlan containers; the shim goes with the network', async (t) => {
    t.after(() => cleanup(['shimmed'], ['mv-shim']));
    await create('mv-shim', 'bridge', ['-o', 'cnm.macvlan.host_shim=192.168.77.50']);
    const id = (await d.docker(['network', 'inspect', '-f', '{{.Id}}', 'mv-shim'])).stdout.trim();
    await runSandbox(d, 'shimmed', { network: 'mv-shim' });
    const ip = await ipOf(d, 'shimmed', 'mv-shim');
    assert.ok(await d.ns.ping(ip), 'host to container through the shim');
    assert.ok(await canPing(d, 'shimmed', '192.168.77.50'), 'container to the host shim');
    assert.ok((await links(d)).includes(`cnm-shim-${id.slice(0, 6)}`));
    await d.docker(['rm', '-f', 'shimmed']);
    await d.docker(['network', 'rm', 'mv-shim']);
    assert.ok(!(await links(d)).includes(`cnm-shim-${id.slice(0, 6)}`));
    assert.doesNotMatch((await d.ns.sh('ip route')).stdout, /192\.168\.77\.128\/25/);
  });

  test('bad input: a clear error, Docker\'s text where Docker has one, and nothing made', async () => {
    const before = await links(d);
    const nets = (await d.docker(['network', 'ls', '-q'])).stdout;
    const cases: Array<[string[], RegExp]> = [
      [['-o', 'parent=nope0'], /-o parent interface was not found on the host: nope0/],
      [['-o', 'parent=lo'], /loopback interface is not a valid macvlan parent link/],
      [['-o', 'parent=lan0.x'], /required interface name format is: name\.vlan_id, ex\. eth0\.10 for vlan 10, instead received lan0\.x/],
      [['-o', 'parent=lan0.5000'], /vlan id must be between 1-4094, received: 5000/],
      [['-o', 'parent=nope0.10'], /-o parent interface was not found on the host: nope0/],
      [['-o', `parent=${lan.parent}`, '-o', 'macvlan_mode=loud'], /requested macvlan mode 'loud' is not valid, 'bridge' mode is the macvlan driver default/],
      [['-o', `parent=${lan.parent}`, '-o', 'macvlan-mode=vepa'], /unknown option "macvlan-mode" for the macvlan driver/],
      [['-o', `parent=${lan.parent}`, '-o', 'cnm.macvlan.host_shim=192.168.77.130'], /host shim address 192\.168\.77\.130 lies in the range containers get addresses from/],
      [['-o', `parent=${lan.parent}`, '-o', 'cnm.macvlan.host_shim=nope'], /invalid value "nope" for option cnm\.macvlan\.host_shim: expected an IPv4 address/],
    ];
    for (const [opts, re] of cases) {
      const r = await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '192.168.77.0/24', '--ip-range', '192.168.77.128/25', ...opts, 'badnet'], { allowFail: true });
      assert.notEqual(r.code, 0, opts.join(' '));
      assert.match(r.stderr, re, opts.join(' '));
    }
    for (const [mode, re] of [['ipvlan_mode=l4', /requested ipvlan mode 'l4' is not valid, 'l2' mode is the ipvlan driver default/], ['ipvlan_flag=x', /requested ipvlan flag 'x' is not valid, 'bridge' is the ipvlan driver default/]] as const) {
      const r = await d.docker(['network', 'create', '-d', 'ipvlan', '-o', `parent=${lan.parent}`, '-o', mode, 'badnet'], { allowFail: true });
      assert.match(r.stderr, re);
    }
    assert.deepEqual(await links(d), before, 'no link made');
    assert.equal((await d.docker(['network', 'ls', '-q'])).stdout, nets, 'no network recorded');
  });

  test('ipvlan: one network per parent, with Docker\'s text (no ipvlan link is made at network create)', async (t) => {
    t.after(() => cleanup([], ['iv1', 'iv2', 'mv-iv']));
    await d.docker(['network', 'create', '-d', 'ipvlan', '--subnet', '10.88.0.0/24', '-o', `parent=${lan.parent}`, 'iv1']);
    const r = await d.docker(['network', 'create', '-d', 'ipvlan', '--subnet', '10.88.1.0/24', '-o', `parent=${lan.parent}`, 'iv2'], { allowFail: true });
    assert.match(r.stderr, new RegExp(`network iv1 is already using parent interface ${lan.parent}`));
    const m = await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.88.2.0/24', '-o', `parent=${lan.parent}`, 'mv-iv'], { allowFail: true });
    assert.match(m.stderr, new RegExp(`network iv1 is already using parent interface ${lan.parent}`), 'the kernel refuses macvlan and ipvlan on one parent');
  });

  test('published ports are accepted with a warning (as Docker does) and programmed nowhere', async (t) => {
    t.after(() => cleanup(['ported'], ['mv-ports']));
    await create('mv-ports', 'bridge');
    const created = await d.client.containerCreate('ported', {
      Cmd: ['sleep', 'infinity'],
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { NetworkMode: 'mv-ports', PortBindings: { '80/tcp': [{ HostPort: '8080' }] } },
    });
    assert.deepEqual(created.Warnings, ['Published ports are discarded: network mv-ports (macvlan) does not support port mappings; reach the container at its own address']);
    await d.client.containerStart(created.Id);
    const ports = (await d.client.containerInspect('ported')).NetworkSettings.Ports;
    assert.deepEqual(ports, { '80/tcp': null });
  });

  test('kill -9 of the daemon: after restart the container still talks, and no link is doubled or left', async (t) => {
    t.after(() => cleanup(['survivor'], ['mv-crash']));
    await create('mv-crash', 'bridge');
    await runSandbox(d, 'survivor', { network: 'mv-crash' });
    const ip = await ipOf(d, 'survivor', 'mv-crash');
    await d.stop('SIGKILL');
    await d.restart();
    assert.ok(await lan.host.ping(ip));
    assert.equal((await inSandbox(d, 'survivor', 'ip -o link show')).stdout.split('\n').filter((l) => /macvlan|eth0@/.test(l)).length, 1);
    await d.docker(['rm', '-f', 'survivor']);
    await d.docker(['network', 'rm', 'mv-crash']);
    assert.deepEqual((await links(d)).filter((l) => l.startsWith('cnm-') || l.startsWith('dm-')), []);
  });

  test('the docker CLI runs busybox on it (-p warns), the cnm CLI creates and lists it, compose brings a project up on it', async (t) => {
    t.after(() => cleanup(['bb'], ['mv-cli', 'mv-cnm']));
    await create('mv-cli', 'bridge');
    const r = await d.docker(['run', '-d', '--name', 'bb', '--network', 'mv-cli', '-p', '8080:80', 'busybox', 'sleep', '3600']);
    assert.match(r.stderr, /WARNING: Published ports are discarded: network mv-cli \(macvlan\) does not support port mappings/);
    assert.equal((await d.docker(['exec', 'bb', 'ping', '-c', '1', '-W', '2', lan.hostIp], { allowFail: true })).code, 0, 'busybox reaches the LAN host');
    await d.docker(['rm', '-f', 'bb']);
    await d.docker(['network', 'rm', 'mv-cli']);
    await d.cli(['network', 'create', '-d', 'macvlan', '--subnet', '192.168.77.0/24', '--ip-range', '192.168.77.128/25', '-o', `parent=${lan.parent}`, 'mv-cnm']);
    assert.match((await d.cli(['network', 'ls'])).stdout, /mv-cnm\s+macvlan\s+local/);
    assert.equal((await d.cli(['network', 'inspect', '-f', '{{.Options.parent}}', 'mv-cnm'])).stdout.trim(), lan.parent);
    await d.cli(['network', 'rm', 'mv-cnm']);

    writeFileSync(join(dir, 'docker-compose.yml'), `version: "3.8"
services:
  app:
    image: busybox:latest
    command: ["sleep", "3600"]
    ports: ["18080:8080"]
    networks: [lan]
networks:
  lan:
    driver: macvlan
    driver_opts:
      parent: ${lan.parent}
    ipam:
      config:
        - subnet: 192.168.77.0/24
          ip_range: 192.168.77.128/25
          gateway: 192.168.77.1
`);
    const compose = (args: string[]): Promise<{ stdout: string; stderr: string; code: number }> =>
      run('docker-compose', ['--no-ansi', '-p', 'mvp', '-f', join(dir, 'docker-compose.yml'), ...args], { ...process.env, DOCKER_HOST: d.host });
    t.after(() => compose(['down']));
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await d.docker(['exec', 'mvp_app_1', 'ping', '-c', '1', '-W', '2', lan.hostIp], { allowFail: true })).code, 0);
    assert.equal((await d.docker(['network', 'inspect', '-f', '{{.Driver}} {{.Options.parent}}', 'mvp_lan'])).stdout.trim(), `macvlan ${lan.parent}`);
    const down = await compose(['down']);
    assert.equal(down.code, 0, down.stderr);
  });
});
