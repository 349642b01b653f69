// docker events without privileges: the ring and its replay, moby's filter
// rules, the wire line (legacy fields, exact timeNano), and the events the
// controller emits for a container's life over the fake world.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../src/core/events.ts';
import type { CnmEvent } from '../../src/core/events.ts';
import { eventMatches } from '../../src/api/event-filter.ts';
import { eventLine, parseEventTime } from '../../src/api/handlers/events.ts';
import { parseFilters } from '../../src/api/filters.ts';
import { parseSignal } from '../../src/api/signal.ts';
import { checkPsArgs, parsePs } from '../../src/runtime/top.ts';
import { World, networkRequest, sandboxRequest } from '../helpers/core-world.ts';

const ev = (over: Partial<CnmEvent>): CnmEvent => ({ type: 'container', action: 'start', id: 'abc123', attributes: { name: 'web', image: 'busybox:latest', tier: 'front' }, timeNano: 1n, ...over });
const match = (filters: Record<string, string[]>, e: CnmEvent): boolean => eventMatches(parseFilters(JSON.stringify(filters), Object.keys(filters)), e);

test('the ring keeps the last 1024 events in order, and replays from a time on', () => {
  const bus = new EventBus();
  for (let i = 0; i < 1500; i++) bus.emit('container', 'start', `c${i}`);
  const all = bus.history(0n);
  assert.equal(all.length, 1024);
  assert.equal(all[0]!.id, 'c476');
  assert.equal(all.at(-1)!.id, 'c1499');
  assert.ok(all.every((e, i) => i === 0 || e.timeNano > all[i - 1]!.timeNano), 'times only go forward');
  assert.deepEqual(bus.history(all[1000]!.timeNano).map((e) => e.id), all.slice(1000).map((e) => e.id));
  const seen: string[] = [];
  const off = bus.subscribe((e) => seen.push(e.id));
  bus.emit('network', 'create', 'n1');
  off();
  bus.emit('network', 'create', 'n2');
  assert.deepEqual(seen, ['n1']);
});

test('filters follow moby: type/event exact, container/network by ID prefix or name, image with or without tag, labels ANDed', () => {
  assert.ok(match({ type: ['container'] }, ev({})));
  assert.ok(!match({ type: ['network'] }, ev({})));
  assert.ok(match({ type: ['network', 'container'] }, ev({})), 'values of one key are ORed');
  assert.ok(match({ event: ['start', 'die'] }, ev({})));
  assert.ok(!match({ event: ['stop'] }, ev({})));
  assert.ok(match({ event: ['exec_create'] }, ev({ action: 'exec_create: sh -c date' })), 'a bare exec_create matches the command form');
  assert.ok(match({ container: ['abc'] }, ev({})), 'ID prefix');
  assert.ok(match({ container: ['web'] }, ev({})), 'name');
  assert.ok(!match({ container: ['db'] }, ev({})));
  assert.ok(!match({ container: ['web'] }, ev({ type: 'network', id: 'n1', attributes: { name: 'front', container: 'abc123' } })), 'a network event is not the container');
  assert.ok(match({ network: ['front'] }, ev({ type: 'network', id: 'n1', attributes: { name: 'front' } })));
  assert.ok(match({ image: ['busybox'] }, ev({})));
  assert.ok(match({ image: ['busybox:latest'] }, ev({})));
  assert.ok(!match({ image: ['alpine'] }, ev({})));
  assert.ok(match({ label: ['tier'] }, ev({})));
  assert.ok(match({ label: ['tier=front', 'name=web'] }, ev({})));
  assert.ok(!match({ label: ['tier=back'] }, ev({})));
  assert.ok(match({ scope: ['local'] }, ev({})));
  assert.ok(!match({ scope: ['swarm'] }, ev({})));
  assert.ok(!match({ volume: ['v1'] }, ev({})), 'a volume filter leaves other actors out');
});

test('a line keeps Docker\'s legacy fields for containers and images, none for networks; timeNano is exact', () => {
  const t = 1764550000123456789n;
  const c = JSON.parse(eventLine(ev({ timeNano: t }))) as Record<string, unknown>;
  assert.deepEqual([c.status, c.id, c.from, c.Type, c.Action, c.scope, c.time], ['start', 'abc123', 'busybox:latest', 'container', 'start', 'local', 1764550000]);
  assert.deepEqual(c.Actor, { ID: 'abc123', Attributes: { name: 'web', image: 'busybox:latest', tier: 'front' } });
  assert.match(eventLine(ev({ timeNano: t })), /"timeNano":1764550000123456789}\n$/);
  const n = JSON.parse(eventLine(ev({ type: 'network', id: 'n1', attributes: { name: 'front', type: 'bridge' } }))) as Record<string, unknown>;
  assert.equal(n.status, undefined);
  const i = JSON.parse(eventLine(ev({ type: 'image', action: 'tag', id: 'sha256:1', attributes: { name: 'x:1' } }))) as Record<string, unknown>;
  assert.deepEqual([i.status, i.id, i.from], ['tag', 'sha256:1', undefined]);
  // Docker's omitempty: a prune has no id, a container without an image no from.
  assert.match(eventLine(ev({ action: 'prune', id: '', attributes: { reclaimed: '0' } })), /^\{"status":"prune","Type":"container","Action":"prune","Actor":\{"ID":"","Attributes":\{"reclaimed":"0"\}\},"scope":"local",/);
});

test('since/until take the CLI\'s seconds.nanoseconds, whole seconds or a date; anything else is a 400', () => {
  assert.equal(parseEventTime('since', '1764550000.000000001'), 1764550000000000001n);
  assert.equal(parseEventTime('since', '1764550000'), 1764550000000000000n);
  assert.equal(parseEventTime('until', '2026-12-01T00:00:00Z'), BigInt(Date.parse('2026-12-01T00:00:00Z')) * 1_000_000n);
  assert.throws(() => parseEventTime('since', 'yesterday'), /invalid since "yesterday": expected a Unix timestamp/);
});

test('kill signals parse as moby\'s ParseSignal; ps output is narrowed to the container\'s PIDs', () => {
  assert.equal(parseSignal('HUP'), 'SIGHUP');
  assert.equal(parseSignal('sigterm'), 'SIGTERM');
  assert.equal(parseSignal('9'), 'SIGKILL');
  assert.throws(() => parseSignal('SIGNOPE'), /Invalid signal: SIGNOPE/);
  const out = 'UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 00:01 ?        00:00:00 /sbin/init\nroot          42       1  0 00:01 ?        00:00:00 sleep 1000 now\n';
  assert.deepEqual(parsePs(out, new Set([42])), {
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    Processes: [['root', '42', '1', '0', '00:01', '?', '00:00:00', 'sleep 1000 now']],
  });
  assert.throws(() => parsePs('USER COMMAND\nroot sh\n', new Set([1])), /Couldn't find PID field in ps output/);
  assert.equal(checkPsArgs('-o pid,comm'), null);
  assert.equal(checkPsArgs('-o user= PID'), 'specifying "user=PID" is not allowed');
});

test('the controller reports a container\'s life, its network moves, rename, pause and prune', async () => {
  const w = await World.start();
  try {
    const ctl = w.controller;
    const seen: CnmEvent[] = [];
    ctl.ctx.events.subscribe((e) => seen.push(e));
    const net = await ctl.createNetwork(networkRequest('front'));
    const sbx = await ctl.createSandbox(sandboxRequest('web', { labels: { tier: 'front' }, networkMode: 'front' }));
    await ctl.startSandbox('web');
    await ctl.pauseSandbox('web');
    await assert.rejects(ctl.pauseSandbox('web'), /is already paused/);
    await ctl.unpauseSandbox('web');
    await assert.rejects(ctl.unpauseSandbox('web'), /is not paused/);
    await ctl.renameSandbox('web', 'web2');
    await assert.rejects(ctl.renameSandbox('web2', 'web2'), /same name/);
    await ctl.pauseSandbox('web2');
    // A paused sandbox still stops: it is thawed first.
    await ctl.stopSandbox('web2', 5);
    assert.equal(ctl.state.findSandbox('web2').paused, false);
    await ctl.createSandbox(sandboxRequest('keep', { labels: { keep: '1' } }));
    const before = seen.length;
    await ctl.startSandbox('keep');
    const started = seen.length;
    await ctl.restartSandbox('keep', 5);
    assert.deepEqual(seen.slice(started).filter((e) => e.type === 'container').map((e) => e.action), ['kill', 'die', 'stop', 'start', 'restart']);
    seen.splice(before);
    await ctl.stopSandbox('keep', 5);
    seen.splice(before);
    assert.deepEqual(await ctl.pruneSandboxes({ label: [], labelNot: ['keep'] }), { ids: [sbx.id], reclaimed: 0 });
    const lines = seen.map((e) => `${e.type} ${e.action} ${e.type === 'network' ? `${e.attributes.name} ${e.attributes.container ?? ''}`.trim() : e.attributes.name ?? ''}`);
    assert.deepEqual(lines, [
      'network create front',
      'container create web',
      `network connect front ${sbx.id}`,
      'container start web',
      'container pause web',
      'container unpause web',
      'container rename web2',
      'container pause web2',
      'container kill web2',
      `network disconnect front ${sbx.id}`,
      'container die web2',
      'container stop web2',
      'container create keep',
      'container destroy web2',
      'container prune ',
    ]);
    const rename = seen.find((e) => e.action === 'rename')!;
    assert.equal(rename.attributes.oldName, '/web');
    assert.equal(rename.attributes.tier, 'front', 'labels are attributes');
    const die = seen.find((e) => e.action === 'die')!;
    assert.match(die.attributes.exitCode ?? '', /^\d+$/);
    assert.match(die.attributes.execDuration ?? '', /^\d+$/);
    assert.equal(seen.find((e) => e.action === 'kill')!.attributes.signal, '15');
    assert.equal(net.id, seen[0]!.id);
  } finally {
    await w.close();
  }
});
