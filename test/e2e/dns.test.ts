// The embedded DNS through each sandbox's own resolv.conf: names appear on
// connect and vanish on disconnect, scoped to the networks a sandbox is on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox, ipOf, runSandbox } from '../helpers/sandbox.ts';
import { FAKE_UPSTREAM } from '../helpers/fake-upstream.ts';

const skip = skipUnlessCI('dns', privilegedSkipReason());

async function resolve(d: DaemonHandle, from: string, name: string): Promise<string[]> {
  const r = await inSandbox(d, from, `getent ahostsv4 ${name} | awk '{print $1}' | sort -u`);
  return r.stdout.split('\n').filter(Boolean);
}

describe(`embedded DNS end to end${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => {
    d = await startTestDaemon();
    await d.client.networkCreate({ Name: 'test-network' });
    await d.client.networkCreate({ Name: 'other' });
    await runSandbox(d, 'container1', { network: 'test-network' });
    await runSandbox(d, 'container2', { network: 'bridge' });
    await runSandbox(d, 'stranger', { network: 'other' });
  });
  after(async () => { await d?.destroy(); });

  test("resolv.conf points at the network's gateway with ndots:0", async () => {
    const conf = (await inSandbox(d, 'container1', 'cat /etc/resolv.conf')).stdout;
    assert.match(conf, /nameserver 172\.\d+\.0\.1/);
    assert.match(conf, /options ndots:0/);
    assert.match(conf, /search example\.test/);
  });

  test('the seed: "bad address" before connect, resolved and pinged after, gone after disconnect', async () => {
    const before1 = await inSandbox(d, 'container1', 'busybox ping -c 1 -W 1 container2 2>&1');
    assert.notEqual(before1.code, 0);
    assert.match(before1.stdout, /bad address 'container2'/);
    await d.client.networkConnect('test-network', 'container2');
    const ip = await ipOf(d, 'container2', 'test-network');
    assert.deepEqual(await resolve(d, 'container1', 'container2'), [ip]);
    const ping = await inSandbox(d, 'container1', 'busybox ping -c 1 -W 2 container2');
    assert.equal(ping.code, 0, ping.stdout);
    await d.client.networkDisconnect('test-network', 'container2');
    assert.deepEqual(await resolve(d, 'container1', 'container2'), []);
  });

  test('aliases, <name>.<network>, short id, case-insensitive', async () => {
    await runSandbox(d, 'web', { network: 'test-network', networks: { 'test-network': { Aliases: ['frontend'] } } });
    const ip = await ipOf(d, 'web', 'test-network');
    const id = (await d.client.containerInspect('web')).Id.slice(0, 12);
    for (const n of ['web', 'WEB', 'frontend', 'web.test-network', id]) {
      assert.deepEqual(await resolve(d, 'container1', n), [ip], n);
    }
  });

  test('scoping: no names from networks a sandbox is not on', async () => {
    assert.deepEqual(await resolve(d, 'stranger', 'container1'), []);
    assert.deepEqual(await resolve(d, 'container1', 'stranger'), []);
  });
});

describe(`embedded DNS upstream forwarding${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let up: TestNetns;
  before(async () => {
    d = await startTestDaemon({ resolvConf: 'nameserver 10.95.0.53\n' });
    up = await TestNetns.create('upstream');
    await d.ns.sh(`ip link add up0 type veth peer name up1 netns ${up.name} && ip addr add 10.95.0.1/24 dev up0 && ip link set up0 up`);
    await up.sh('ip addr add 10.95.0.53/24 dev up1 && ip addr add 10.95.0.54/24 dev up1 && ip link set up1 up && ip route add default via 10.95.0.1');
    for (const [addr, answer] of [['10.95.0.53', '203.0.113.7'], ['10.95.0.54', '203.0.113.8']] as const) {
      const p = up.spawn(process.execPath, ['--input-type=module', '-e', FAKE_UPSTREAM, addr, answer], { cwd: process.cwd() });
      await new Promise((r) => p.stdout?.once('data', r));
    }
    await d.client.networkCreate({ Name: 'fwd' });
    await d.client.networkCreate({ Name: 'sealed', Internal: true });
    await runSandbox(d, 'asker', { network: 'fwd' });
    await runSandbox(d, 'own', { network: 'fwd', extra: { HostConfig: { NetworkMode: 'fwd', Dns: ['10.95.0.54'] } } });
    await runSandbox(d, 'inside', { network: 'sealed' });
    await runSandbox(d, 'plain', { network: 'bridge' });
  });
  after(async () => {
    await d?.destroy();
    await up?.destroy();
  });

  test('names that are not ours go to the host resolv.conf servers; NXDOMAIN stays NXDOMAIN', async () => {
    assert.deepEqual(await resolve(d, 'asker', 'example.test'), ['203.0.113.7']);
    const nx = await inSandbox(d, 'asker', 'dig +short +tries=1 +time=2 nosuch.test; dig +tries=1 +time=2 nosuch.test | grep -o "status: [A-Z]*"');
    assert.match(nx.stdout, /status: NXDOMAIN/);
  });

  test('--dns servers become the upstreams of that sandbox, names still resolve', async () => {
    assert.deepEqual(await resolve(d, 'own', 'example.test'), ['203.0.113.8']);
    assert.deepEqual(await resolve(d, 'own', 'asker'), [await ipOf(d, 'asker', 'fwd')]);
  });

  test('internal networks never forward, but their own names resolve', async () => {
    assert.deepEqual(await resolve(d, 'inside', 'example.test'), []);
    assert.deepEqual(await resolve(d, 'inside', 'inside'), [await ipOf(d, 'inside', 'sealed')]);
  });

  test('the default bridge has no embedded DNS: the host servers, reached through NAT', async () => {
    const conf = (await inSandbox(d, 'plain', 'cat /etc/resolv.conf')).stdout;
    assert.match(conf, /nameserver 10\.95\.0\.53/);
    assert.deepEqual(await resolve(d, 'plain', 'example.test'), ['203.0.113.7']);
  });

  test('dig through the sandbox resolver, over UDP and TCP', async () => {
    const ip = await ipOf(d, 'asker', 'fwd');
    const udp = await inSandbox(d, 'own', 'dig +short asker');
    assert.equal(udp.stdout.trim(), ip);
    const tcp = await inSandbox(d, 'own', 'dig +tcp +short asker');
    assert.equal(tcp.stdout.trim(), ip);
    const nslookup = await inSandbox(d, 'own', 'busybox nslookup asker');
    assert.match(nslookup.stdout, new RegExp(ip.replace(/\./g, '\\.')));
  });
});
