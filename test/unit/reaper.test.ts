// The reaper deletes the doomed group in one request; an empty group
// (ENODEV: its links went with their sandbox, or a reconnect took one back)
// is not worth a warning, any other failure is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkReaper } from '../../src/core/reaper.ts';
import { REAP_GROUP } from '../../src/drivers/link-mark.ts';
import { NetlinkError } from '../../src/netlink/index.ts';
import type { NetnsHandle } from '../../src/netlink/index.ts';

function world(fail?: string): { ns: NetnsHandle; calls: number[]; warnings: string[]; log: { debug(): void; info(): void; warn(m: string): void; error(): void } } {
  const calls: number[] = [];
  const warnings: string[] = [];
  const rtnl = {
    linkDelGroup: async (g: number) => {
      calls.push(g);
      if (fail) throw new NetlinkError({ code: fail as `E${string}`, op: 'deleting', object: `links of group ${g}` });
    },
  };
  return { ns: { rtnl } as unknown as NetnsHandle, calls, warnings, log: { debug() {}, info() {}, warn: (m: string) => { warnings.push(m); }, error() {} } };
}

test('flush deletes the whole group in one request', async () => {
  const w = world();
  await new LinkReaper(w.ns, w.log).flush();
  assert.deepEqual(w.calls, [REAP_GROUP]);
  assert.deepEqual(w.warnings, []);
});

test('an empty group (ENODEV) is quiet; another failure is a warning', async () => {
  const empty = world('ENODEV');
  await new LinkReaper(empty.ns, empty.log).flush();
  assert.deepEqual(empty.warnings, []);
  const busy = world('EBUSY');
  await new LinkReaper(busy.ns, busy.log).flush();
  assert.equal(busy.warnings.length, 1);
  assert.match(busy.warnings[0] ?? '', /EBUSY/);
});

test('schedule() deletes once the daemon has been quiet, at most maxDelayMs after the first', async () => {
  const w = world();
  const r = new LinkReaper(w.ns, w.log, { quietMs: 200, maxDelayMs: 400 });
  r.schedule();
  await new Promise((res) => setTimeout(res, 10));
  r.schedule();
  assert.deepEqual(w.calls, []);
  await new Promise((res) => setTimeout(res, 700));
  assert.deepEqual(w.calls, [REAP_GROUP]);
  await r.close();
});
