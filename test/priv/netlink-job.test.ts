// A netlink job (src/native/netlink/job.c) settles its promise whatever
// fails: the kernel call, or a Node-API call on either side of it. The
// addon's faultOnce(name) hook makes the next call of that Node-API function
// fail as if Node had refused it.
import { skipUnlessCI } from '../helpers/ci.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Netns } from '../../src/netlink/index.ts';
import { native } from '../../src/netlink/native.ts';
import { privilegedSkipReason, withNetns } from '../helpers/netns.ts';
import { rejectsWith } from '../helpers/netlink.ts';

const skip = skipUnlessCI('netlink-job', privilegedSkipReason());
const faultOnce = (fn: string): void => (native as unknown as { faultOnce(fn: string): void }).faultOnce(fn);
const openFds = (): number => readdirSync('/proc/self/fd').length;

/** A raw Error from the addon naming the Node-API call that failed. */
function napiError(fn: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof Error, String(e));
    const n = e as Error & { code?: string; syscall?: string };
    assert.equal(n.code, 'EIO', n.message);
    assert.equal(n.syscall, fn);
    assert.match(n.message, new RegExp(`^${fn} failed \\(Node-API status \\d+\\)`));
    return true;
  };
}

test('a kernel failure rejects with errno, code and the failed call', { skip }, async () => {
  await withNetns(['job'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    try {
      await rejectsWith(ns.sysctlGet('net.ipv4.conf.nope0.forwarding'), 'ENOENT', 'nope0');
      await assert.rejects(ns.use((fd) => native.sysctl(fd, '/proc/sys/net/ipv4/conf/nope0/forwarding')),
        (e: unknown) => (e as { errno?: number }).errno === 2 && (e as { syscall?: string }).syscall === 'open');
    } finally {
      ns.close();
    }
  });
});

test('a Node-API failure after the kernel call rejects the promise; the handle still works', { skip }, async () => {
  await withNetns(['job'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    try {
      // A sysctl write's result (undefined) cannot be had: the write is done,
      // the promise rejects.
      faultOnce('napi_get_undefined');
      await rejectsWith(ns.sysctlSet('net.ipv4.ip_forward', '1'), 'EIO', 'napi_get_undefined');
      assert.equal(await ns.sysctlGet('net.ipv4.ip_forward'), '1');
      // A netlink answer cannot be copied into a Buffer: the request's
      // promise rejects and the socket's queue moves on.
      faultOnce('napi_create_buffer_copy');
      await assert.rejects(ns.rtnl.linkList(), (e: unknown) => e instanceof Error && /napi_create_buffer_copy/.test(e.message));
      assert.deepEqual((await ns.rtnl.linkList()).map((l) => l.name), ['lo']);
      // The fd of a new netlink socket cannot be handed to JS: rejected, and
      // the socket closed rather than leaked.
      const fds = openFds();
      faultOnce('napi_create_int32');
      await assert.rejects(ns.use((fd) => native.openRtnl(fd)), napiError('napi_create_int32'));
      assert.equal(openFds(), fds);
    } finally {
      ns.close();
    }
  });
});

test('a Node-API failure before the job runs rejects the returned promise', { skip }, async () => {
  await withNetns(['job'], async ([t]) => {
    const ns = await Netns.open(t!.path);
    try {
      for (const fn of ['napi_create_string_utf8', 'napi_create_async_work', 'napi_queue_async_work']) {
        const fds = openFds();
        faultOnce(fn);
        const p = ns.use((fd) => {
          const q = native.sysctl(fd, '/proc/sys/net/ipv4/ip_forward');
          assert.ok(q instanceof Promise, `${fn}: a promise, not a throw`);
          return q;
        });
        await assert.rejects(p, napiError(fn));
        assert.equal(openFds(), fds);
      }
      // Without a promise to reject, the call throws instead.
      faultOnce('napi_create_promise');
      assert.throws(() => native.sysctl(ns.fd, '/proc/sys/net/ipv4/ip_forward'), /napi_create_promise failed/);
      assert.match(await ns.sysctlGet('net.ipv4.ip_forward'), /^[01]$/);
    } finally {
      ns.close();
    }
  });
});
