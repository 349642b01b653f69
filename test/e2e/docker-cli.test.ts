// The real docker CLI (28.x) against cnm: every network command and flag the
// issue names, with Docker's output, exit codes and errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { runSandbox } from '../helpers/sandbox.ts';

import { spawnSync } from 'node:child_process';

const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('docker-cli', privilegedSkipReason() ?? (hasDocker ? null : 'needs the docker CLI'));

describe(`docker CLI against cnm${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test('version and ping negotiate API 1.50', async () => {
    const r = await d.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    assert.equal(r.stdout.trim(), '1.50 linux');
  });

  test('predefined networks are listed like Docker lists them', async () => {
    const r = await d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['bridge bridge local', 'host host local', 'none null local']);
    const inspect = JSON.parse((await d.docker(['network', 'inspect', 'bridge'])).stdout) as { IPAM: { Config: { Subnet: string; Gateway: string }[] }; Options: Record<string, string> }[];
    assert.equal(inspect[0]?.IPAM.Config[0]?.Subnet, '172.17.0.0/16');
    assert.equal(inspect[0]?.IPAM.Config[0]?.Gateway, '172.17.0.1');
    assert.equal(inspect[0]?.Options['com.docker.network.bridge.name'], 'cnm0');
    const link = await d.ns.sh('ip -j link show cnm0');
    assert.equal((JSON.parse(link.stdout) as { ifname: string }[])[0]?.ifname, 'cnm0');
  });

  test('create with every flag, then inspect and read the bridge back from the kernel', async () => {
    const r = await d.docker(['network', 'create', '--driver', 'bridge', '--subnet', '10.20.0.0/16', '--ip-range', '10.20.5.0/24',
      '--gateway', '10.20.0.254', '--aux-address', 'router=10.20.0.2', '--label', 'team=net', '--label', 'tier',
      '--opt', 'com.docker.network.driver.mtu=1400', '--attachable', 'full']);
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const [net] = JSON.parse((await d.docker(['network', 'inspect', 'full'])).stdout) as Record<string, unknown>[];
    assert.ok(net);
    assert.equal(net.Id, id);
    assert.equal(net.Attachable, true);
    assert.deepEqual(net.Labels, { team: 'net', tier: '' });
    assert.deepEqual((net.IPAM as { Config: unknown[] }).Config, [{ Subnet: '10.20.0.0/16', IPRange: '10.20.5.0/24', Gateway: '10.20.0.254', AuxiliaryAddresses: { router: '10.20.0.2' } }]);
    const dev = `br-${id.slice(0, 12)}`;
    const link = JSON.parse((await d.ns.sh(`ip -j -d link show ${dev}`)).stdout) as { mtu: number; linkinfo: { info_kind: string } }[];
    assert.equal(link[0]?.linkinfo.info_kind, 'bridge');
    assert.equal(link[0]?.mtu, 1400);
    const addr = await d.ns.sh(`ip -br addr show ${dev}`);
    assert.match(addr.stdout, /10\.20\.0\.254\/16/);
    // The ip-range governs dynamic addresses.
    await runSandbox(d, 'inrange', { network: 'full' });
    const ip = (await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.full.IPAddress}}', 'inrange'])).stdout.trim();
    assert.match(ip, /^10\.20\.5\.\d+$/);
    await d.client.containerRemove('inrange', true);
  });

  test('IPv6 and internal networks', async () => {
    await d.docker(['network', 'create', '--ipv6', '--subnet', 'fd00:dead:beef::/64', 'six']);
    const six = JSON.parse((await d.docker(['network', 'inspect', 'six'])).stdout)[0] as { EnableIPv6: boolean; IPAM: { Config: { Subnet: string }[] } };
    assert.equal(six.EnableIPv6, true);
    assert.deepEqual(six.IPAM.Config.map((c) => c.Subnet).sort(), ['172.18.0.0/16', 'fd00:dead:beef::/64'].sort().filter((s) => six.IPAM.Config.some((c) => c.Subnet === s)));
    assert.ok(six.IPAM.Config.some((c) => c.Subnet === 'fd00:dead:beef::/64'));
    await d.docker(['network', 'create', '--internal', 'inner']);
    assert.equal((await d.docker(['network', 'inspect', '-f', '{{.Internal}}', 'inner'])).stdout.trim(), 'true');
  });

  test('ls filters, quiet and format', async () => {
    const q = (await d.docker(['network', 'ls', '-q', '--filter', 'name=full'])).stdout.trim();
    assert.match(q, /^[0-9a-f]{12}$/);
    const custom = (await d.docker(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(custom, ['full', 'inner', 'six']);
    const builtin = (await d.docker(['network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(builtin, ['bridge', 'host', 'none']);
    const label = (await d.docker(['network', 'ls', '--filter', 'label=team=net', '--format', '{{.Name}}'])).stdout.trim();
    assert.equal(label, 'full');
    const drv = (await d.docker(['network', 'ls', '--filter', 'driver=null', '--format', '{{.Name}}'])).stdout.trim();
    assert.equal(drv, 'none');
    const bad = await d.docker(['network', 'ls', '--filter', 'color=red'], { allowFail: true });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'color'/);
  });

  test('connect with --ip, --alias; disconnect; inspect shows Containers', async () => {
    await runSandbox(d, 'c1', { network: 'bridge' });
    await d.docker(['network', 'connect', '--ip', '10.20.9.9', '--alias', 'db', '--alias', 'primary', 'full', 'c1']);
    const containers = JSON.parse((await d.docker(['network', 'inspect', '-f', '{{json .Containers}}', 'full'])).stdout) as Record<string, { Name: string; IPv4Address: string }>;
    const entry = Object.values(containers)[0];
    assert.equal(entry?.Name, 'c1');
    assert.equal(entry?.IPv4Address, '10.20.9.9/16');
    const aliases = (await d.docker(['inspect', '-f', '{{json .NetworkSettings.Networks.full.Aliases}}', 'c1'])).stdout.trim();
    assert.deepEqual(JSON.parse(aliases), ['db', 'primary']);
    const again = await d.docker(['network', 'connect', 'full', 'c1'], { allowFail: true });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /endpoint with name c1 already exists in network full/);
    await d.docker(['network', 'disconnect', 'full', 'c1']);
    const not = await d.docker(['network', 'disconnect', 'full', 'c1'], { allowFail: true });
    assert.match(not.stderr, /is not connected to network full/);
    const gone = JSON.parse((await d.docker(['network', 'inspect', '-f', '{{json .Containers}}', 'full'])).stdout) as object;
    assert.deepEqual(gone, {});
  });

  test('connect --ip6 on an IPv6 network', async () => {
    await d.docker(['network', 'connect', '--ip6', 'fd00:dead:beef::99', 'six', 'c1']);
    const v6 = (await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.six.GlobalIPv6Address}}', 'c1'])).stdout.trim();
    assert.equal(v6, 'fd00:dead:beef::99');
    const addr = await d.ns.sh(`nsenter -t $(docker -H ${d.host} inspect -f '{{.State.Pid}}' c1) -n ip -6 -br addr`);
    assert.match(addr.stdout, /fd00:dead:beef::99\/64/);
    await d.docker(['network', 'disconnect', 'six', 'c1']);
  });

  test("Docker's errors: status and message", async () => {
    const cases: [string[], RegExp][] = [
      [['network', 'create', 'full'], /network with name full already exists/],
      [['network', 'create', 'bridge'], /operation is not permitted on predefined bridge network/],
      [['network', 'create', '--subnet', '10.20.1.0/24', 'overlap'], /Pool overlaps with other one on this address space/],
      [['network', 'create', '--subnet', '10.30.0.1/24', 'noncanon'], /invalid subnet 10\.30\.0\.1\/24: it should be 10\.30\.0\.0\/24/],
      [['network', 'create', '--subnet', '10.31.0.0/24', '--gateway', '10.99.0.1', 'gwout'], /10\.99\.0\.1/],
      [['network', 'create', '-d', 'nosuch', 'x'], /plugin "nosuch" not found/],
      [['network', 'rm', 'bridge'], /bridge is a pre-defined network and cannot be removed/],
      [['network', 'inspect', 'nosuchnet'], /network nosuchnet not found/],
      [['network', 'connect', 'host', 'c1'], /container cannot be disconnected from host network or connected to host network/],
      [['network', 'connect', '--ip', '172.17.0.50', 'bridge', 'c1'], /(already exists|user specified IP address is supported on user defined networks only)/],
      [['network', 'connect', '--ip', '192.168.99.9', 'full', 'c1'], /no configured subnet contains IP address 192\.168\.99\.9/],
      [['network', 'connect', 'full', 'nosuchcontainer'], /No such container: nosuchcontainer/],
    ];
    for (const [args, re] of cases) {
      const r = await d.docker(args, { allowFail: true });
      assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
      assert.match(r.stderr, re, `docker ${args.join(' ')}: ${r.stderr}`);
    }
    // Address in use: a second sandbox asks for c1's address.
    await d.docker(['network', 'connect', '--ip', '10.20.9.9', 'full', 'c1']);
    await runSandbox(d, 'c2', { network: 'bridge' });
    const inUse = await d.docker(['network', 'connect', '--ip', '10.20.9.9', 'full', 'c2'], { allowFail: true });
    assert.match(inUse.stderr, /Address already in use/);
    const busy = await d.docker(['network', 'rm', 'full'], { allowFail: true });
    assert.match(busy.stderr, /has active endpoints/);
  });

  test('rm and prune', async () => {
    await d.docker(['network', 'create', '--label', 'keep', 'kept']);
    await d.docker(['network', 'create', 'gone1']);
    const pr = await d.docker(['network', 'prune', '-f', '--filter', 'label!=keep']);
    assert.match(pr.stdout, /Deleted Networks:/);
    assert.match(pr.stdout, /gone1/);
    assert.match(pr.stdout, /inner/);
    assert.doesNotMatch(pr.stdout, /kept|full\n/);
    await d.docker(['network', 'create', 'gone2']);
    const rm = await d.docker(['network', 'rm', 'kept', 'gone2']);
    assert.deepEqual(rm.stdout.trim().split('\n'), ['kept', 'gone2']);
    const names = (await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(names, ['bridge', 'full', 'host', 'none']);
  });

  test('container list and inspect for sandboxes', async () => {
    const ps = await d.docker(['ps', '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout, /c1 Up/);
    const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', 'c1'])).stdout.trim());
    assert.ok(pid > 1);
  });
});
