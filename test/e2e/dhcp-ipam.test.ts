// The dhcp IPAM driver through the docker CLI: a macvlan network whose
// containers lease their addresses from the LAN's DHCP server (Debian's
// dnsmasq on the LAN switch of test/helpers/lan.ts). DORA at run, renewal
// at T1, the same address after docker restart and after a kill -9 of the
// daemon (no new DORA), RELEASE on disconnect, and a server that does not
// answer: the connect fails within its timeout and leaves no link.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { makeLan } from '../helpers/lan.ts';
import type { Lan } from '../helpers/lan.ts';
import { DhcpLan, dnsmasqSkipReason } from '../helpers/dhcp-lan.ts';
import { inSandbox } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('dhcp-ipam', privilegedSkipReason() ?? dnsmasqSkipReason());
const inRange = /^10\.77\.0\.(1[6-9]\d|200)$/;

describe(`dhcp IPAM driver${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let lan: Lan;
  let dhcp: DhcpLan;
  before(async () => {
    d = await startTestDaemon();
    lan = await makeLan(d, { prefix: '10.77.0' });
    dhcp = DhcpLan.on(lan.sw, 'sw0');
    // dnsmasq is the LAN's DNS server too; the host (the daemon's namespace) is on the LAN through its parent.
    await dhcp.start({ t1: 3, t2: 6, dns: { address: 'lan.test/10.77.0.99' } });
    await d.ns.sh(`ip addr add 10.77.0.2/24 dev ${lan.parent}`);
    const dir = mkdtempSync(join(tmpdir(), 'cnmt-dhcp-img-'));
    try {
      writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
      await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await d.docker(['network', 'create', '-d', 'macvlan', '--ipam-driver', 'dhcp', '-o', `parent=${lan.parent}`, 'dh']);
  });
  after(async () => {
    await d?.docker(['rm', '-f', 'c1', 'c2'], { allowFail: true });
    await d?.docker(['network', 'rm', 'dh'], { allowFail: true });
    await dhcp?.destroy();
    await lan?.destroy();
    await d?.destroy();
  });

  const addrOf = async (name: string): Promise<{ ip: string; prefix: number; gateway: string }> => {
    const n = (await d.client.containerInspect(name)).NetworkSettings.Networks.dh;
    return { ip: n?.IPAddress ?? '', prefix: n?.IPPrefixLen ?? 0, gateway: n?.Gateway ?? '' };
  };
  const macOf = async (name: string): Promise<string> => (await d.client.containerInspect(name)).NetworkSettings.Networks.dh?.MacAddress ?? '';
  const count = (re: RegExp): number => dhcp.log.match(re)?.length ?? 0;
  const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> => {
    for (const end = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 200))) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${dhcp.log.slice(-3000)}\n${d.logs().slice(-3000)}`);
    }
  };

  test('network inspect: IPAM driver dhcp, no subnet', async () => {
    const n = JSON.parse((await d.docker(['network', 'inspect', 'dh'])).stdout)[0];
    assert.equal(n.Driver, 'macvlan');
    assert.equal(n.IPAM.Driver, 'dhcp');
    assert.deepEqual(n.IPAM.Config, []);
  });

  test('docker run: the address, gateway and DNS come from the DHCP server; renewed at T1', async () => {
    await d.docker(['run', '-d', '--name', 'c1', '--network', 'dh', 'busybox', 'sleep', '3600']);
    const a = await addrOf('c1');
    assert.match(a.ip, inRange);
    assert.equal(a.prefix, 24);
    assert.equal(a.gateway, '10.77.0.1');
    const lease = dhcp.leases().find((l) => l.ip === a.ip);
    assert.ok(lease, `dnsmasq holds the lease: ${JSON.stringify(dhcp.leases())}`);
    assert.equal(lease.mac, await macOf('c1'));
    assert.match((await inSandbox(d, 'c1', 'ip -4 addr show eth0')).stdout, new RegExp(`inet ${a.ip.replaceAll('.', '\\.')}/24`));
    assert.match((await inSandbox(d, 'c1', 'ip route show default')).stdout, /default via 10\.77\.0\.1 dev eth0/);
    assert.equal((await inSandbox(d, 'c1', `ping -c 1 -W 2 ${lan.hostIp}`)).code, 0, 'the container reaches the LAN host');
    // The embedded DNS answers inside the sandbox and forwards to the lease's DNS server.
    assert.match((await inSandbox(d, 'c1', 'cat /etc/resolv.conf')).stdout, /nameserver 127\.0\.0\.11/);
    assert.match((await inSandbox(d, 'c1', 'nslookup printer.lan.test')).stdout, /Address:\s+10\.77\.0\.99/, 'a LAN name through the lease\'s DNS server');
    const acks = count(new RegExp(`DHCPACK\\(sw0\\) ${a.ip.replaceAll('.', '\\.')} `, 'g'));
    await waitFor('a renewal at T1', () => count(new RegExp(`DHCPACK\\(sw0\\) ${a.ip.replaceAll('.', '\\.')} `, 'g')) > acks, 10_000);
    assert.equal((await addrOf('c1')).ip, a.ip, 'the renewal kept the address');
  });

  test('docker restart keeps the address (stable client id)', async () => {
    const before = await addrOf('c1');
    await d.docker(['restart', '-t', '1', 'c1']);
    assert.equal((await addrOf('c1')).ip, before.ip);
    assert.match((await inSandbox(d, 'c1', 'ip -4 addr show eth0')).stdout, new RegExp(`inet ${before.ip.replaceAll('.', '\\.')}/24`));
  });

  test('kill -9 of the daemon: the restarted daemon keeps the lease and the address without a new DORA, and renews', async () => {
    const before = await addrOf('c1');
    await d.stop('SIGKILL');
    const discovers = count(/DHCPDISCOVER/g);
    await d.restart();
    assert.equal((await addrOf('c1')).ip, before.ip);
    assert.match((await inSandbox(d, 'c1', 'ip -4 addr show eth0')).stdout, new RegExp(`inet ${before.ip.replaceAll('.', '\\.')}/24`));
    const acks = count(/DHCPACK/g);
    await waitFor('a renewal by the restarted daemon', () => count(/DHCPACK/g) > acks, 10_000);
    assert.equal(count(/DHCPDISCOVER/g), discovers, 'no new DORA after the restart');
    assert.equal((await addrOf('c1')).ip, before.ip);
  });

  test('stopped (RELEASE sent) across a daemon restart, then started: the address comes back (asked for by option 50)', async () => {
    const before = await addrOf('c1');
    await d.docker(['stop', '-t', '1', 'c1']);
    await waitFor('the RELEASE at stop', () => !dhcp.leases().some((l) => l.ip === before.ip), 5000);
    await d.stop();
    await d.restart();
    await d.docker(['start', 'c1']);
    assert.equal((await addrOf('c1')).ip, before.ip);
  });

  test('disconnect releases the lease (gone from the server)', async () => {
    const { ip } = await addrOf('c1');
    await d.docker(['network', 'disconnect', 'dh', 'c1']);
    await waitFor('the RELEASE', () => !dhcp.leases().some((l) => l.ip === ip), 5000);
    assert.match(dhcp.log, new RegExp(`DHCPRELEASE\\(sw0\\) ${ip.replaceAll('.', '\\.')} `));
    // Down at once, deleted by the reaper moments later (core/reaper.ts).
    assert.doesNotMatch((await inSandbox(d, 'c1', 'ip -o link show up')).stdout, /eth0@/);
    await waitFor('the reaper to delete the link', async () => !/eth0@/.test((await inSandbox(d, 'c1', 'ip -o link show')).stdout), 10_000);
  });

  test('bad input: the dhcp IPAM driver only on macvlan/ipvlan l2 with a parent and no subnet; others stay unknown', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-d', 'bridge', '--ipam-driver', 'dhcp'], /IPAM driver "dhcp" works with the macvlan and ipvlan \(l2\) drivers only, not "bridge"/],
      [['-d', 'ipvlan', '--ipam-driver', 'dhcp', '-o', `parent=${lan.parent}`, '-o', 'ipvlan_mode=l3'], /IPAM driver "dhcp" needs ipvlan_mode l2, not "l3"/],
      [['-d', 'macvlan', '--ipam-driver', 'dhcp'], /IPAM driver "dhcp" needs -o parent=IFACE/],
      [['-d', 'macvlan', '--ipam-driver', 'dhcp', '-o', `parent=${lan.parent}`, '--subnet', '10.77.0.0/24'], /IPAM driver "dhcp" takes no --subnet/],
      [['-d', 'macvlan', '--ipam-driver', 'dhcp', '-o', `parent=${lan.parent}`, '--ipv6'], /IPAM driver "dhcp" leases IPv4 addresses only/],
      [['-d', 'macvlan', '--ipam-driver', 'nope', '-o', `parent=${lan.parent}`], /plugin "nope" not found/],
    ];
    const nets = (await d.docker(['network', 'ls', '-q'])).stdout;
    for (const [args, re] of cases) {
      const r = await d.docker(['network', 'create', ...args, 'baddh'], { allowFail: true });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
    assert.equal((await d.docker(['network', 'ls', '-q'])).stdout, nets, 'no network recorded');
  });

  test('a DHCP server that never answers: connect fails within 10 s with a clear error and leaves no link', async () => {
    await d.docker(['run', '-d', '--name', 'c2', 'busybox', 'sleep', '3600']);
    await dhcp.stop();
    const t0 = Date.now();
    const r = await d.docker(['network', 'connect', 'dh', 'c2'], { allowFail: true });
    const took = Date.now() - t0;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /DHCP: no lease for eth\d within 10 s: no DHCP server answered/);
    assert.ok(took < 20_000, `gave up after ${took} ms`);
    assert.doesNotMatch((await inSandbox(d, 'c2', 'ip -d -o link show')).stdout, /macvlan/, 'no link left');
    const nets = Object.keys((await d.client.containerInspect('c2')).NetworkSettings.Networks);
    assert.ok(!nets.includes('dh'), `not connected: ${nets.join(',')}`);
  });
});
