// Overlay networks across hosts on etcd, end to end: three "hosts"
// (namespaces on an underlay bridge, each with its own VTEP and its own cnm
// daemon) and etcd 3.4 in a namespace of its own on the same underlay
// (test/helpers/cluster.ts). Networks made on one host exist on all, their
// containers talk by name across hosts, and the failure cases of the issue
// converge: a killed daemon, a killed etcd, a host cut off the underlay.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { run } from '../helpers/daemon.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCluster, hostIp } from '../helpers/cluster.ts';
import type { TestCluster } from '../helpers/cluster.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { inSandbox, runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const execFileP = promisify(execFile);
const skip = skipUnlessCI('overlay', privilegedSkipReason());
const hasCompose = (): boolean => { try { execFileSync('docker-compose', ['version'], { stdio: 'ignore' }); return true; } catch { return false; } };

/** Pings by name or address until one answer comes (the first ARP may be lost). */
const ping = async (d: DaemonHandle, from: string, to: string): Promise<boolean> =>
  (await inSandbox(d, from, `ping -c 3 -i 0.2 -W 1 ${to}`)).code === 0;

/** The FDB and neighbour entries of an overlay network's vxlan0 on a host, as text. */
async function tables(d: DaemonHandle, netId: string): Promise<string> {
  const path = `${d.dir}/run/overlay/ovl-${netId.slice(0, 12)}`;
  const r = await execFileP('nsenter', [`--net=${path}`, 'sh', '-c', 'bridge fdb show dev vxlan0; ip neigh show dev vxlan0 nud permanent']).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return r.stdout;
}

describe('overlay networks across three hosts on etcd', { skip }, () => {
  let c: TestCluster;
  let A: DaemonHandle;
  let B: DaemonHandle;
  let C: DaemonHandle;
  let netId = '';

  before(async () => {
    c = await startCluster(3);
    [A, B, C] = c.hosts as [DaemonHandle, DaemonHandle, DaemonHandle];
  });
  after(async () => { await c?.destroy(); });

  it('a network created on one host exists on all, scope global, with a VNI', async () => {
    const out = await A.docker(['network', 'create', '-d', 'overlay', '--attachable', '--subnet', '10.90.0.0/24', 'ovl']);
    netId = out.stdout.trim();
    for (const h of [B, C]) {
      const ls = await waitFor(async () => {
        const r = await h.docker(['network', 'ls', '--filter', 'name=ovl', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
        return r.stdout.includes('ovl') && r.stdout;
      }, { what: 'the network on the other host' });
      assert.equal(ls.trim(), 'ovl overlay global');
    }
    const info = await A.client.networkInspect('ovl');
    assert.equal(info.Scope, 'global');
    const again = await B.docker(['network', 'create', '-d', 'overlay', 'ovl'], { allowFail: true });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /network with name ovl already exists/);
  });

  it('containers on different hosts ping and talk TCP by name, and inspect shows the peers', async () => {
    await runSandbox(A, 'a1', { network: 'ovl' });
    await runSandbox(B, 'b1', { network: 'ovl' });
    await runSandbox(C, 'c1', { network: 'ovl', extra: { Hostname: 'c1host' } as never });
    await waitFor(() => ping(A, 'a1', 'b1'), { what: 'a1 -> b1 by name', timeoutMs: 15_000 });
    await waitFor(() => ping(B, 'b1', 'c1'), { what: 'b1 -> c1 by name', timeoutMs: 15_000 });
    assert.ok(await ping(C, 'c1', 'a1.ovl'), 'name.network resolves across hosts');
    // TCP: a listener on C, a client on A.
    void inSandbox(C, 'c1', 'busybox nc -l -p 7000 -e echo hello-from-c');
    const got = await waitFor(async () => {
      const r = await inSandbox(A, 'a1', 'busybox nc -w 2 c1 7000 </dev/null');
      return r.stdout.includes('hello-from-c') && r.stdout;
    }, { what: 'a TCP answer from c1', timeoutMs: 10_000 });
    assert.match(got, /hello-from-c/);
    const info = await B.client.networkInspect('ovl');
    const peers = (info as { Peers?: Array<{ IP: string }> }).Peers ?? [];
    assert.deepEqual(peers.map((p) => p.IP).sort(), [hostIp(0), hostIp(1), hostIp(2)]);
    assert.equal(Object.keys(info.Containers ?? {}).length, 3);
  });

  it('overlay containers reach the outside through cnm_gwbridge (NAT), and -p publishes on the host where the container runs', async () => {
    // "Outside": host B's own underlay address, reached from a container on A.
    assert.equal((await inSandbox(A, 'a1', `ping -c 2 -W 1 ${hostIp(1)}`)).code, 0, 'a1 reaches another host\'s underlay address');
    const gw = await A.client.networkInspect('cnm_gwbridge');
    assert.equal(gw.Driver, 'bridge');
    assert.equal(gw.Scope, 'local');
    const a1 = await A.client.containerInspect('a1');
    assert.deepEqual(Object.keys(a1.NetworkSettings.Networks), ['ovl'], 'the gwbridge endpoint is not an attachment');
    await runSandbox(A, 'web', { extra: { HostConfig: { NetworkMode: 'ovl', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, ExposedPorts: { '80/tcp': {} } } as never });
    void inSandbox(A, 'web', 'busybox nc -l -p 80 -e echo published-on-a');
    const got = await waitFor(async () => {
      const r = await c.hostNs[1]!.sh(`busybox nc -w 2 ${hostIp(0)} 8080 </dev/null`, { allowFail: true });
      return r.stdout.includes('published-on-a') && r.stdout;
    }, { what: 'an answer on host A\'s published port, from host B', timeoutMs: 10_000 });
    assert.match(got, /published-on-a/);
    // Disconnected from its only overlay network, a sandbox loses its gwbridge endpoint too.
    await A.client.networkConnect('bridge', { Container: 'web' } as never).catch(() => undefined);
    await A.docker(['network', 'disconnect', 'ovl', 'web']);
    const gwAfter = await A.client.networkInspect('cnm_gwbridge');
    assert.ok(!Object.values(gwAfter.Containers ?? {}).some((e) => e.Name === 'web'), 'no gwbridge endpoint left for web');
  });

  it('local networks with one subnet on different hosts stay apart', async () => {
    await A.docker(['network', 'create', '--subnet', '10.91.0.0/24', 'loc']);
    await B.docker(['network', 'create', '--subnet', '10.91.0.0/24', 'loc']);
    await runSandbox(A, 'la', { network: 'loc' });
    await runSandbox(B, 'lb0', { network: 'loc' });
    await runSandbox(B, 'lb1', { network: 'loc' });
    const la = (await A.client.containerInspect('la')).NetworkSettings.Networks.loc!.IPAddress;
    const lb0 = (await B.client.containerInspect('lb0')).NetworkSettings.Networks.loc!.IPAddress;
    const lb1 = (await B.client.containerInspect('lb1')).NetworkSettings.Networks.loc!.IPAddress ?? '';
    assert.equal(la, lb0, 'each host hands out its own addresses: no cluster-wide claim on a local network');
    assert.ok(await ping(B, 'lb0', lb1), 'on one host they talk');
    assert.ok(!(await ping(A, 'la', lb1)), 'across hosts a local network does not reach');
    const ls = await C.docker(['network', 'ls', '--format', '{{.Name}}']);
    assert.ok(!ls.stdout.split('\n').includes('loc'), 'a local network is not on other hosts');
  });

  it('-o com.docker.network.driver.mtu sets the containers\' MTU; without it they get the underlay\'s minus 50', async () => {
    await A.docker(['network', 'create', '-d', 'overlay', '-o', 'com.docker.network.driver.mtu=1300', 'small']);
    await runSandbox(A, 'm1', { network: 'small' });
    assert.match((await inSandbox(A, 'm1', 'cat /sys/class/net/eth0/mtu')).stdout.trim(), /^1300$/);
    assert.match((await inSandbox(A, 'a1', 'cat /sys/class/net/eth0/mtu')).stdout.trim(), /^1450$/);
  });

  it('compose uses an overlay network declared external, from two hosts', { skip: hasCompose() ? false : 'needs docker-compose' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnmt-ovl-compose-'));
    try {
      writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
      writeFileSync(join(dir, 'docker-compose.yml'), `version: "3.8"
services:
  app:
    image: busybox:latest
    command: ["sleep", "3600"]
    networks: [ovl]
networks:
  ovl:
    external: true
`);
      for (const [h, p] of [[A, 'pa'], [B, 'pb']] as const) {
        await h.docker(['load', '-i', join(dir, 'busybox.tar')]);
        const r = await run('docker-compose', ['--no-ansi', '-p', p, '-f', join(dir, 'docker-compose.yml'), 'up', '-d'], { ...process.env, DOCKER_HOST: h.host });
        assert.equal(r.code, 0, r.stderr);
      }
      await waitFor(() => ping(A, 'pa_app_1', 'pb_app_1'), { what: 'compose service on A -> compose service on B by name', timeoutMs: 15_000 });
      for (const [h, p] of [[A, 'pa'], [B, 'pb']] as const) {
        await run('docker-compose', ['--no-ansi', '-p', p, '-f', join(dir, 'docker-compose.yml'), 'down'], { ...process.env, DOCKER_HOST: h.host });
      }
      assert.ok((await B.client.networkList()).some((n) => n.Name === 'ovl'), 'down leaves an external network alone');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a network removed on one host goes from every host, with its namespace and links', async () => {
    const id = (await A.docker(['network', 'create', '-d', 'overlay', 'gone'])).stdout.trim();
    const nsFile = (h: DaemonHandle): string => `${h.dir}/run/overlay/ovl-${id.slice(0, 12)}`;
    await waitFor(() => existsSync(nsFile(C)), { what: 'the overlay namespace on C' });
    await B.docker(['network', 'rm', 'gone']);
    for (const h of [A, B, C]) {
      await waitFor(async () => !existsSync(nsFile(h)) && !(await h.client.networkList()).some((n) => n.Name === 'gone'), { what: `the network and its namespace gone from ${h.dir}` });
    }
  });

  it('20 concurrent creates and connects from all three hosts: no duplicate name, address or VNI', async () => {
    const hosts = [A, B, C];
    const creates = await Promise.allSettled(Array.from({ length: 20 }, (_, k) =>
      hosts[k % 3]!.client.networkCreate({ Name: `race${k % 10}`, Driver: 'overlay', Attachable: true } as never)));
    const made = creates.filter((r) => r.status === 'fulfilled').length;
    assert.equal(made, 10, `one create per name wins: ${creates.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)).slice(0, 3).join('; ')}`);
    for (const r of creates) if (r.status === 'rejected') assert.match(String(r.reason), /already exists/);
    await waitFor(async () => (await C.client.networkList()).filter((n) => n.Name.startsWith('race')).length === 10, { what: 'every network on C' });
    const nets = (await C.client.networkList()).filter((n) => n.Scope === 'global');
    const subnets = nets.map((n) => n.IPAM.Config?.[0]?.Subnet);
    assert.equal(new Set(subnets).size, subnets.length, `distinct subnets: ${subnets.join(' ')}`);
    // The VNI claims in etcd: one per network, each owned by one of them.
    const claims = (await c.members[0]!.ns.sh(`ETCDCTL_API=3 etcdctl --endpoints ${c.etcd[0]!.url} get --prefix /cnm/v1/claims/vni/`)).stdout.trim().split('\n');
    const owners = claims.filter((_, i) => i % 2 === 1);
    assert.equal(owners.length, nets.length, `one VNI per network:\n${claims.join('\n')}`);
    assert.deepEqual(new Set(owners), new Set(nets.map((n) => n.Id)));
    // 20 sandboxes, all on race0, from the three hosts at once.
    await Promise.all(Array.from({ length: 21 }, (_, k) => runSandbox(hosts[k % 3]!, `r${k}`, { network: 'race0' })));
    await waitFor(async () => Object.keys((await A.client.networkInspect('race0')).Containers ?? {}).length === 21, { what: '21 endpoints seen on A' });
    const ips = Object.values((await A.client.networkInspect('race0')).Containers ?? {}).map((e) => e.IPv4Address);
    assert.equal(new Set(ips).size, 21, `distinct addresses: ${ips.sort().join(' ')}`);
  });

  it('a daemon killed with -9: its endpoints expire with its lease, and the peers drop its FDB and neighbour entries', async () => {
    const before = await tables(A, netId);
    assert.ok(before.includes(hostIp(2)), `A programs C's VTEP:\n${before}`);
    await C.stop('SIGKILL');
    await waitFor(async () => !Object.values((await A.client.networkInspect('ovl')).Containers ?? {}).some((e) => e.Name === 'c1'),
      { what: 'c1 to expire on A', timeoutMs: 40_000 });
    await waitFor(async () => !(await tables(A, netId)).includes(hostIp(2)), { what: 'A to drop C\'s FDB and neighbour entries', timeoutMs: 10_000 });
    assert.ok(await ping(A, 'a1', 'b1'), 'the others keep talking');
    // Restarted: its live endpoints are republished, once.
    await C.restart();
    await waitFor(async () => Object.values((await A.client.networkInspect('ovl')).Containers ?? {}).filter((e) => e.Name === 'c1').length === 1,
      { what: () => `c1 republished on A; C's log:\n${C.logs().slice(-3000)}`, timeoutMs: 20_000 });
    await waitFor(() => ping(A, 'a1', 'c1'), { what: 'a1 -> c1 after the restart', timeoutMs: 15_000 });
  });

  it('etcd killed: containers keep talking, overlay changes fail fast naming the store, local ones work; back: it converges', async () => {
    await c.etcd[0]!.kill();
    assert.ok(await ping(A, 'a1', 'b1'), 'the data plane keeps forwarding, names keep resolving');
    const t0 = Date.now();
    const r = await A.docker(['network', 'create', '-d', 'overlay', 'during'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cluster store etcd:\/\/.* unreachable/);
    assert.ok(Date.now() - t0 < 10_000, `failed fast (${Date.now() - t0} ms)`);
    await A.docker(['network', 'create', 'local-during']);
    const doctor = await waitFor(async () => {
      const d = await A.cli(['doctor'], { allowFail: true });
      return /etcd unreachable since/.test(d.stdout) && d.stdout;
    }, { what: 'doctor to say etcd is unreachable', timeoutMs: 20_000 });
    assert.match(doctor, /cluster: +UNREACHABLE/);
    await c.restartEtcd(0);
    await waitFor(async () => (await A.docker(['network', 'create', '-d', 'overlay', 'after'], { allowFail: true })).code === 0,
      { what: 'an overlay create once etcd is back', timeoutMs: 30_000 });
    await waitFor(async () => (await C.client.networkList()).some((n) => n.Name === 'after'), { what: () => `the new network on C; C's log:\n${C.logs().slice(-2500)}`, timeoutMs: 20_000 });
    assert.ok(await ping(A, 'a1', 'c1'));
  });

  it('a host cut off the underlay longer than its lease: the others drop it; healed, it republishes and talks again', async () => {
    await c.partition(1, true);
    await waitFor(async () => !Object.values((await A.client.networkInspect('ovl')).Containers ?? {}).some((e) => e.Name === 'b1'),
      { what: 'b1 to expire on A', timeoutMs: 40_000 });
    await waitFor(async () => !(await tables(A, netId)).includes(hostIp(1)), { what: 'A to drop B\'s entries' });
    await c.partition(1, false);
    await waitFor(async () => Object.values((await A.client.networkInspect('ovl')).Containers ?? {}).filter((e) => e.Name === 'b1').length === 1,
      { what: 'b1 back on A', timeoutMs: 40_000 });
    await waitFor(() => ping(A, 'a1', 'b1'), { what: 'a1 -> b1 after the heal', timeoutMs: 15_000 });
    // No leaked link on any host: one vxlan0 and one bridge per network namespace, nothing in the hosts' own namespaces.
    for (const h of c.hostNs) {
      const links = (await h.sh('ip -o link show type vxlan')).stdout.trim();
      assert.equal(links, '', `no VXLAN device in ${h.name}'s own namespace`);
    }
  });
});
