// Namespace handles: create/open/remove, sysctls and sockets inside a
// namespace, and that none of it moves the daemon's own thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { Netns } from '../../src/netlink/index.ts';
import { TEST_PREFIX, privilegedSkipReason, withNetns } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { rejectsWith } from '../helpers/netlink.ts';

const skip = skipUnlessCI('netlink-netns', privilegedSkipReason());
const uniq = (label: string): string => `/run/netns/${TEST_PREFIX}nl-${label}-${randomBytes(3).toString('hex')}`;


test('Netns.create makes a namespace ip(8) sees, with lo up; remove deletes it', { skip }, async () => {
  const path = uniq('create');
  const name = path.slice('/run/netns/'.length);
  const self = await Netns.open('/proc/self/ns/net');
  const ns = await Netns.create(path);
  try {
    assert.ok(existsSync(path));
    assert.notEqual(ns.id, self.id, 'a new namespace');
    const again = await Netns.open(path);
    assert.equal(again.id, ns.id, 'opening the path again gives the same namespace');
    again.close();
    const lo = await ns.rtnl.linkGet('lo');
    assert.equal(lo?.up, true);
    assert.deepEqual((await ns.rtnl.linkList()).map((l) => l.name), ['lo'], 'an empty namespace');
    assert.match(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(name));
    assert.match(execFileSync('ip', ['-n', name, 'link', 'show', 'lo'], { encoding: 'utf8' }), /UP/);
    await rejectsWith(Netns.create(path), 'EEXIST', path);
  } finally {
    ns.close();
    self.close();
    await Netns.remove(path);
  }
  assert.equal(existsSync(path), false);
  await rejectsWith(Netns.open(path), 'ENOENT', path);
  await rejectsWith(Netns.remove(path), 'ENOENT', path);
});

test('Netns.create works at any path and makes its directory a shared mount', { skip }, async () => {
  const dir = `/run/${TEST_PREFIX}nl-dir-${randomBytes(3).toString('hex')}`;
  const path = `${dir}/sub/ns1`;
  try {
    const ns = await Netns.create(path);
    ns.close();
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    assert.ok(mounts.some((l) => l.split(' ')[4] === `${dir}/sub` && / shared:\d+/.test(l)), 'parent is a shared mount');
    assert.ok(mounts.some((l) => l.split(' ')[4] === path), 'namespace is bind-mounted');
    await Netns.remove(path);
    assert.equal(existsSync(path), false);
  } finally {
    try { execFileSync('umount', ['-l', `${dir}/sub`], { stdio: 'ignore' }); } catch { /* not mounted */ }
    try { rmdirSync(`${dir}/sub`); rmdirSync(dir); } catch { /* gone */ }
  }
});

test('Netns.open refuses bad paths and files that are no namespace', { skip }, async () => {
  await rejectsWith(Netns.open('/run/netns/cnmt-does-not-exist'), 'ENOENT', '/run/netns/cnmt-does-not-exist');
  await rejectsWith(Netns.open('relative/ns'), 'INVALID_PATH', '"relative/ns"');
  await rejectsWith(Netns.open('/etc/hostname'), 'EINVAL', 'not a network namespace');
  await rejectsWith(Netns.create('/run/netns/../x'), 'INVALID_PATH', '/run/netns/../x');
});

test('sysctls are read and written inside the namespace only', { skip }, async () => {
  await withNetns(['sysctl'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    const rootForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    try {
      assert.equal(await ns.sysctlGet('net.ipv4.ip_forward'), '0', 'a new namespace does not forward');
      await ns.sysctlSet('net.ipv4.ip_forward', '1');
      assert.equal(await ns.sysctlGet('net.ipv4.ip_forward'), '1');
      assert.equal((await t!.sh('cat /proc/sys/net/ipv4/ip_forward')).stdout.trim(), '1', 'seen from inside');
      assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), rootForward, 'root namespace untouched');
      await ns.sysctlSet('net/ipv6/conf/lo/disable_ipv6', '1');
      assert.equal(await ns.sysctlGet('net.ipv6.conf.lo.disable_ipv6'), '1');
      await rejectsWith(ns.sysctlGet('kernel.hostname'), 'INVALID_VALUE', 'kernel.hostname');
      await rejectsWith(ns.sysctlGet('net.ipv4.no_such_key'), 'ENOENT', 'net.ipv4.no_such_key');
      await rejectsWith(ns.sysctlSet('net.ipv4.ip_forward', 'x\ny'), 'INVALID_VALUE', 'one-line');
    } finally {
      ns.close();
    }
  });
});

test('a socket bound inside a namespace listens there, not in the root namespace', { skip }, async () => {
  await withNetns(['sock'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    try {
      await ns.rtnl.addrAdd('lo', '10.53.0.1/32');
      const fd = await ns.socket(4, 'udp', '10.53.0.1', 5399);
      try {
        assert.match((await t!.sh('ss -Hlun')).stdout, /10\.53\.0\.1:5399/);
        assert.doesNotMatch(execFileSync('ss', ['-Hlun'], { encoding: 'utf8' }), /10\.53\.0\.1:5399/);
      } finally {
        closeSync(fd);
      }
      await rejectsWith(ns.socket(6, 'tcp', '10.53.0.1', 53), 'FAMILY_MISMATCH', '10.53.0.1');
    } finally {
      ns.close();
    }
  });
});

test('sockets bound to devices share a port, one per device; a 15-character device name (IFNAMSIZ - 1) is accepted', { skip }, async () => {
  await withNetns(['dev'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    const fds: number[] = [];
    try {
      // cnm's bridges are br-<12 hex>: 15 characters, the kernel's longest.
      for (const name of ['br-0123456789ab', 'br-0123456789ac']) {
        await ns.rtnl.linkAdd({ kind: 'bridge', name });
        fds.push(await ns.socket(4, 'udp', '0.0.0.0', 6700, { device: name, broadcast: true }));
      }
      const listening = (await t!.sh('ss -Hlun')).stdout;
      assert.match(listening, /0\.0\.0\.0%br-0123456789ab:6700/);
      assert.match(listening, /0\.0\.0\.0%br-0123456789ac:6700/);
      await assert.rejects(ns.socket(4, 'udp', '0.0.0.0', 6701, { device: 'br-0123456789abc', broadcast: false }), /interface name/);
    } finally {
      for (const fd of fds) closeSync(fd);
      ns.close();
    }
  });
});

test('Node servers adopt those sockets: dgram bind({ fd }) and net listen({ fd })', { skip }, async () => {
  await withNetns(['srv'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    try {
      await ns.rtnl.addrAdd('lo', '10.53.0.1/32');
      const udp = dgram.createSocket('udp4');
      const srv = net.createServer((c) => c.end('hello\n'));
      try {
        const got = new Promise<string>((resolve) => udp.on('message', (m) => resolve(m.toString())));
        const ufd = await ns.socket(4, 'udp', '10.53.0.1', 5300);
        await new Promise<void>((resolve) => udp.bind({ fd: ufd } as dgram.BindOptions, () => resolve()));
        await t!.sh(`bash -c 'echo ping > /dev/udp/10.53.0.1/5300'`);
        assert.equal((await got).trim(), 'ping');
        const tfd = await ns.socket(4, 'tcp', '10.53.0.1', 5301);
        await new Promise<void>((resolve) => srv.listen({ fd: tfd }, () => resolve()));
        assert.equal((await t!.sh('busybox nc -w 2 10.53.0.1 5301 </dev/null', { timeoutMs: 10_000 })).stdout, 'hello\n');
      } finally {
        udp.close();
        srv.close();
      }
    } finally {
      ns.close();
    }
  });
});

test('kernel calls never move the calling thread into another namespace', { skip }, async () => {
  const before = readlinkSync('/proc/thread-self/ns/net');
  await withNetns(['thread'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    try {
      await Promise.all([
        ns.rtnl.linkAdd({ kind: 'bridge', name: 'br0' }),
        ns.sysctlGet('net.ipv4.ip_forward'),
        ns.rtnl.linkAdd({ kind: 'tap', name: 'tap0' }),
      ]);
      assert.equal(readlinkSync('/proc/thread-self/ns/net'), before);
      assert.equal(readlinkSync('/proc/self/ns/net'), before);
      const self = await Netns.open('/proc/self/ns/net');
      try {
        assert.equal(await self.rtnl.linkGet('br0'), null, 'nothing leaked into the root namespace');
        assert.equal(await self.rtnl.linkGet('tap0'), null);
      } finally {
        self.close();
      }
    } finally {
      ns.close();
    }
  });
});

test('a closed handle refuses work with CLOSED', { skip }, async () => {
  await withNetns(['closed'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    // Work already under way finishes: the fd stays open until it is done.
    const running = [ns.sysctlGet('net.ipv4.ip_forward'), ns.rtnl.linkGet('lo')];
    ns.close();
    const [fwd, lo] = await Promise.all(running);
    assert.equal(fwd, '0');
    assert.equal((lo as { name: string } | null)?.name, 'lo');
    await rejectsWith(ns.rtnl.linkList(), 'CLOSED', t!.path);
    await rejectsWith(ns.sysctlGet('net.ipv4.ip_forward'), 'CLOSED', t!.path);
    assert.throws(() => ns.fd, /CLOSED/);
  });
});
