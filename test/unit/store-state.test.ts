// The controller's State over a store that has other writers: every write is
// a compare-and-swap on the revision State holds, names, subnets and
// addresses are claimed create-if-absent, and records handed out are the
// stored, frozen copies. Two State instances over one store are two writers
// (two daemons on one etcd, later): racing creates and updates must end with
// exactly one winner, the loser getting CONFLICT and a memory that matches
// the store. Run against both embedded stores.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CnmError } from '../../src/model/errors.ts';
import { claimKey, key, State } from '../../src/core/state.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../src/model/records.ts';
import { MemoryStore, SqliteStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/index.ts';

const root = mkdtempSync(join(tmpdir(), 'cnm-store-state-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function network(id: string, name: string, subnet?: string): NetworkRecord {
  return {
    id, name, driver: 'bridge', created: '2025-01-01T00:00:00Z', scope: 'local', internal: false, attachable: false,
    ingress: false, enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamOptions: {},
    ...(subnet ? { ipv4: { subnet, gateway: subnet.replace(/0\/\d+$/, '1') } } : {}),
    ipamConfigRequested: [], options: {}, labels: { a: 'b' }, predefined: false, driverState: { bridge: `br-${id}` },
  };
}

function endpoint(id: string, networkId: string, ipv4?: string): EndpointRecord {
  return {
    id, name: `s-${id}`, networkId, sandboxId: `sbx-${id}`, ifName: 'eth0', mac: '02:00:00:00:00:01',
    ...(ipv4 ? { ipv4 } : {}), aliases: ['x'], gwPriority: 0, created: 1, ports: [],
    driverOpts: {}, driverState: { hostIfName: `veth${id}` }, gateway: { ipv4: null, ipv6: null }, routes: [], dns: true,
  };
}

/** True for a CnmError CONFLICT whose message names every string given. */
function isConflict(...mustName: string[]): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CnmError, `expected a CnmError, got ${String(err)}`);
    assert.equal(err.code, 'CONFLICT', err.message);
    for (const s of mustName) assert.ok(err.message.includes(s), `message ${JSON.stringify(err.message)} should name ${s}`);
    return true;
  };
}

/** Exactly one of two settled commits won; returns the loser's error. */
function oneWinner(results: PromiseSettledResult<unknown>[]): { winner: number; error: unknown } {
  const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  assert.equal(won.length, 1, `exactly one winner, got ${won.length}`);
  const lost = results.find((r) => r.status === 'rejected');
  return { winner: won[0] ?? -1, error: lost?.status === 'rejected' ? lost.reason : undefined };
}

const kinds: Array<[string, () => Promise<Store>]> = [
  ['MemoryStore', async () => new MemoryStore()],
  ['SqliteStore', () => SqliteStore.open(join(root, `s${n++}`, 'store.db'))],
];

for (const [name, open] of kinds) {
  describe(`State over ${name}`, () => {
    /** A store and two writers on it, each loaded; the store is closed afterwards. */
    const twoWriters = (fn: (a: State, b: State, store: Store) => Promise<void>) => async () => {
      const store = await open();
      try {
        const a = new State(store);
        const b = new State(store);
        await a.load();
        await b.load();
        await fn(a, b, store);
      } finally {
        await store.close();
      }
    };

    test('commit returns the stored copies, deep-frozen, and memory holds those same objects', twoWriters(async (a) => {
      const draft = network('n1', 'web', '10.1.0.0/24');
      const [net, gone] = await a.commit([{ kind: 'network', put: draft }, { kind: 'sandbox', del: 'nothing' }]);
      assert.notEqual(net, draft);
      assert.deepEqual(net, draft);
      assert.equal(gone, null);
      assert.equal(a.networks.get('n1'), net);
      assert.ok(Object.isFrozen(net) && Object.isFrozen(net.labels) && Object.isFrozen(net.ipv4));
      assert.throws(() => { (net as NetworkRecord).name = 'other'; }, TypeError);
      assert.throws(() => { (net as NetworkRecord).labels.c = 'd'; }, TypeError);
      draft.name = 'changed after commit';
      assert.equal(a.networks.get('n1')?.name, 'web', 'the caller\'s object is not what memory holds');
    }));

    test('a network claims its name and subnet, an endpoint its address, in the txn of the record; delete gives them back', async () => {
      const store = await open();
      try {
        const s = new State(store);
        await s.load();
        await s.commit([{ kind: 'network', put: network('n1', 'web', '10.1.0.0/24') }]);
        await s.commit([{ kind: 'endpoint', put: endpoint('e1', 'n1', '10.1.0.2/24') }]);
        assert.equal((await store.get(claimKey.networkName('web')))?.value, 'n1');
        assert.equal((await store.get(claimKey.subnet('10.1.0.0/24')))?.value, 'n1');
        const addr = await store.get(claimKey.address('n1', '10.1.0.2'));
        assert.equal(addr?.value, 'e1');
        assert.equal(addr?.modRevision, (await store.get(key.endpoint('e1')))?.modRevision, 'one txn');
        await s.commit([{ kind: 'endpoint', del: 'e1' }]);
        await s.commit([{ kind: 'network', del: 'n1' }]);
        assert.deepEqual((await store.list('claims/')).kvs, []);
      } finally {
        await store.close();
      }
    });

    test('racing creates of one network name: one wins, the loser gets CONFLICT and now sees the winner', twoWriters(async (a, b, store) => {
      const results = await Promise.allSettled([
        a.commit([{ kind: 'network', put: network('na', 'web', '10.1.0.0/24') }]),
        b.commit([{ kind: 'network', put: network('nb', 'web', '10.2.0.0/24') }]),
      ]);
      const { winner, error } = oneWinner(results);
      const [wid, loser] = winner === 0 ? ['na', b] : ['nb', a];
      assert.ok(isConflict('network name "web"', wid)(error));
      assert.deepEqual((await store.list('networks/')).kvs.map((kv) => kv.key), [key.network(wid)]);
      assert.deepEqual((await store.list('claims/subnet/')).kvs.length, 1, 'the loser\'s subnet claim went nowhere');
      assert.equal(loser.lookupNetwork('web')?.id, wid, 'the loser reloaded the winner\'s record');
      assert.equal(loser.networks.size, 1);
    }));

    test('racing creates of one subnet under two names: one wins', twoWriters(async (a, b) => {
      const results = await Promise.allSettled([
        a.commit([{ kind: 'network', put: network('na', 'one', '10.9.0.0/16') }]),
        b.commit([{ kind: 'network', put: network('nb', 'two', '10.9.0.0/16') }]),
      ]);
      const { error } = oneWinner(results);
      assert.ok(isConflict('subnet 10.9.0.0/16')(error));
    }));

    test('racing creates of one address on a network: one endpoint wins', twoWriters(async (a, b, store) => {
      await a.commit([{ kind: 'network', put: network('n1', 'web', '10.1.0.0/24') }]);
      await b.load();
      const results = await Promise.allSettled([
        a.commit([{ kind: 'endpoint', put: endpoint('ea', 'n1', '10.1.0.7/24') }]),
        b.commit([{ kind: 'endpoint', put: endpoint('eb', 'n1', '10.1.0.7/24') }]),
      ]);
      const { winner, error } = oneWinner(results);
      const wid = winner === 0 ? 'ea' : 'eb';
      assert.ok(isConflict('address 10.1.0.7', wid)(error));
      assert.deepEqual((await store.list('endpoints/')).kvs.map((kv) => kv.key), [key.endpoint(wid)]);
      for (const s of [a, b]) assert.deepEqual([...s.endpoints.keys()], [wid]);
    }));

    test('racing updates of one record: one wins, the other gets CONFLICT naming it, then holds the winner\'s copy', twoWriters(async (a, b, store) => {
      await a.commit([{ kind: 'sandbox', put: { id: 's1', name: 'one', restartCount: 0 } as SandboxRecord }]);
      await b.load();
      const base = b.sandboxes.get('s1') as SandboxRecord;
      const results = await Promise.allSettled([
        a.commit([{ kind: 'sandbox', put: { ...base, restartCount: 1 } }]),
        b.commit([{ kind: 'sandbox', put: { ...base, restartCount: 2 } }]),
      ]);
      const { winner, error } = oneWinner(results);
      assert.ok(isConflict('sandbox s1', 'changed by another writer')(error));
      const stored = JSON.parse((await store.get(key.sandbox('s1')))?.value ?? '{}') as SandboxRecord;
      assert.equal(stored.restartCount, winner === 0 ? 1 : 2);
      for (const s of [a, b]) assert.equal(s.sandboxes.get('s1')?.restartCount, stored.restartCount, 'memory matches the store');
      // The loser, now up to date, can write again.
      const loser = winner === 0 ? b : a;
      const [again] = await loser.commit([{ kind: 'sandbox', put: { ...(loser.sandboxes.get('s1') as SandboxRecord), restartCount: 3 } }]);
      assert.equal(again.restartCount, 3);
    }));

    test('a delete of a record another writer changed fails and reloads it; one it removed is dropped from memory', twoWriters(async (a, b) => {
      await a.commit([{ kind: 'network', put: network('n1', 'web') }, { kind: 'network', put: network('n2', 'db') }]);
      await b.load();
      await a.commit([{ kind: 'network', put: { ...network('n1', 'web'), labels: { changed: 'yes' } } }]);
      await assert.rejects(b.commit([{ kind: 'network', del: 'n1' }]), isConflict('network n1', 'changed by another writer'));
      assert.deepEqual(b.networks.get('n1')?.labels, { changed: 'yes' });
      await a.commit([{ kind: 'network', del: 'n2' }]);
      await assert.rejects(b.commit([{ kind: 'network', put: { ...network('n2', 'db'), labels: {} } }]), isConflict('network n2', 'removed by another writer'));
      assert.equal(b.networks.has('n2'), false);
    }));

    test('a claim can pass from one owner to another inside one commit', twoWriters(async (a, _b, store) => {
      await a.commit([{ kind: 'network', put: network('n1', 'web', '10.1.0.0/24') }]);
      await a.commit([{ kind: 'endpoint', put: endpoint('e1', 'n1', '10.1.0.2/24') }]);
      await a.commit([{ kind: 'endpoint', del: 'e1' }, { kind: 'endpoint', put: endpoint('e2', 'n1', '10.1.0.2/24') }]);
      assert.equal((await store.get(claimKey.address('n1', '10.1.0.2')))?.value, 'e2');
      // An explicit claim: taken once, idempotent for its owner, refused to another.
      await a.commit([{ kind: 'claim', key: 'claims/test/x', owner: 'o1' }]);
      await a.commit([{ kind: 'claim', key: 'claims/test/x', owner: 'o1' }]);
      await assert.rejects(a.commit([{ kind: 'claim', key: 'claims/test/x', owner: 'o2' }]), isConflict('claims/test/x'));
      await a.commit([{ kind: 'release', key: 'claims/test/x', owner: 'o1' }]);
      assert.equal(await store.get('claims/test/x'), null);
    }));

    test('records written before claims existed load, and get their claims in one txn', async () => {
      const store = await open();
      try {
        await store.put(key.network('n1'), JSON.stringify(network('n1', 'web', '10.1.0.0/24')));
        await store.put(key.endpoint('e1'), JSON.stringify(endpoint('e1', 'n1', '10.1.0.2/24')));
        const old = { ...endpoint('e2', 'n1', '10.1.0.3/24'), ports: undefined };
        await store.put(key.endpoint('e2'), JSON.stringify(old));
        await store.put(key.sandbox('s1'), JSON.stringify({ id: 's1', name: 'old' }));
        const s = new State(store);
        await s.load();
        assert.equal(await store.revision(), 5, 'one txn wrote every missing claim');
        assert.deepEqual((await store.list('claims/')).kvs.map((kv) => [kv.key, kv.value]), [
          [claimKey.address('n1', '10.1.0.2'), 'e1'],
          [claimKey.address('n1', '10.1.0.3'), 'e2'],
          [claimKey.networkName('web'), 'n1'],
          [claimKey.subnet('10.1.0.0/24'), 'n1'],
        ]);
        assert.deepEqual(s.endpoints.get('e2')?.ports, [], 'old records get today\'s defaults');
        assert.equal(s.sandboxes.get('s1')?.run.init, true);
        assert.ok(Object.isFrozen(s.sandboxes.get('s1')?.run));
        await new State(store).load();
        assert.equal(await store.revision(), 5, 'a second load has nothing to write');
        // And the claims now work: another writer cannot take the name.
        const other = new State(store);
        await assert.rejects(other.commit([{ kind: 'network', put: network('n9', 'web') }]), isConflict('network name "web"', 'n1'));
        assert.equal(other.lookupNetwork('web')?.id, 'n1');
      } finally {
        await store.close();
      }
    });
  });
}
