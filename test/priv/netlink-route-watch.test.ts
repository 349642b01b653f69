// The route watch (ops/route-watch.ts): a table's routes from one dump and
// then the kernel's notifications, checked against a fresh dump after each
// kind of change, and after a flood that overflows the watch's socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Netns } from '../../src/netlink/index.ts';
import type { Route } from '../../src/netlink/index.ts';
import { privilegedSkipReason, withNetns } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { rejectsWith } from '../helpers/netlink.ts';

const skip = skipUnlessCI('netlink-route-watch', privilegedSkipReason());

const sorted = (rs: Route[]): string[] => rs.map((r) => JSON.stringify(r)).sort();

test('a route watch follows adds, replaces, appends and deletes, and dumps again after a lost notification', { skip }, async () => {
  await withNetns(['rwatch'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    const ip = (...args: string[]): void => { execFileSync('ip', ['-n', t!.name, ...args]); };
    const truth = async (): Promise<string[]> => sorted(await ns.rtnl.routeList({ devNames: false }));
    try {
      ip('link', 'add', 'v0', 'up', 'type', 'veth', 'peer', 'name', 'v1');
      ip('link', 'set', 'v1', 'up');
      ip('addr', 'add', '10.30.0.2/24', 'dev', 'v0');
      ip('-6', 'addr', 'add', 'fd30::2/64', 'dev', 'v0', 'nodad');
      const watch = await ns.rtnl.routeWatch();
      assert.deepEqual(sorted(await watch.list()), await truth(), 'the first look is a dump');
      assert.ok((await watch.list()).some((r) => r.dst === '10.30.0.0/24'), 'with the connected route');

      ip('route', 'add', '198.51.100.0/24', 'via', '10.30.0.1');
      ip('route', 'add', '203.0.113.0/24', 'dev', 'v0', 'metric', '7');
      ip('-6', 'route', 'add', '2001:db8:1::/48', 'via', 'fd30::1');
      ip('route', 'add', '192.0.2.0/24', 'dev', 'v0', 'table', '100');
      let now = await watch.list();
      assert.deepEqual(sorted(now), await truth(), 'after adds');
      assert.ok(now.some((r) => r.dst === '2001:db8:1::/48' && r.gateway === 'fd30::1'), 'IPv6 too');
      assert.ok(!now.some((r) => r.dst === '192.0.2.0/24'), 'another table is not watched');

      ip('route', 'replace', '198.51.100.0/24', 'via', '10.30.0.9');
      ip('route', 'append', '203.0.113.0/24', 'via', '10.30.0.1', 'metric', '7');
      now = await watch.list();
      assert.deepEqual(sorted(now), await truth(), 'after a replace and an append');
      assert.deepEqual(now.filter((r) => r.dst === '198.51.100.0/24').map((r) => r.gateway), ['10.30.0.9'], 'the replaced route is gone');

      ip('route', 'del', '203.0.113.0/24', 'via', '10.30.0.1', 'metric', '7');
      ip('-6', 'route', 'del', '2001:db8:1::/48');
      assert.deepEqual(sorted(await watch.list()), await truth(), 'after deletes (one of two appended routes stays)');
      assert.equal(watch.dumps, 1, 'all of that from notifications');

      // A link going down, then away, takes its IPv4 routes without a
      // notification: followed without a dump.
      ip('link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1');
      // IPv4 only (as cnm's bridges of IPv4 networks and its veth host
      // ends): an IPv6 route on a link going down makes the watch dump.
      execFileSync('ip', ['netns', 'exec', t!.name, 'sysctl', '-qw', 'net.ipv6.conf.w0.disable_ipv6=1', 'net.ipv6.conf.w1.disable_ipv6=1']);
      ip('link', 'set', 'w0', 'up');
      ip('link', 'set', 'w1', 'up');
      ip('addr', 'add', '10.40.0.1/24', 'dev', 'w0');
      ip('route', 'add', '198.18.0.0/24', 'via', '10.40.0.9');
      assert.ok((await watch.list()).some((r) => r.dst === '198.18.0.0/24'));
      ip('link', 'set', 'w0', 'down');
      assert.deepEqual(sorted(await watch.list()), await truth(), 'a link down takes its routes');
      ip('link', 'set', 'w0', 'up');
      ip('route', 'add', '198.18.0.0/24', 'via', '10.40.0.9');
      assert.deepEqual(sorted(await watch.list()), await truth(), 'up again, with its connected route back');
      ip('link', 'del', 'w0');
      assert.deepEqual(sorted(await watch.list()), await truth(), 'a link deleted takes its routes');
      assert.equal(watch.dumps, 1, 'followed without a dump');

      // An address leaving takes routes without a word: the next look dumps.
      ip('addr', 'flush', 'dev', 'v0');
      assert.deepEqual(sorted(await watch.list()), await truth(), 'a flushed address takes its routes');
      assert.equal(watch.dumps, 2, 'by a dump');

      // More changes than the socket holds: the kernel drops some, the
      // watch learns it (ENOBUFS) and dumps again.
      ip('addr', 'add', '10.30.0.2/24', 'dev', 'v0');
      const adds = Array.from({ length: 12_000 }, (_, i) => `route add 10.${100 + (i >> 8)}.${i & 255}.0/24 dev v0`).join('\n');
      execFileSync('ip', ['-n', t!.name, '-batch', '-'], { input: adds });
      const dels = Array.from({ length: 12_000 }, (_, i) => (i % 3 ? `route del 10.${100 + (i >> 8)}.${i & 255}.0/24 dev v0` : '')).filter(Boolean).join('\n');
      execFileSync('ip', ['-n', t!.name, '-batch', '-'], { input: dels });
      const before = watch.dumps;
      now = await watch.list();
      assert.equal(watch.dumps, before + 1, 'the loss made it dump');
      assert.equal(now.filter((r) => r.dst.startsWith('10.1')).length, 4000);
      assert.deepEqual(sorted(now), await truth(), 'after the flood');
      ip('route', 'add', '198.19.0.0/16', 'dev', 'v0');
      assert.deepEqual(sorted(await watch.list()), await truth(), 'and it follows notifications again');

      watch.close();
      await rejectsWith(watch.list(), 'CLOSED', 'routes in');
    } finally {
      ns.close();
    }
  });
});
