// The embedded DNS through each sandbox's own resolv.conf: names appear on
// connect and vanish on disconnect, scoped to the networks a sandbox is on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox, ipOf, runSandbox } from '../helpers/sandbox.ts';

const skip = privilegedSkipReason();

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
