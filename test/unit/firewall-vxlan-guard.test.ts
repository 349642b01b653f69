// The VXLAN guard as nftables objects: its rules in the input chain, its
// elements, the one-transaction swap from one node set to the next, and the
// fake firewall keeping it across restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeFirewall } from '../../src/firewall/fake-firewall.ts';
import { FirewallError } from '../../src/firewall/errors.ts';
import { buildFullScript, buildSetVxlanGuard } from '../../src/firewall/ruleset.ts';
import { validateVxlanGuard } from '../../src/firewall/vxlan-guard.ts';

test('the input chain drops VXLAN from senders outside the VTEP sets; no guard, empty sets', () => {
  const none = buildFullScript({ networks: [], endpoints: [] });
  assert.match(none, /udp dport @vxlan-ports ip saddr != @vteps4 drop/);
  assert.match(none, /udp dport @vxlan-ports ip6 saddr != @vteps6 drop/);
  assert.doesNotMatch(none, /add element inet cnm vxlan-ports/, 'without a guard the port set is empty: nothing matches');
  const on = buildFullScript({ networks: [], endpoints: [], vxlan: { port: 4789, vteps: ['192.0.2.2', 'fd00::2'] } });
  assert.match(on, /add element inet cnm vxlan-ports \{ 4789 \}/);
  assert.match(on, /add element inet cnm vteps4 \{ 192\.0\.2\.2 \}/);
  assert.match(on, /add element inet cnm vteps6 \{ fd00::2 \}/);
});

test('a new node set: only the difference is deleted and added; lifting the guard empties the sets', () => {
  const a = { port: 4789, vteps: ['192.0.2.1', '192.0.2.2'] };
  const b = { port: 4789, vteps: ['192.0.2.1', '192.0.2.3'] };
  const s = buildSetVxlanGuard(a, b);
  assert.match(s, /delete element inet cnm vteps4 \{ 192\.0\.2\.2 \}/);
  assert.match(s, /add element inet cnm vteps4 \{ 192\.0\.2\.3 \}/);
  assert.doesNotMatch(s, /192\.0\.2\.1|vxlan-ports/, 'what stays is not touched');
  assert.match(buildSetVxlanGuard(a, undefined), /delete element inet cnm vxlan-ports \{ 4789 \}/);
});

test('bad guards are refused naming the field', () => {
  assert.throws(() => validateVxlanGuard({ port: 0, vteps: [] }), (e: unknown) => e instanceof FirewallError && /VXLAN port/.test(e.message));
  assert.throws(() => validateVxlanGuard({ port: 4789, vteps: ['host-1'] }), (e: unknown) => e instanceof FirewallError && /VTEP/.test(e.message));
  assert.deepEqual(validateVxlanGuard({ port: 4789, vteps: ['192.0.2.2', '192.0.2.1', '192.0.2.2'] }).vteps, ['192.0.2.1', '192.0.2.2']);
});

test('fake firewall: the guard is set, matches the kernel, survives a restore that names none, goes with null', async () => {
  const fw = new FakeFirewall();
  await fw.init();
  await fw.setVxlanGuard({ port: 4789, vteps: ['192.0.2.1', '192.0.2.2'] });
  assert.equal((await fw.drift()).ok, true);
  assert.deepEqual(fw.kernel.get('inet')?.sets.get('vteps4'), ['192.0.2.1', '192.0.2.2']);
  await fw.setVxlanGuard({ port: 4789, vteps: ['192.0.2.2', '192.0.2.3'] });
  assert.deepEqual([...(fw.kernel.get('inet')?.sets.get('vteps4') ?? [])].sort(), ['192.0.2.2', '192.0.2.3']);
  await fw.restoreAll({ networks: [], endpoints: [] });
  assert.deepEqual(fw.state().vxlan, { port: 4789, vteps: ['192.0.2.2', '192.0.2.3'] });
  assert.equal((await fw.drift()).ok, true);
  await fw.setVxlanGuard(null);
  assert.equal(fw.state().vxlan, undefined);
  assert.deepEqual(fw.kernel.get('inet')?.sets.get('vxlan-ports'), []);
  assert.equal((await fw.drift()).ok, true);
});
