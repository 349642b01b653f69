// State over two stores (docs/overlay.md "Global state"): global-scope
// records (overlay networks, their endpoints, their claims) go to the shared
// global store, the rest stays in each host's local store. Two States with
// their own local stores and one global MemoryStore are two hosts on one
// etcd: racing claims end with one winner, endpoints die with their host's
// lease, and a watch's events and a resync bring the other host's changes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CnmError } from '../../src/model/errors.ts';
import { claimKey, key, State } from '../../src/core/state.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../src/model/records.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { untilClock } from '../helpers/store-contract.ts';

function network(id: string, name: string, scope: 'local' | 'global', subnet: string, vni?: string): NetworkRecord {
  return {
    id, name, driver: scope === 'global' ? 'overlay' : 'bridge', created: '2025-01-01T00:00:00Z', scope, internal: false, attachable: true,
    ingress: false, enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamOptions: {},
    ipv4: { subnet, gateway: subnet.replace(/0\/\d+$/, '1') },
    ipamConfigRequested: [], options: {}, labels: {}, predefined: false, driverState: vni ? { vni } : {},
  };
}

function endpoint(id: string, networkId: string, ipv4: string, node: string): EndpointRecord {
  return {
    id, name: `c-${id}`, networkId, sandboxId: `sbx-${id}`, ifName: 'eth0', mac: '02:00:00:00:00:01', ipv4, aliases: [],
    gwPriority: 0, created: 1, ports: [], driverOpts: {}, driverState: {}, gateway: { ipv4: null, ipv6: null }, routes: [], dns: true,
    node: { id: node, vtep: '192.0.2.1', sandboxHostname: id },
  };
}

const sandbox = (id: string): SandboxRecord => ({ id, name: id } as unknown as SandboxRecord);

async function hosts(n: number): Promise<{ global: MemoryStore; locals: MemoryStore[]; states: State[]; leases: number[] }> {
  const global = new MemoryStore();
  const locals: MemoryStore[] = [];
  const states: State[] = [];
  const leases: number[] = [];
  for (let i = 0; i < n; i++) {
    const lease = await global.grant(2);
    leases.push(lease);
    const local = new MemoryStore();
    locals.push(local);
    const s = new State(local, { store: global, lease: () => lease });
    await s.load();
    states.push(s);
  }
  return { global, locals, states, leases };
}

describe('State with a global store', () => {
  test('global networks, their claims and endpoints go to the global store; local ones stay local', async () => {
    const { global, locals, states: [a] } = await hosts(1);
    await a!.commit([{ kind: 'network', put: network('o1', 'ovl', 'global', '10.0.1.0/24', '256') }]);
    await a!.commit([{ kind: 'network', put: network('b1', 'br', 'local', '172.20.0.0/16') }]);
    await a!.commit([{ kind: 'endpoint', put: endpoint('e1', 'o1', '10.0.1.2/24', 'A') }, { kind: 'sandbox', put: sandbox('sbx-e1') }]);
    assert.ok(await global.get(key.network('o1')));
    assert.equal((await global.get(claimKey.networkName('ovl')))?.value, 'o1');
    assert.equal((await global.get(claimKey.subnet('10.0.1.0/24')))?.value, 'o1');
    assert.equal((await global.get(claimKey.vni('256')))?.value, 'o1');
    assert.ok(await global.get(key.endpoint('e1')));
    assert.equal(await global.get(key.network('b1')), null);
    assert.ok(await locals[0]!.get(key.network('b1')));
    assert.ok(await locals[0]!.get(key.sandbox('sbx-e1')), 'the sandbox of a mixed commit is local');
    assert.equal(await locals[0]!.get(key.endpoint('e1')), null);
  });

  test('two hosts racing for a name, a VNI or an address: one wins, the other gets CONFLICT naming it', async () => {
    const { states: [a, b] } = await hosts(2);
    const r = await Promise.allSettled([
      a!.commit([{ kind: 'network', put: network('n1', 'web', 'global', '10.0.1.0/24', '256') }]),
      b!.commit([{ kind: 'network', put: network('n2', 'web', 'global', '10.0.2.0/24', '257') }]),
    ]);
    assert.equal(r.filter((x) => x.status === 'fulfilled').length, 1);
    const lost = r.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    assert.ok(lost.reason instanceof CnmError && lost.reason.code === 'CONFLICT' && lost.reason.message.includes('network name "web"'), String(lost.reason));
    await assert.rejects(b!.commit([{ kind: 'network', put: network('n3', 'other', 'global', '10.0.3.0/24', '256') }]), /VXLAN id 256 is already taken/);
    const winner = a!.networks.has('n1') ? a! : b!;
    const other = winner === a ? b! : a!;
    const net = [...winner.networks.values()][0]!;
    // The loser's memory holds the winner's network after the conflict.
    assert.ok(other.networks.has(net.id));
    const r2 = await Promise.allSettled([
      a!.commit([{ kind: 'endpoint', put: endpoint('ea', net.id, '10.0.1.2/24', 'A') }]),
      b!.commit([{ kind: 'endpoint', put: endpoint('eb', net.id, '10.0.1.2/24', 'B') }]),
    ]);
    assert.equal(r2.filter((x) => x.status === 'fulfilled').length, 1);
    assert.match(String((r2.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason), /address 10\.0\.1\.2 .* is already taken/);
  });

  test('a host\'s endpoints and address claims end with its lease; the other host learns it from the watch', async () => {
    const { global, states: [a, b], leases } = await hosts(2);
    await a!.commit([{ kind: 'network', put: network('n1', 'ovl', 'global', '10.0.1.0/24', '256') }]);
    const rev = await b!.loadGlobal();
    assert.ok(b!.networks.has('n1'));
    const cancel = global.watch('', rev, (ev) => { b!.applyGlobal(ev); });
    await a!.commit([{ kind: 'endpoint', put: endpoint('ea', 'n1', '10.0.1.2/24', 'A') }]);
    await untilClock(async () => b!.endpoints.has('ea'), 'the endpoint on the other host');
    assert.equal((await global.get(key.endpoint('ea')))?.lease, leases[0]);
    assert.equal((await global.get(claimKey.address('n1', '10.0.1.2')))?.lease, leases[0]);
    // Host A dies: its lease is never kept alive again.
    await untilClock(async () => !b!.endpoints.has('ea'), 'the endpoint to expire with its lease');
    assert.equal(await global.get(claimKey.address('n1', '10.0.1.2')), null, 'the address is free again');
    assert.ok(b!.networks.has('n1'), 'the network stays: it has no lease');
    cancel();
  });

  test('a txn applied but answered as failed (a client retry after a lost answer) counts as done, not as a conflict', async () => {
    const global = new MemoryStore();
    // Every txn runs twice, as etcd's client does when the first answer is lost: the second fails its compares.
    const retrying = Object.assign(Object.create(global) as MemoryStore, {
      txn: async (t: Parameters<MemoryStore['txn']>[0]) => { await global.txn(t); return global.txn(t); },
    });
    const lease = await global.grant(60);
    const s = new State(new MemoryStore(), { store: retrying, lease: () => lease });
    await s.load();
    const [net] = await s.commit([{ kind: 'network', put: network('n1', 'ovl', 'global', '10.0.1.0/24', '256') }]);
    assert.equal(net?.id, 'n1');
    await s.commit([{ kind: 'endpoint', put: endpoint('e1', 'n1', '10.0.1.2/24', 'A') }]);
    await s.commit([{ kind: 'endpoint', del: 'e1' }]);
    assert.equal(await global.get(key.endpoint('e1')), null);
    assert.ok(s.networks.has('n1'));
  });
});
