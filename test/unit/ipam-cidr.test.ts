import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import {
  IpamError, canonicalAddress, tryParseAddress, firstAddress, formatAddress, formatPrefix, isCanonical, lastAddress, masked,
  nthAddress, parseAddress, parseAddressOrPrefix, parsePrefix, prefixContains, prefixOverlaps, prefixSize,
} from '../../src/ipam/index.ts';
import { rng } from '../helpers/rng.ts';


const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof IpamError, `expected IpamError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
};

test('IPv4 addresses parse and format', () => {
  assert.equal(parseAddress('10.1.2.3').value, 0x0a010203n);
  assert.equal(parseAddress('255.255.255.255').value, 0xffffffffn);
  assert.equal(formatAddress(parseAddress('0.0.0.0')), '0.0.0.0');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', '1..2.3', 'a.b.c.d', '1.2.3.-4', '1.2.3.4/32']) {
    assert.equal(code(() => parseAddress(bad)), 'INVALID', bad);
  }
});

test('IPv6 addresses format per RFC 5952', () => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8::0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // equal runs: the first is shortened (4.2.3)
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], // the longest run is shortened (4.2.3)
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays (4.2.2)
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], // IPv4-mapped keeps dotted form (5)
    ['::ffff:0102:0304', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::102:304'],
    ['fd00:a:b::7:8', 'fd00:a:b::7:8'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalAddress(input), want, input);
  for (const bad of [':', ':::', '1:::2', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', 'g::', '::1%eth0', '1.2.3.4::', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', ':1::', '1:']) {
    assert.equal(code(() => parseAddress(bad)), 'INVALID', bad);
  }
});

test('random IPv6 addresses round-trip and match the WHATWG URL serializer', () => {
  const r = rng(7);
  for (let i = 0; i < 5000; i++) {
    // Many zero groups so that runs and ties are common.
    const groups = Array.from({ length: 8 }, () => (r() < 0.5 ? 0 : Math.floor(r() * 65536)));
    if (groups.slice(0, 6).join(',') === '0,0,0,0,0,65535') continue; // IPv4-mapped: URL prints hex
    const text = groups.map((g) => g.toString(16)).join(':');
    const canon = canonicalAddress(text);
    assert.equal(canon, new URL(`http://[${text}]/`).hostname.slice(1, -1), text);
    assert.equal(parseAddress(canon).value, parseAddress(text).value);
  }
});

test('random strings: the parser accepts exactly what node:net isIP accepts, and output re-parses', () => {
  // Node's isIP follows inet_pton (no leading-zero octets, no zones), the same
  // syntax as Go's netip that Docker uses; an independent oracle.
  const r = rng(3);
  const alphabet = '0123456789abcdefABCDEF';
  let valid = 0;
  for (let i = 0; i < 200_000; i++) {
    const len = 1 + Math.floor(r() * 20);
    let s = '';
    for (let k = 0; k < len; k++) {
      const x = r();
      s += x < 0.3 ? ':' : x < 0.4 ? '.' : x < 0.5 ? '0' : alphabet[Math.floor(r() * alphabet.length)];
    }
    const a = tryParseAddress(s);
    assert.equal(a !== null, isIP(s) !== 0, s);
    if (a === null) continue;
    valid++;
    assert.equal(a.family, isIP(s));
    const text = formatAddress(a);
    assert.equal(parseAddress(text).value, a.value, `${s} -> ${text}`);
    assert.equal(formatAddress(parseAddress(text)), text, 'canonical text is a fixed point');
  }
  assert.ok(valid > 1000, `${valid} valid addresses generated`);
});

test('prefixes: strict parsing names the canonical form', () => {
  const err = (() => {
    try {
      parsePrefix('10.0.0.1/24');
    } catch (e) {
      return e as IpamError;
    }
    return null;
  })();
  assert.ok(err instanceof IpamError);
  assert.equal(err.code, 'NON_CANONICAL');
  assert.equal(err.message, 'invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24');
  assert.throws(() => parsePrefix('fd00::1/64'), { code: 'NON_CANONICAL', message: 'invalid subnet fd00::1/64: it should be fd00::/64' });
  assert.throws(() => parsePrefix('10.0.0.1/24', { what: 'ip-range' }), { message: 'invalid ip-range 10.0.0.1/24: it should be 10.0.0.0/24' });
  assert.equal(formatPrefix(parsePrefix('10.0.0.1/24', { strict: false })), '10.0.0.1/24');
  assert.equal(formatPrefix(masked(parsePrefix('10.0.0.1/24', { strict: false }))), '10.0.0.0/24');
  assert.equal(formatPrefix(parsePrefix('FD00:0::/8')), 'fd00::/8');
  for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/024', '/24', '10.0.0.0/2a', '::/129', '10.0.0.0/-1', 'x/8']) {
    assert.equal(code(() => parsePrefix(bad)), 'INVALID', bad);
  }
  assert.match((() => { try { parsePrefix('10.0.0.0/33'); } catch (e) { return (e as Error).message; } return ''; })(), /10\.0\.0\.0\/33.*0 to 32/);
  assert.ok(isCanonical(parsePrefix('0.0.0.0/0')));
  assert.equal(formatPrefix(parseAddressOrPrefix('8.8.8.8')), '8.8.8.8/32');
  assert.equal(formatPrefix(parseAddressOrPrefix('fd00::1')), 'fd00::1/128');
});

test('network, broadcast, nth, size', () => {
  const p = parsePrefix('10.1.0.0/16');
  assert.equal(formatAddress(firstAddress(p)), '10.1.0.0');
  assert.equal(formatAddress(lastAddress(p)), '10.1.255.255');
  assert.equal(formatAddress(nthAddress(p, 2)), '10.1.0.2');
  assert.equal(formatAddress(nthAddress(p, -1)), '10.1.255.255');
  assert.equal(formatAddress(nthAddress(p, 65535n)), '10.1.255.255');
  assert.equal(prefixSize(p), 65536n);
  assert.equal(code(() => nthAddress(p, 65536)), 'INVALID');
  assert.equal(code(() => nthAddress(p, -65537)), 'INVALID');
  const q = parsePrefix('fd00:1::/48');
  assert.equal(formatAddress(lastAddress(q)), 'fd00:1:0:ffff:ffff:ffff:ffff:ffff');
  assert.equal(formatAddress(nthAddress(q, 1n << 64n)), 'fd00:1:0:1::');
  assert.equal(prefixSize(parsePrefix('::/0')), 1n << 128n);
  assert.equal(formatAddress(lastAddress(parsePrefix('0.0.0.0/0'))), '255.255.255.255');
});

test('contains and overlaps; mixing families is a FAMILY error', () => {
  const p = parsePrefix('10.0.0.0/8');
  assert.ok(prefixContains(p, parseAddress('10.255.0.1')));
  assert.ok(!prefixContains(p, parseAddress('11.0.0.0')));
  assert.ok(prefixContains(p, parsePrefix('10.3.0.0/16')));
  assert.ok(prefixContains(p, p));
  assert.ok(!prefixContains(parsePrefix('10.3.0.0/16'), p));
  assert.ok(prefixOverlaps(p, parsePrefix('10.3.0.0/16')));
  assert.ok(prefixOverlaps(parsePrefix('10.3.0.0/16'), p));
  assert.ok(!prefixOverlaps(parsePrefix('10.3.0.0/16'), parsePrefix('10.4.0.0/16')));
  assert.ok(prefixOverlaps(parsePrefix('0.0.0.0/0'), parsePrefix('1.2.3.4/32')));
  assert.ok(prefixContains(parsePrefix('fd00::/8'), parseAddress('fdff::1')));
  assert.equal(code(() => prefixContains(p, parseAddress('::1'))), 'FAMILY');
  assert.equal(code(() => prefixOverlaps(p, parsePrefix('::/0'))), 'FAMILY');
  assert.throws(() => prefixContains(p, parseAddress('fd00::1')), { message: 'invalid address fd00::1: parent subnet is an IPv4 block' });
});

test('random prefixes: overlap is symmetric and agrees with containment of ends', () => {
  const r = rng(11);
  const rand = (): ReturnType<typeof parsePrefix> => {
    const bits = Math.floor(r() * 33);
    const v = BigInt(Math.floor(r() * 2 ** 32));
    return masked({ family: 4, addr: v, bits });
  };
  for (let i = 0; i < 3000; i++) {
    const a = rand();
    const b = rand();
    const naive = firstAddress(a).value <= lastAddress(b).value && firstAddress(b).value <= lastAddress(a).value;
    assert.equal(prefixOverlaps(a, b), naive);
    assert.equal(prefixOverlaps(b, a), naive);
    const contains = firstAddress(a).value <= firstAddress(b).value && lastAddress(b).value <= lastAddress(a).value;
    assert.equal(prefixContains(a, b), contains);
  }
});
