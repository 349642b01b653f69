// Every step of network create, connect, disconnect, network rm and sandbox
// start fails in turn: the fakes (kernel, firewall, store, DNS, runtime)
// share one call counter, and the Nth call fails. After each failure the
// world must be exactly as before the call (kernel objects, firewall
// elements, store records and claims, memory, IPAM, host ports, DNS names,
// open namespaces), and the next attempt must work and leave a whole world.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { World, networkRequest, sandboxRequest } from '../helpers/core-world.ts';
import { isOwnMark } from '../../src/drivers/link-mark.ts';

const DUAL = networkRequest('n1', { enableIPv6: true, ipamConfig: [{ subnet: '10.50.0.0/24' }, { subnet: 'fd00:50::/64' }] });
const att = { aliases: ['db'], gwPriority: 0, driverOpts: {} };
const PORT = { proto: 'tcp' as const, containerPort: 80, hostIp: '', hostPort: 8080 };

/** Store, kernel, firewall, DNS and IPAM agree with each other (what doctor and drift check, and more). */
async function assertWhole(w: World, when: string): Promise<void> {
  const { state, ipam } = w.controller.ctx;
  await w.settle();
  const doctor = await w.controller.checkKernel();
  assert.deepEqual(doctor.problems, [], `${when}: doctor`);
  const drift = await w.fw.drift();
  assert.ok(drift.ok, `${when}: firewall drift ${JSON.stringify(drift)}`);
  const bridgeNets = [...state.networks.values()].filter((n) => n.driver === 'bridge');
  const eps = [...state.endpoints.values()];
  assert.deepEqual(w.fw.state().networks.map((n) => n.id).sort(), bridgeNets.map((n) => n.id).sort(), `${when}: firewall networks`);
  assert.deepEqual(w.fw.state().endpoints.map((e) => e.id).sort(), eps.map((e) => e.id).sort(), `${when}: firewall endpoints`);
  assert.deepEqual([...w.dns.names.keys()].sort(), eps.filter((e) => e.dns).map((e) => e.id).sort(), `${when}: DNS names`);
  assert.deepEqual([...w.dns.listeners].sort(), bridgeNets.filter((n) => !n.predefined).map((n) => n.ipv4?.gateway).sort(), `${when}: DNS listeners`);
  for (const n of bridgeNets) {
    const on = eps.filter((e) => e.networkId === n.id);
    assert.deepEqual(ipam.usage().get(n.id), { v4: on.filter((e) => e.ipv4).length, v6: on.filter((e) => e.ipv6).length }, `${when}: IPAM of ${n.name}`);
  }
  const hostLinks = await w.host.rtnl.linkList();
  for (const sbx of state.sandboxes.values()) {
    const mine = state.endpointsOf(sbx.id);
    if (sbx.state !== 'running') {
      assert.equal(mine.length, 0, `${when}: endpoints of stopped ${sbx.name}`);
      continue;
    }
    assert.deepEqual(mine.map((e) => e.networkId).sort(), sbx.attachments.map((a) => a.networkId).sort(), `${when}: ${sbx.name}'s attachments have endpoints`);
    const ns = w.kernel.handle(sbx.netnsPath);
    try {
      const inside = (await ns.rtnl.linkList()).map((l) => l.name).sort();
      assert.deepEqual(inside, ['lo', ...mine.map((e) => e.ifName)].sort(), `${when}: links in ${sbx.name}`);
    } finally {
      ns.close();
    }
  }
  const veths = hostLinks.filter((l) => l.kind === 'veth').map((l) => l.name).sort();
  assert.deepEqual(veths, eps.map((e) => e.driverState.hostIfName).sort(), `${when}: host veths`);
  assert.ok(hostLinks.every((l) => l.kind !== 'veth' || isOwnMark(l.alias, w.controller.ctx.driverCtx.owner)), `${when}: marks`);
  const live = Object.keys(w.kernel.snapshot()).filter((p) => p !== '/fake/host');
  const running = [...state.sandboxes.values()].filter((s) => s.state === 'running').map((s) => s.netnsPath);
  assert.deepEqual(live.sort(), running.sort(), `${when}: sandbox namespaces`);
}

/** The lines of two snapshots that differ, per section (a short message instead of two dumps). */
function sameAs(before: unknown, after: unknown, when: string): void {
  const lines = (v: unknown, k: string): string[] => JSON.stringify((v as Record<string, unknown>)[k], null, 1).split('\n').map((l) => l.trim());
  const out: string[] = [];
  for (const k of Object.keys(before as object)) {
    const a = lines(before, k);
    const b = lines(after, k);
    if (a.join('\n') === b.join('\n')) continue;
    const gone = a.filter((l) => !b.includes(l));
    const added = b.filter((l) => !a.includes(l));
    out.push(`${k}:`, ...gone.map((l) => `  - ${l.slice(0, 200)}`), ...added.map((l) => `  + ${l.slice(0, 200)}`));
  }
  assert.ok(out.length === 0, `${when}: not as before\n${out.join('\n')}`);
}

interface Report { steps: number; absorbed: string[] }

/**
 * Runs `op` in a fresh world made by `setup` with call 1, 2, ... failing,
 * until it runs with no failure at all. Returns how many calls it makes
 * and which failures it absorbed (succeeded despite them).
 */
async function everyStep(setup: () => Promise<World>, op: (w: World) => Promise<unknown>): Promise<Report> {
  const absorbed: string[] = [];
  for (let n = 1; n < 500; n++) {
    const w = await setup();
    try {
      const before = await w.snapshot();
      w.faults.arm(n);
      let err: unknown = null;
      try { await op(w); } catch (e) { err = e; }
      const hit = w.faults.failed;
      w.faults.arm(0);
      if (hit === null) {
        assert.equal(err, null, `no failure was injected, yet: ${String(err)}`);
        await assertWhole(w, 'after a clean run');
        return { steps: n - 1, absorbed };
      }
      const when = `call ${n} (${hit}) failed`;
      if (err) {
        assert.match(String((err as Error).message), /injected failure/, `${when}: the error says why`);
        sameAs(before, await w.snapshot(), when);
        await op(w);
      } else {
        absorbed.push(hit);
      }
      await assertWhole(w, `${when}, then done`);
    } finally {
      await w.close();
    }
  }
  throw new Error('the operation never ran without a failure');
}

async function withNetwork(): Promise<World> {
  const w = await World.start();
  await w.controller.createNetwork(DUAL);
  return w;
}

/** s1 runs on the default bridge with a published port. */
async function withRunningSandbox(): Promise<World> {
  const w = await withNetwork();
  await w.controller.createSandbox(sandboxRequest('s1', { ports: [PORT] }));
  await w.controller.startSandbox('s1');
  return w;
}

async function connected(): Promise<World> {
  const w = await withRunningSandbox();
  await w.controller.connect('n1', 's1', att);
  return w;
}

describe('a failure at any step is undone whole, and the next attempt works', () => {
  test('network create', async (t) => {
    const r = await everyStep(() => World.start(), (w) => w.controller.createNetwork(DUAL));
    t.diagnostic(`${r.steps} calls; failures absorbed: ${r.absorbed.join('; ') || 'none'}`);
    assert.ok(r.steps >= 5, `create makes ${r.steps} calls`);
  });

  test('connect', async (t) => {
    const r = await everyStep(withRunningSandbox, (w) => w.controller.connect('n1', 's1', att));
    t.diagnostic(`${r.steps} calls; failures absorbed: ${r.absorbed.join('; ') || 'none'}`);
    assert.ok(r.steps >= 10, `connect makes ${r.steps} calls`);
  });

  test('disconnect', async (t) => {
    const r = await everyStep(connected, (w) => w.controller.disconnect('n1', 's1', false));
    t.diagnostic(`${r.steps} calls; failures absorbed: ${r.absorbed.join('; ') || 'none'}`);
    assert.ok(r.steps >= 4, `disconnect makes ${r.steps} calls`);
  });

  test('network rm', async (t) => {
    const r = await everyStep(withNetwork, (w) => w.controller.removeNetwork('n1'));
    t.diagnostic(`${r.steps} calls; failures absorbed: ${r.absorbed.join('; ') || 'none'}`);
    assert.ok(r.steps >= 3, `rm makes ${r.steps} calls`);
  });

  test('sandbox start (two networks, a published port)', async (t) => {
    const setup = async (): Promise<World> => {
      const w = await withNetwork();
      await w.controller.createSandbox(sandboxRequest('s1', { ports: [PORT], networks: [{ ref: 'n1', att }, { ref: 'bridge', att: { ...att, aliases: [] } }] }));
      return w;
    };
    const r = await everyStep(setup, (w) => w.controller.startSandbox('s1'));
    t.diagnostic(`${r.steps} calls; failures absorbed: ${r.absorbed.join('; ') || 'none'}`);
    assert.ok(r.steps >= 20, `start makes ${r.steps} calls`);
  });
});
