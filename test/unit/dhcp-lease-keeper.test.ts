// The lease keeper's decisions with a fake exchange and a fake namespace:
// which request goes out in each phase, retries, a moved address, a NAK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseKeeper } from '../../src/dhcp/lease-keeper.ts';
import type { KeeperNs } from '../../src/dhcp/lease-keeper.ts';
import type { Lease } from '../../src/dhcp/messages.ts';
import type { ExtendResult } from '../../src/dhcp/client.ts';

const who = { mac: '02:00:00:00:00:01', clientId: Buffer.from([0, 65]) };
const lease = (over: Partial<Lease> = {}): Lease => ({
  address: '10.0.0.7', prefix: 24, gateway: '10.0.0.1', dns: [], serverId: '10.0.0.1',
  leaseTime: 3, t1: 0.3, t2: 0.6, obtainedAt: Date.now(), ...over,
});

function world(answers: (mode: 'renew' | 'rebind') => ExtendResult) {
  const calls: string[] = [];
  const addrs = new Set(['10.0.0.7/24']);
  const seen: (Lease | null)[] = [];
  const ns: KeeperNs = {
    socket: async () => 0,
    rtnl: {
      addrAdd: async (_d, c) => { addrs.add(c); },
      addrDel: async (_d, c) => { addrs.delete(c); },
    } as KeeperNs['rtnl'],
    close: () => undefined,
  };
  const keeper = new LeaseKeeper({
    openNs: async () => ns,
    onLease: (_id, l) => { seen.push(l); },
    log: { info: () => undefined, warn: () => undefined },
    extend: async (_ns, _if, _who, _l, mode) => { calls.push(mode); return answers(mode); },
  });
  return { keeper, calls, addrs, seen };
}

const until = async (ok: () => boolean, ms = 5000): Promise<void> => {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error('timed out');
};

test('renews at T1 and carries on with the new lease', async () => {
  const w = world(() => lease({ obtainedAt: Date.now(), t1: 100, t2: 200, leaseTime: 300 }));
  w.keeper.track({ endpointId: 'e', nsPath: '/x', ifName: 'eth0', who, lease: lease() });
  await until(() => w.seen.length === 1);
  assert.deepEqual(w.calls, ['renew']);
  assert.equal(w.seen[0]?.t1, 100);
  assert.ok(w.addrs.has('10.0.0.7/24'));
  w.keeper.close();
});

test('unanswered renewals are retried, then it rebinds after T2', async () => {
  const w = world((mode) => (mode === 'rebind' ? lease({ obtainedAt: Date.now(), t1: 100, t2: 200, leaseTime: 300 }) : null));
  w.keeper.track({ endpointId: 'e', nsPath: '/x', ifName: 'eth0', who, lease: lease({ t1: 0.1, t2: 1.5, leaseTime: 5 }) });
  await until(() => w.seen.length === 1);
  assert.ok(w.calls.filter((c) => c === 'renew').length >= 1);
  assert.equal(w.calls.at(-1), 'rebind');
  w.keeper.close();
});

test('a moved address replaces the old one on the interface', async () => {
  const w = world(() => lease({ address: '10.0.0.9', obtainedAt: Date.now(), t1: 100, t2: 200, leaseTime: 300 }));
  w.keeper.track({ endpointId: 'e', nsPath: '/x', ifName: 'eth0', who, lease: lease() });
  await until(() => w.seen.length === 1);
  assert.deepEqual([...w.addrs], ['10.0.0.9/24']);
  w.keeper.close();
});

test('a NAK takes the address off and ends the lease; so does expiry with no answer', async () => {
  const nak = world(() => 'nak');
  nak.keeper.track({ endpointId: 'e', nsPath: '/x', ifName: 'eth0', who, lease: lease() });
  await until(() => nak.seen.length === 1);
  assert.equal(nak.seen[0], null);
  assert.equal(nak.addrs.size, 0);
  assert.equal(nak.keeper.size, 0);
  const silent = world(() => null);
  silent.keeper.track({ endpointId: 'e', nsPath: '/x', ifName: 'eth0', who, lease: lease({ leaseTime: 1.2, t1: 0.2, t2: 0.5 }) });
  await until(() => silent.seen.length === 1);
  assert.equal(silent.seen[0], null);
  assert.equal(silent.addrs.size, 0);
});

test('an expired lease found at track (a restart after expiry) is removed at once; forget stops the timers', async () => {
  const w = world(() => null);
  w.keeper.track({ endpointId: 'e', nsPath: '/x', ifName: 'eth0', who, lease: lease({ obtainedAt: Date.now() - 10_000 }) });
  await until(() => w.seen.length === 1);
  assert.deepEqual(w.calls, []);
  assert.equal(w.addrs.size, 0);
  const f = world(() => null);
  f.keeper.track({ endpointId: 'e', nsPath: '/x', ifName: 'eth0', who, lease: lease() });
  f.keeper.forget('e');
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(f.calls, []);
});
