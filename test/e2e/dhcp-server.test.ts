// The DHCP server on a bridge network (cnm.bridge.dhcp=true): real clients
// (busybox udhcpc, ISC dhclient) and a scripted one in namespaces attached
// to the cnm bridge by veths, against a real daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox, runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';
import { openStore } from '../../src/store/index.ts';

const skip = skipUnlessCI('dhcp server', privilegedSkipReason());
const LOAD = join(import.meta.dirname, '..', 'helpers', 'dhcp-load.ts');
const GW = '10.77.0.1';
const LEASE = 8;

describe(`dhcp server on a bridge${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let bridge = '';
  let netId = '';
  const tmp = mkdtempSync('/tmp/cnmt-dhcp-');
  const spaces: TestNetns[] = [];
  const procs: ChildProcess[] = [];
  let n = 0;

  /** A namespace with one veth (c0) whose other end is a port of the cnm bridge. */
  async function client(label: string, addr?: string, br = bridge): Promise<TestNetns> {
    const ns = await TestNetns.create(label);
    spaces.push(ns);
    const host = `dh${n++}${Math.floor(Math.random() * 1e4)}`;
    await d.ns.sh(`ip link add ${host} type veth peer name c0 netns ${ns.name} && ip link set ${host} master ${br} up`);
    await ns.sh(`ip link set c0 up${addr ? ` && ip addr add ${addr} dev c0` : ''}`);
    return ns;
  }

  /** Runs a command in a namespace as a child we track, and waits for it (killed by PID after 30 s). */
  function runIn(ns: TestNetns, args: string[]): Promise<{ code: number; out: string }> {
    const p = spawn('nsenter', [`--net=${ns.path}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(p);
    let out = '';
    p.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    p.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    return new Promise((res) => p.on('close', (code) => { clearTimeout(timer); res({ code: code ?? 1, out }); }));
  }

  /** An env-recording hook script for the clients: they change nothing on the system. */
  function script(name: string, configure = ''): string {
    const f = join(tmp, `${name}.sh`);
    writeFileSync(f, `#!/bin/sh\nenv > ${tmp}/${name}.\${1:-\${reason}}.\${reason:-x}\n${configure}\nexit 0\n`);
    chmodSync(f, 0o755);
    return f;
  }
  const envOf = (file: string): Record<string, string> => Object.fromEntries(readFileSync(file, 'utf8').split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));

  async function udhcpc(ns: TestNetns, name: string, extra: string[] = []): Promise<Record<string, string>> {
    const s = script(name);
    const r = await runIn(ns, ['busybox', 'udhcpc', '-f', '-q', '-n', '-t', '5', '-T', '1', '-i', 'c0', '-s', s, ...extra]);
    assert.equal(r.code, 0, `udhcpc got a lease: ${r.out}`);
    return envOf(join(tmp, `${name}.bound.x`));
  }

  async function load(ns: TestNetns, args: string[]): Promise<Record<string, unknown>> {
    const r = await runIn(ns, [process.execPath, '--disable-warning=ExperimentalWarning', LOAD, ...args]);
    assert.equal(r.code, 0, r.out);
    return JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  }

  async function storedLeases(): Promise<{ ip: string; key: string }[]> {
    await d.stop('SIGTERM');
    const store = await openStore({ kind: 'sqlite', path: join(d.dir, 'data', 'cnm.db') });
    const kvs = (await store.list(`dhcp-leases/${netId}/`)).kvs;
    await store.close();
    await d.restart();
    return kvs.map((kv) => JSON.parse(kv.value) as { ip: string; key: string });
  }

  before(async () => {
    d = await startTestDaemon();
    await d.docker(['network', 'create', '--subnet', '10.77.0.0/24', '--ip-range', '10.77.0.0/25',
      '-o', 'cnm.bridge.dhcp=true', '-o', `cnm.bridge.dhcp_lease=${LEASE}`, 'dhcpnet']);
    const info = await d.client.networkInspect('dhcpnet');
    netId = info.Id;
    bridge = `br-${netId.slice(0, 12)}`;
  });
  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    for (const ns of spaces) await ns.destroy();
    await d?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('docker network inspect shows the options as given; bad values and IPv6-only networks are refused', async () => {
    const r = await d.docker(['network', 'inspect', '-f', '{{json .Options}}', 'dhcpnet']);
    const o = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(o['cnm.bridge.dhcp'], 'true');
    assert.equal(o['cnm.bridge.dhcp_lease'], String(LEASE));
    const bad = await d.docker(['network', 'create', '-o', 'cnm.bridge.dhcp=maybe', 'dhcpbad'], { allowFail: true });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /cnm\.bridge\.dhcp/);
    const lease = await d.docker(['network', 'create', '-o', 'cnm.bridge.dhcp=true', '-o', 'cnm.bridge.dhcp_lease=0', 'dhcpbad'], { allowFail: true });
    assert.match(lease.stderr, /cnm\.bridge\.dhcp_lease/);
    const v6 = await d.docker(['network', 'create', '--ipv4=false', '--ipv6', '-o', 'cnm.bridge.dhcp=true', 'dhcpbad'], { allowFail: true });
    assert.notEqual(v6.code, 0);
    assert.match(v6.stderr, /IPv4/);
    const c = await d.cli(['network', 'create', '-o', 'cnm.bridge.dhcp=true', 'dhcpcli']);
    assert.equal(c.code, 0);
    const ci = await d.client.networkInspect('dhcpcli');
    assert.equal(ci.Options['cnm.bridge.dhcp'], 'true');
    await d.client.networkRemove('dhcpcli');
  });

  test('udhcpc gets an address, the gateway as router and DNS; its host name resolves from a container', async () => {
    const ns = await client('dhu');
    const env = await udhcpc(ns, 'u1', ['-x', 'hostname:dhcphost']);
    assert.match(env.ip ?? '', /^10\.77\.0\.([2-9]|[1-9]\d|1[01]\d|12[0-7])$/, `in the ip-range: ${env.ip}`);
    assert.equal(env.router, GW);
    assert.equal(env.dns?.trim(), GW);
    assert.equal(env.subnet, '255.255.255.0');
    assert.equal(env.lease, String(LEASE));
    await runSandbox(d, 'asker', { network: 'dhcpnet' });
    const q = await inSandbox(d, 'asker', `dig +short +tries=2 +time=1 @${GW} dhcphost`);
    assert.equal(q.stdout.trim(), env.ip);
  });

  test('an internal network serves DHCP through its firewall: an address and the DNS, no router', async () => {
    const { Id } = await d.client.networkCreate({
      Name: 'dhcpint', Internal: true, Options: { 'cnm.bridge.dhcp': 'true' }, IPAM: { Config: [{ Subnet: '10.78.0.0/24' }] },
    });
    const ns = await client('dhi', undefined, `br-${Id.slice(0, 12)}`);
    const env = await udhcpc(ns, 'i1');
    assert.match(env.ip ?? '', /^10\.78\.0\./);
    assert.equal(env.router, undefined);
    assert.equal(env.dns?.trim(), '10.78.0.1');
  });

  test('dhclient gets an address, renews it with the short lease, and RELEASE frees it', async () => {
    const ns = await client('dhd');
    // The address goes on the client's interface (in its own namespace):
    // renewals are unicast from it and the ACK comes back to it.
    const s = script('dc', 'case "$reason" in BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface";; esac');
    const files = ['-sf', s, '-lf', join(tmp, 'dc.leases'), '-pf', join(tmp, 'dc.pid')];
    const p = spawn('nsenter', [`--net=${ns.path}`, 'dhclient', '-d', '-1', '-v', ...files, 'c0'], { stdio: 'ignore' });
    procs.push(p);
    try {
      await waitFor(() => existsSync(join(tmp, 'dc.BOUND.BOUND')), { what: () => 'dhclient to bind', timeoutMs: 20_000 });
      const env = envOf(join(tmp, 'dc.BOUND.BOUND'));
      const ip = env.new_ip_address ?? '';
      assert.match(ip, /^10\.77\.0\./);
      assert.equal(env.new_routers, GW);
      // T1 is half the lease: dhclient renews within about LEASE/2 seconds.
      await waitFor(() => existsSync(join(tmp, 'dc.RENEW.RENEW')), { what: () => 'dhclient to renew', timeoutMs: (LEASE + 5) * 1000 });
      assert.equal(envOf(join(tmp, 'dc.RENEW.RENEW')).new_ip_address, ip);
      p.kill('SIGKILL');
      // dhclient -r sends a RELEASE for the lease in its lease file.
      await runIn(ns, ['dhclient', '-r', '-v', ...files, 'c0']);
      const other = await client('dhr', '10.77.0.250/24');
      const r = await load(other, ['ask', GW, '02:dc:00:00:0a:0a', ip]);
      assert.equal(r.offered, ip, 'the released address is free again');
    } finally {
      if (p.exitCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    }
  });

  test('DECLINE keeps the address from the next client; a long client id is served; a static endpoint\'s address is never offered', async () => {
    const ns = await client('dhx', '10.77.0.251/24');
    const r = await load(ns, ['decline', GW]);
    assert.match(String(r.declined), /^10\.77\.0\./);
    assert.match(String(r.next), /^10\.77\.0\./);
    assert.notEqual(r.next, r.declined);
    const long = await load(ns, ['longid', GW]);
    assert.match(String(long.ip), /^10\.77\.0\./, 'a client with a 600-byte client id is served');
    await runSandbox(d, 'static', { network: 'dhcpnet', networks: { dhcpnet: { IPAMConfig: { IPv4Address: '10.77.0.60' } } } });
    const a = await load(ns, ['ask', GW, '02:dc:00:00:0b:0b', '10.77.0.60']);
    assert.match(String(a.offered), /^10\.77\.0\./);
    assert.notEqual(a.offered, '10.77.0.60');
  });

  test('a lease not renewed expires and its address goes back to the pool', async () => {
    const ns = await client('dhe');
    const asker = await client('dhq', '10.77.0.253/24');
    const { ip } = await udhcpc(ns, 'e1');
    const held = await load(asker, ['ask', GW, '02:dc:00:00:0c:0c', ip!]);
    assert.notEqual(held.offered, ip, 'a bound address is not offered to another client');
    // udhcpc -q exits without renewing; the server's timer ends the lease.
    await new Promise((r) => setTimeout(r, (LEASE + 2) * 1000));
    const freed = await load(asker, ['ask', GW, '02:dc:00:00:0d:0d', ip!]);
    assert.equal(freed.offered, ip);
  });

  test('a returning client gets its address back after kill -9 and a restart', async () => {
    const ns = await client('dhk');
    const first = await udhcpc(ns, 'k1');
    await d.stop('SIGKILL');
    await d.restart();
    const again = await udhcpc(ns, 'k2');
    assert.equal(again.ip, first.ip);
  });

  test('10,000 malformed messages: the daemon stays up, answers real clients, and gives out no bad lease', async () => {
    const ns = await client('dhf', '10.77.0.252/24');
    const r = await load(ns, ['fuzz', GW, '10000', '7']);
    assert.equal(r.sent, 10000);
    await d.client.ping();
    const after = await udhcpc(await client('dha'), 'f1');
    assert.match(after.ip ?? '', /^10\.77\.0\./);
    const leases = await storedLeases();
    const ips = leases.map((l) => l.ip);
    assert.equal(new Set(ips).size, ips.length, 'no address leased twice');
    for (const ip of ips) {
      const last = Number(ip.split('.')[3]);
      assert.ok(ip.startsWith('10.77.0.') && last >= 2 && last <= 127 && ip !== '10.77.0.60', `lease ${ip} inside the range, not the gateway or a static address`);
    }
  });

  test('removing the network stops the server and drops its leases', async () => {
    await d.client.containerRemove('asker', true);
    await d.client.containerRemove('static', true);
    for (const ns of spaces.splice(0)) await ns.destroy();
    await d.client.networkRemove('dhcpnet');
    const store = await (async () => { await d.stop('SIGTERM'); return openStore({ kind: 'sqlite', path: join(d.dir, 'data', 'cnm.db') }); })();
    assert.equal((await store.list(`dhcp-leases/${netId}/`)).kvs.length, 0, 'its leases are gone');
    assert.ok((await store.list('dhcp-leases/')).kvs.length > 0, 'the other network\'s leases stay');
    await store.close();
    await d.restart();
  });
});
