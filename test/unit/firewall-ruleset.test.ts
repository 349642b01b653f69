import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAddNetwork, buildFullScript, buildRemoveEndpoint, buildSetEndpoint, buildRemoveNetwork, stateFragment } from '../../src/firewall/ruleset.ts';
import { eui64LinkLocal, ipv6Hex, canonicalIpv6 } from '../../src/firewall/addr.ts';
import { computeDrift, parseListing } from '../../src/firewall/drift.ts';
import { elementCanon } from '../../src/firewall/model.ts';
import { baseTables } from '../../src/firewall/base-tables.ts';
import { networkFragment, validateNetwork } from '../../src/firewall/network-rules.ts';
import { validateEndpoint } from '../../src/firewall/endpoint-rules.ts';
import { parseFibTrieLocal } from '../../src/firewall/local-addrs.ts';
import { FakeFirewall } from '../../src/firewall/fake-firewall.ts';
import { MonitorBatcher, isDestructiveEvent } from '../../src/firewall/monitor.ts';
import { tableGone } from '../../src/firewall/nft-firewall.ts';
import { FirewallError } from '../../src/firewall/errors.ts';
import type { EndpointFw, NetworkFw } from '../../src/firewall/types.ts';

const net = (over: Partial<NetworkFw> = {}): NetworkFw => ({
  id: 'n1', bridge: 'br-n1', v4: { subnet: '172.18.0.0/16', gateway: '172.18.0.1' }, icc: true, masquerade: true, internal: false,
  gatewayModeV4: 'nat', gatewayModeV6: 'nat', antiSpoof: true, ...over,
});
const ep = (over: Partial<EndpointFw> = {}): EndpointFw => ({
  id: 'e1', networkId: 'n1', hostIface: 'veth0123456', mac: '02:42:ac:12:00:02', ipv4: '172.18.0.2',
  ports: [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }], ...over,
});

describe('ruleset builder', () => {
  test('a network is set elements only: no chain, no rule', () => {
    const s = buildAddNetwork(net());
    assert.doesNotMatch(s, /add (chain|rule)/);
    assert.match(s, /add element inet cnm bridges \{ "br-n1" \}/);
    assert.match(s, /add element inet cnm icc \{ "br-n1" . "br-n1" \}/);
    assert.match(s, /add element inet cnm nat \{ "br-n1" . ipv4 \}/);
    assert.match(s, /add element inet cnm masq \{ "br-n1" . ipv4 \}/);
  });
  test('an endpoint adds set elements only', () => {
    const s = buildSetEndpoint(net(), ep());
    assert.doesNotMatch(s, /add rule|add chain/);
    assert.match(s, /add element inet cnm dnat4-any \{ tcp . 8080 : 172.18.0.2 . 80 \}/);
    assert.match(s, /add element bridge cnm port-ip4 \{ "veth0123456" . 02:42:ac:12:00:02 . 172.18.0.2 \}/);
    assert.match(s, /add element bridge cnm guarded \{ "veth0123456" \}/);
    assert.match(s, /add element inet cnm members4 \{ 172.18.0.2 \}/);
    assert.equal(buildRemoveEndpoint(net(), ep()).replace(/delete/g, 'add'), s.replace(/\n$/, '') + '\n');
  });
  test('operation size does not depend on how many networks exist', () => {
    const nets = Array.from({ length: 200 }, (_, i) => net({ id: `n${i}`, bridge: `br-${i}`, v4: { subnet: `10.${i}.0.0/24`, gateway: `10.${i}.0.1` } }));
    const eps = nets.map((n, i) => ep({ id: `e${i}`, networkId: n.id, hostIface: `veth${i}`, ipv4: `10.${i}.0.2`, ports: [{ hostIp: '', hostPort: 10000 + i, containerPort: 80, proto: 'tcp' }] }));
    const full = buildFullScript({ networks: nets, endpoints: eps });
    assert.ok(full.length > 20_000);
    assert.equal(full.match(/\tchain /g)?.length, baseTables().chains.length, 'no chain per network');
    const one = buildSetEndpoint(nets[5] as NetworkFw, eps[5] as EndpointFw);
    assert.ok(one.length < 1000, `endpoint script is ${one.length} bytes`);
  });
  test('gateway modes and options', () => {
    const els = (n: NetworkFw): string[] => networkFragment(n).elements.map((e) => `${e.set}: ${elementCanon(e)}`);
    const mixed = els(net({ v6: { subnet: 'fd00::/64', gateway: 'fd00::1' }, gatewayModeV6: 'routed', hostIpv4: '192.0.2.10' }));
    assert.ok(mixed.includes('snat4: br-n1 : 192.0.2.10'), mixed.join('\n'));
    assert.ok(!mixed.some((e) => e.startsWith('masq')), 'host_ipv4 replaces masquerade; routed has none');
    assert.ok(mixed.includes('routed: br-n1 . ipv6'));
    assert.ok(els(net({ gatewayModeV4: 'nat-unprotected' })).includes('nat-unprotected: br-n1 . ipv4'));
    const internal = els(net({ internal: true, gatewayModeV4: 'isolated', icc: false }));
    assert.deepEqual(internal.sort(), ['bridges: br-n1', 'internal: br-n1', 'isolated: br-n1 . ipv4', 'same-bridge: br-n1 . br-n1']);
    assert.ok(els(net({ internal: true })).includes('gateway4: br-n1 . 172.18.0.1'));
    assert.ok(!els(net({ masquerade: false })).some((e) => e.startsWith('masq')));
  });
  test('routed ports, loopback bindings, IPv6 DNAT', () => {
    const n = net({ v6: { subnet: 'fd00::/64', gateway: 'fd00::1' } });
    const s = buildSetEndpoint(n, ep({ ipv6: 'fd00::2', ports: [
      { hostIp: '127.0.0.1', hostPort: 9000, containerPort: 90, proto: 'udp' },
      { hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' },
    ] }));
    assert.match(s, /dnat4-addr \{ 127.0.0.1 . udp . 9000 : 172.18.0.2 . 90 \}/);
    assert.match(s, /lo4 \{ 127.0.0.1 . udp . 9000 \}/);
    assert.match(s, /dnat6-any \{ tcp . 8080 : fd00::2 . 80 \}/);
    const r = buildSetEndpoint(net({ gatewayModeV4: 'routed' }), ep());
    assert.match(r, /routed4 \{ 172.18.0.2 . tcp . 80 \}/);
    assert.doesNotMatch(r, /dnat4/);
    assert.doesNotMatch(buildSetEndpoint(net({ internal: true }), ep()), /dnat/, 'internal networks publish nothing');
  });
  test('validation before any kernel call', () => {
    const bad = (fn: () => unknown, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof FirewallError && e.code === 'INVALID_CONFIG' && re.test(e.message));
    bad(() => validateEndpoint(ep({ mac: 'zz' })), /invalid MAC address "zz"/);
    bad(() => validateEndpoint(ep({ hostIface: 'a"b' })), /host interface/);
    bad(() => validateEndpoint(ep({ hostIface: 'veth0123456789abcdef' })), /1-15 characters/);
    bad(() => validateEndpoint(ep({ ipv4: '300.1.1.1' })), /endpoint IPv4/);
    bad(() => validateEndpoint(ep({ ports: [{ hostIp: '::1', hostPort: 1, containerPort: 1, proto: 'tcp' }] })), /::1/);
    bad(() => validateNetwork(net({ v4: { subnet: '10.0.0.0/33' } })), /IPv4 subnet/);
    bad(() => validateNetwork(net({ gatewayModeV4: 'isolated' })), /internal network/);
    assert.equal(validateEndpoint(ep({ mac: '02:42:AC:12:00:02' })).mac, '02:42:ac:12:00:02');
  });
  test('removing a network removes its endpoints\' elements and its own', () => {
    const s = buildRemoveNetwork(net(), [ep()]);
    assert.match(s, /delete element inet cnm dnat4-any/);
    assert.match(s, /delete element inet cnm bridges \{ "br-n1" \}/);
    assert.doesNotMatch(s, /chain/);
  });
});

describe('addresses', () => {
  test('EUI-64 link-local and raw integers', () => {
    assert.equal(eui64LinkLocal('02:42:ac:11:00:02'), 'fe80::42:acff:fe11:2');
    assert.equal(ipv6Hex('fd00::2'), '0xfd000000000000000000000000000002');
    assert.equal(canonicalIpv6('2001:0db8:0000:0000::0001'), '2001:db8::1');
  });
  test("an endpoint may send from its own EUI-64 link-local address only, not from any fe80::", () => {
    const e: EndpointFw = { id: 'e1', networkId: 'n1', hostIface: 'veth1', mac: '02:42:ac:11:00:02', ipv4: '172.18.0.2', ports: [] };
    const s = buildFullScript({ networks: [net()], endpoints: [e] });
    assert.match(s, /add element bridge cnm port-ip6 \{ "veth1" \. 02:42:ac:11:00:02 \. fe80::42:acff:fe11:2 \}/);
    const guard = baseTables().chains.find((c) => c.family === 'bridge' && c.name === 'guard-ip6');
    assert.ok(guard && !guard.rules.some((r) => r.includes('fe80::/10')), 'no blanket link-local accept');
  });
  test('fib_trie local addresses', () => {
    const t = 'Local:\n  +-- 10.0.0.0/8\n     |-- 10.99.0.1\n        /32 host LOCAL\n     |-- 127.0.0.0\n        /8 host LOCAL\n     |-- 10.99.0.255\n        /32 link BROADCAST\n';
    assert.deepEqual([...parseFibTrieLocal(t)].sort(), ['10.99.0.1', '127.0.0.0/8']);
  });
});

describe('drift', () => {
  test('an empty kernel lacks everything; a listing that matches is ok', () => {
    const base = baseTables();
    const frag = { chains: [], elements: [] };
    const d = computeDrift(base, frag, new Map([['inet', null], ['bridge', null]]));
    assert.deepEqual(d.missingTables, ['inet cnm', 'bridge cnm']);
    const listing = (fam: 'inet' | 'bridge'): string => JSON.stringify({ nftables: [
      ...base.chains.filter((c) => c.family === fam).flatMap((c) => [{ chain: { name: c.name } }, ...c.rules.map(() => ({ rule: { chain: c.name } }))]),
      ...base.sets.filter((s) => s.family === fam).map((s) => ({ set: { name: s.name } })),
    ] });
    const ok = computeDrift(base, frag, new Map([['inet', parseListing(listing('inet'))], ['bridge', parseListing(listing('bridge'))]]));
    assert.equal(ok.ok, true, JSON.stringify(ok));
  });
  test('a missing element, an extra one and a shortened chain are reported', () => {
    const base = baseTables();
    const frag = stateFragment({ networks: [net()], endpoints: [ep()] });
    const json = (fam: 'inet' | 'bridge', tamper: boolean): string => JSON.stringify({ nftables: [
      ...base.chains.filter((c) => c.family === fam).flatMap((c) => [{ chain: { name: c.name } },
        ...c.rules.slice(tamper && c.name === 'into-bridge' ? 1 : 0).map(() => ({ rule: { chain: c.name } }))]),
      ...base.sets.filter((x) => x.family === fam).map((x) => {
        const els = frag.elements.filter((e) => e.family === fam && e.set === x.name && !(tamper && x.name === 'dnat4-any'));
        const elem = els.map((e) => (e.value ? [e.key.map((k) => (typeof k === 'string' ? k : k.ifname)).join(' . '), e.value.join(' . ')] : e.key.map((k) => (typeof k === 'string' ? k : k.ifname)).join(' . ')));
        if (tamper && x.name === 'lo4') elem.push('127.0.0.9 . tcp . 1');
        return { [x.decl.includes(' : ') ? 'map' : 'set']: { name: x.name, elem } };
      }),
    ] });
    const ok = computeDrift(base, frag, new Map([['inet', parseListing(json('inet', false))], ['bridge', parseListing(json('bridge', false))]]));
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const bad = computeDrift(base, frag, new Map([['inet', parseListing(json('inet', true))], ['bridge', parseListing(json('bridge', false))]]));
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.missingElements, ['inet cnm dnat4-any: tcp . 8080 : 172.18.0.2 . 80']);
    assert.deepEqual(bad.extraElements, ['inet cnm lo4: 127.0.0.9 . tcp . 1']);
    assert.equal(bad.changedChains.length, 1);
    assert.match(bad.changedChains[0] ?? '', /into-bridge/);
  });
  test('elements compare in nft\'s JSON form', () => {
    const l = parseListing(JSON.stringify({ nftables: [{ map: { name: 'dnat4-any', elem: [[{ concat: ['tcp', 8080] }, { concat: ['172.18.0.2', 80] }]] } },
      { map: { name: 'ranges', elem: [[{ prefix: { addr: '172.18.0.0', len: 16 } }, { jump: { target: 'n-n1-x' } }]] } }] }));
    assert.deepEqual(l.sets.get('dnat4-any'), ['tcp . 8080 : 172.18.0.2 . 80']);
    assert.deepEqual(l.sets.get('ranges'), ['172.18.0.0/16 : jump n-n1-x']);
    const m = parseListing(JSON.stringify({ nftables: [{ map: { name: 'snat4', elem: [[{ concat: ['br-a', { prefix: { addr: '10.1.0.0', len: 16 } }] }, '192.0.2.1']] } }] }));
    assert.deepEqual(m.sets.get('snat4'), ['br-a . 10.1.0.0/16 : 192.0.2.1']);
    assert.equal(elementCanon({ family: 'inet', set: 'x', key: [{ ifname: 'br' }, '10.0.0.1/32', 'fd00::1/128', 'fd00::/32'] }), 'br . 10.0.0.1 . fd00::1 . fd00::/32');
  });
});

describe('FakeFirewall', () => {
  test('same errors and bookkeeping as the real one', async () => {
    const f = new FakeFirewall({ localAddresses: ['192.0.2.1'] });
    await f.init();
    await f.addNetwork(net());
    await assert.rejects(f.addNetwork(net()), /already added/);
    await assert.rejects(f.addEndpoint(ep({ networkId: 'nope' })), /not known/);
    await assert.rejects(f.addEndpoint(ep({ ports: [{ hostIp: '198.51.100.1', hostPort: 1, containerPort: 1, proto: 'tcp' }] })), /not an address of this host/);
    await f.addEndpoint(ep({ ports: [{ hostIp: '192.0.2.1', hostPort: 1, containerPort: 1, proto: 'tcp' }] }));
    assert.equal(f.state().endpoints.length, 1);
    await f.removeNetwork('n1');
    assert.deepEqual(f.state(), { networks: [], endpoints: [] });
  });
});

describe('nft monitor batches', () => {
  test('own transactions are ignored, foreign deletes are reported', () => {
    const b = new MonitorBatcher((pid) => pid === 42);
    assert.deepEqual(b.push('delete element inet cnm fwd-in { "br-x" : jump n-x-fwd-in }'), []);
    assert.deepEqual(b.push('# new generation 7 by process 42 (node)'), []);
    assert.deepEqual(b.push('delete table inet cnm'), []);
    assert.deepEqual(b.push('# new generation 8 by process 99 (nft)'), ['delete table inet cnm']);
    assert.equal(tableGone('delete table inet cnm'), true);
    assert.equal(tableGone('delete table inet other'), false);
    assert.equal(isDestructiveEvent('flush chain inet cnm n-x-fwd-in'), true);
    assert.equal(isDestructiveEvent('add element inet cnm dnat4-any { tcp . 1 : 10.0.0.2 . 1 }'), false);
  });
});
