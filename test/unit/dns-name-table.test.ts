import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameTable, answerValues } from '../../src/dns/index.ts';
import type { DnsEndpoint } from '../../src/dns/index.ts';

const A = 1, AAAA = 28, PTR = 12, MX = 15;

function ep(id: string, sandbox: string, net: string, names: string[], ipv4?: string, ipv6?: string, internal = false): DnsEndpoint {
  return { endpointId: id, sandboxId: sandbox, networkId: `id-${net}`, networkName: net, names, ipv4, ipv6, internal };
}

function world(): NameTable {
  const t = new NameTable();
  t.addEndpoint(ep('e1', 's1', 'front', ['web', 'webhost', 'www', 'aaaaaaaaaaaa'], '10.1.0.2', 'fd00:1::2'));
  t.addEndpoint(ep('e2', 's2', 'front', ['client'], '10.1.0.3'));
  t.addEndpoint(ep('e3', 's2', 'back', ['client'], '10.2.0.3'));
  t.addEndpoint(ep('e4', 's3', 'back', ['db'], '10.2.0.4'));
  t.addEndpoint(ep('e5', 's4', 'other', ['db', 'secret'], '10.3.0.5'));
  return t;
}

test('names are case-insensitive, with or without a trailing dot', () => {
  const t = world();
  for (const n of ['web', 'WEB', 'Web.', 'webhost', 'www', 'aaaaaaaaaaaa']) {
    assert.deepEqual(answerValues(t.lookup('10.1.0.3', n, A)), ['10.1.0.2'], n);
  }
});

test('<name>.<network> resolves; <unknown>.<network> is NXDOMAIN', () => {
  const t = world();
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'web.front', A)), ['10.1.0.2']);
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'WEB.Front.', A)), ['10.1.0.2']);
  assert.equal(t.lookup('10.1.0.3', 'nope.front', A).status, 'nxdomain');
  assert.equal(t.lookup('10.1.0.3', 'web.back', A).status, 'nxdomain'); // web is not on back
});

test('a sandbox sees every network it is on and nothing else', () => {
  const t = world();
  // s2 is on front and back: sees web (front) and db (back, 10.2.0.4) but not other's db.
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'db', A)), ['10.2.0.4']);
  assert.deepEqual(answerValues(t.lookup('10.2.0.3', 'web', A)), ['10.1.0.2'], 'asked from its other address');
  assert.equal(t.lookup('10.1.0.3', 'secret', A).status, 'not-ours');
  // s1 is on front only: db is not visible.
  assert.equal(t.lookup('10.1.0.2', 'db', A).status, 'not-ours');
  assert.equal(t.lookup('10.1.0.2', 'db.back', A).status, 'not-ours');
  // s4 sees its own db only.
  assert.deepEqual(answerValues(t.lookup('10.3.0.5', 'db', A)), ['10.3.0.5']);
});

test('NODATA when the name exists without that type; other types of our names are NODATA too', () => {
  const t = world();
  assert.equal(t.lookup('10.1.0.2', 'client', AAAA).status, 'nodata');
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'web', AAAA)), ['fd00:1::2']);
  assert.equal(t.lookup('10.1.0.3', 'web', MX).status, 'nodata');
});

test('a shared name returns every address, in rotating order', () => {
  const t = new NameTable();
  t.addEndpoint(ep('c', 'sc', 'n', ['client'], '10.0.0.9'));
  for (let i = 2; i <= 4; i++) t.addEndpoint(ep(`e${i}`, `s${i}`, 'n', [`svc${i}`, 'svc'], `10.0.0.${i}`));
  const seen = [0, 1, 2, 3].map(() => answerValues(t.lookup('10.0.0.9', 'svc', A)));
  assert.deepEqual(seen[0], ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  assert.deepEqual(seen[1], ['10.0.0.3', '10.0.0.4', '10.0.0.2']);
  assert.deepEqual(seen[2], ['10.0.0.4', '10.0.0.2', '10.0.0.3']);
  assert.deepEqual(seen[3], seen[0]);
});

test('PTR answers the first name qualified by the network, only for visible networks', () => {
  const t = world();
  const r = t.lookup('10.1.0.3', '2.0.1.10.in-addr.arpa', PTR);
  assert.deepEqual(answerValues(r), ['web.front']);
  const v6 = '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa';
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', v6, PTR)), ['web.front']);
  assert.equal(t.lookup('10.1.0.2', '5.0.3.10.in-addr.arpa', PTR).status, 'not-ours', 'other network: not ours');
  assert.equal(t.lookup('10.1.0.2', '2.0.1.10.in-addr.arpa', A).status, 'nodata', 'the reverse name exists, without A');
});

test('unknown clients are told apart', () => {
  const t = world();
  assert.equal(t.lookup('10.9.9.9', 'web', A).status, 'unknown-client');
});

test('forwarding: only for sandboxes with a non-internal network', () => {
  const t = new NameTable();
  t.addEndpoint(ep('i1', 'si', 'int', ['x'], '10.5.0.2', undefined, true));
  t.addEndpoint(ep('m1', 'sm', 'int', ['y'], '10.5.0.3', undefined, true));
  t.addEndpoint(ep('m2', 'sm', 'ext', ['y'], '10.6.0.3'));
  assert.deepEqual(t.lookup('10.5.0.2', 'example.com', A), { status: 'not-ours', forward: false, sandboxId: 'si' });
  assert.deepEqual(t.lookup('10.5.0.3', 'example.com', A), { status: 'not-ours', forward: true, sandboxId: 'sm' });
});

test('removing and re-adding endpoints updates answers at once', () => {
  const t = world();
  assert.equal(t.lookup('10.1.0.3', 'web', A).status, 'answer');
  assert.equal(t.removeEndpoint('e1'), true);
  assert.equal(t.removeEndpoint('e1'), false);
  assert.equal(t.lookup('10.1.0.3', 'web', A).status, 'not-ours');
  assert.equal(t.lookup('10.1.0.2', 'client', A).status, 'unknown-client');
  t.addEndpoint(ep('e1', 's1', 'front', ['web2'], '10.1.0.2'));
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'web2', A)), ['10.1.0.2']);
  assert.throws(() => t.addEndpoint(ep('e1', 's1', 'front', ['x'])), { code: 'DUPLICATE_ENDPOINT' } as object);
  t.renameNetwork('id-front', 'edge');
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'web2.edge', A)), ['10.1.0.2']);
  assert.equal(t.lookup('10.1.0.3', 'web2.front', A).status, 'not-ours');
});

test('a name on two of the asker\'s networks returns both addresses once', () => {
  const t = new NameTable();
  t.addEndpoint(ep('a1', 'sa', 'n1', ['a'], '10.1.0.2'));
  t.addEndpoint(ep('a2', 'sa', 'n2', ['a'], '10.2.0.2'));
  t.addEndpoint(ep('b1', 'sb', 'n1', ['b'], '10.1.0.3'));
  t.addEndpoint(ep('b2', 'sb', 'n2', ['b'], '10.2.0.3'));
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'a', A)).sort(), ['10.1.0.2', '10.2.0.2']);
  assert.deepEqual(answerValues(t.lookup('10.1.0.3', 'a.n2', A)), ['10.2.0.2']);
});

test('IPv6 client addresses are matched in canonical form', () => {
  const t = new NameTable();
  t.addEndpoint(ep('a', 'sa', 'n', ['a'], undefined, 'FD00:0:0:0::0002'));
  t.addEndpoint(ep('b', 'sb', 'n', ['b'], undefined, 'fd00::3'));
  assert.deepEqual(answerValues(t.lookup('fd00::2', 'b', AAAA)), ['fd00::3']);
  assert.equal(t.lookup('fd00::2', 'b', A).status, 'nodata');
  assert.deepEqual(answerValues(t.lookup('FD00:0::2', 'b', AAAA)), ['fd00::3'], 'any text form of the client address');
  assert.equal(t.lookup('not-an-ip', 'b', AAAA).status, 'unknown-client');
});

test('invalid input is rejected with the bad value named', () => {
  const t = new NameTable();
  assert.throws(() => t.addEndpoint(ep('x', 's', 'n', ['a'], '10.0.0.300')), /10\.0\.0\.300/);
  assert.throws(() => t.addEndpoint(ep('y', 's', 'n', ['a..b'], '10.0.0.3')), { code: 'BAD_NAME' } as object);
});
