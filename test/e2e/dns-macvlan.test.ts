// The embedded DNS on macvlan networks, through the docker CLI: macvlan
// children cannot reach the host through their parent, so each sandbox gets
// the resolver inside its namespace on 127.0.0.11. busybox containers
// resolve each other by name, alias and name.network (nslookup, ping), a
// container on macvlan and a bridge network resolves names of both, other
// networks' names stay hidden, external names go to a fake upstream, and a
// daemon restart, a stop and start or a disconnect leaves names working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { makeLan } from '../helpers/lan.ts';
import type { Lan } from '../helpers/lan.ts';
import { ipOf } from '../helpers/sandbox.ts';
import { FAKE_UPSTREAM } from '../helpers/fake-upstream.ts';

const skip = skipUnlessCI('dns-macvlan', privilegedSkipReason());

describe(`embedded DNS on macvlan networks${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let lan: Lan;
  let up: TestNetns;
  const ips: Record<string, string> = {};

  const exec = (c: string, cmd: string): Promise<{ stdout: string; stderr: string; code: number }> =>
    d.docker(['exec', c, 'sh', '-c', cmd], { allowFail: true });
  /** The addresses busybox nslookup prints for `name` (after the server's own lines). */
  async function lookup(c: string, name: string): Promise<string[]> {
    const r = await exec(c, `nslookup ${name}`);
    const afterName = r.stdout.split(/^Name:/m).slice(1).join('\n');
    return [...afterName.matchAll(/Address:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1] ?? '').filter((x, i, a) => a.indexOf(x) === i);
  }

  before(async () => {
    d = await startTestDaemon({ resolvConf: 'nameserver 10.96.0.53\n' });
    lan = await makeLan(d, { prefix: '192.168.78' });
    up = await TestNetns.create('upstream');
    await d.ns.sh(`ip link add up0 type veth peer name up1 netns ${up.name} && ip addr add 10.96.0.1/24 dev up0 && ip link set up0 up`);
    await up.sh('ip addr add 10.96.0.53/24 dev up1 && ip link set up1 up && ip route add default via 10.96.0.1');
    const p = up.spawn(process.execPath, ['--input-type=module', '-e', FAKE_UPSTREAM, '10.96.0.53'], { cwd: process.cwd() });
    await new Promise((r) => p.stdout?.once('data', r));
    const dir = mkdtempSync(join(tmpdir(), 'cnmt-bb-'));
    try {
      writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
      await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '192.168.78.0/24', '--gateway', '192.168.78.1',
      '--ip-range', '192.168.78.128/25', '-o', `parent=${lan.parent}`, 'lan']);
    await d.docker(['network', 'create', 'br']);
    await d.docker(['network', 'create', 'other']);
    const run = (name: string, ...args: string[]) => d.docker(['run', '-d', '--name', name, ...args, 'busybox', 'sleep', '3600']);
    await run('m1', '--network', 'lan', '--network-alias', 'web');
    await run('m2', '--network', 'lan');
    await run('both', '--network', 'lan');
    await d.docker(['network', 'connect', 'br', 'both']);
    await run('b1', '--network', 'br');
    await run('stranger', '--network', 'other');
    for (const [c, n] of [['m1', 'lan'], ['m2', 'lan'], ['both', 'lan'], ['both', 'br'], ['b1', 'br'], ['stranger', 'other']] as const) {
      ips[`${c}.${n}`] = await ipOf(d, c, n);
    }
  });
  after(async () => {
    await d?.destroy();
    await lan?.destroy();
    await up?.destroy();
  });

  test('resolv.conf names 127.0.0.11, and something listens there inside the container', async () => {
    const conf = (await exec('m1', 'cat /etc/resolv.conf')).stdout;
    assert.match(conf, /^nameserver 127\.0\.0\.11$/m);
    assert.doesNotMatch(conf, /nameserver 10\.96\.0\.53/, 'the host server is an upstream, not a nameserver line');
    assert.match((await exec('m1', 'netstat -lnu; netstat -lnt')).stdout, /127\.0\.0\.11:53/);
  });

  test('containers resolve each other by name, alias and name.network; ping by name', async () => {
    assert.deepEqual(await lookup('m1', 'm2'), [ips['m2.lan']]);
    assert.deepEqual(await lookup('m2', 'web'), [ips['m1.lan']], 'alias');
    assert.deepEqual(await lookup('m2', 'm1.lan'), [ips['m1.lan']], 'name.network');
    const ping = await exec('m1', 'ping -c1 -W2 m2');
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  });

  test('a container on macvlan and a bridge network resolves names of both', async () => {
    assert.match((await exec('both', 'cat /etc/resolv.conf')).stdout, /^nameserver 127\.0\.0\.11$/m);
    assert.deepEqual(await lookup('both', 'm1'), [ips['m1.lan']]);
    assert.deepEqual(await lookup('both', 'b1'), [ips['b1.br']]);
    assert.deepEqual(await lookup('b1', 'both'), [ips['both.br']], 'and the bridge side finds it through its gateway');
    // Bridge first, macvlan connected later: resolv.conf follows.
    await d.docker(['run', '-d', '--name', 'late', '--network', 'br', 'busybox', 'sleep', '3600']);
    await d.docker(['network', 'connect', 'lan', 'late']);
    assert.match((await exec('late', 'cat /etc/resolv.conf')).stdout, /^nameserver 127\.0\.0\.11$/m);
    assert.deepEqual(await lookup('late', 'm2'), [ips['m2.lan']]);
    assert.deepEqual(await lookup('late', 'b1'), [ips['b1.br']]);
  });

  test('names on another network are not visible', async () => {
    assert.deepEqual(await lookup('m1', 'stranger'), []);
    assert.deepEqual(await lookup('m1', 'b1'), [], 'm1 is not on br');
    assert.deepEqual(await lookup('stranger', 'm1'), []);
    const bad = await exec('m1', 'ping -c1 -W1 stranger');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout + bad.stderr, /bad address 'stranger'/);
  });

  test('external names are forwarded upstream', async () => {
    assert.deepEqual(await lookup('m1', 'example.test'), ['203.0.113.7']);
    assert.deepEqual(await lookup('m1', 'nosuch.test'), []);
  });

  test('after a daemon restart the listeners are back', async () => {
    await d.stop('SIGTERM');
    assert.deepEqual(await lookup('m1', 'm2'), [], 'no daemon, no answers');
    await d.restart();
    assert.deepEqual(await lookup('m1', 'm2'), [ips['m2.lan']]);
    assert.deepEqual(await lookup('both', 'b1'), [ips['b1.br']]);
    assert.deepEqual(await lookup('m1', 'example.test'), ['203.0.113.7']);
  });

  test('stop and start: the listener goes with the old namespace and comes back in the new one', async () => {
    await d.docker(['stop', '-t', '0', 'm2']);
    assert.deepEqual(await lookup('m1', 'm2'), [], 'a stopped container has no name');
    await d.docker(['start', 'm2']);
    const ip = await ipOf(d, 'm2', 'lan');
    assert.deepEqual(await lookup('m1', 'm2'), [ip]);
    assert.deepEqual(await lookup('m2', 'm1'), [ips['m1.lan']]);
  });

  test('disconnect from the macvlan network: back to the gateway, the listener inside closed', async () => {
    await d.docker(['network', 'disconnect', 'lan', 'both']);
    const conf = (await exec('both', 'cat /etc/resolv.conf')).stdout;
    assert.doesNotMatch(conf, /127\.0\.0\.11/);
    assert.doesNotMatch((await exec('both', 'netstat -lnu; netstat -lnt')).stdout, /127\.0\.0\.11:53/);
    assert.deepEqual(await lookup('both', 'b1'), [ips['b1.br']]);
    assert.deepEqual(await lookup('both', 'm1'), [], 'no longer on lan');
  });
});
