// Address parsing and formatting used to build rtnetlink messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { broadcast4, formatIp, formatMac, isNetwork, parseCidr, parseIp, parseMac } from '../../src/netlink/address.ts';
import { sysctlPath } from '../../src/netlink/sysctl-key.ts';
import { NetlinkError } from '../../src/netlink/errors.ts';
import * as v from '../../src/netlink/validate.ts';

test('IPv4 parse/format', () => {
  assert.deepEqual(parseIp('10.1.2.3'), { family: 4, bytes: Buffer.from([10, 1, 2, 3]) });
  for (const bad of ['10.1.2', '10.1.2.256', '01.1.1.1', '1.1.1.1 ', '', 'a.b.c.d']) assert.equal(parseIp(bad), null, bad);
  assert.equal(formatIp(Buffer.from([192, 168, 0, 1])), '192.168.0.1');
});

test('IPv6 parse/format round trips in RFC 5952 form', () => {
  const cases: Array<[string, string]> = [
    ['fd00::1', 'fd00::1'], ['::', '::'], ['::1', '::1'], ['FE80:0:0:0:0:0:0:1', 'fe80::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'], ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ];
  for (const [input, out] of cases) {
    const ip = parseIp(input);
    assert.ok(ip, input);
    assert.equal(ip.family, 6);
    assert.equal(formatIp(ip.bytes), out, input);
  }
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', ':::', '12345::', 'g::1']) assert.equal(parseIp(bad), null, bad);
});

test('CIDR parse, network check and IPv4 broadcast', () => {
  const c = parseCidr('10.0.0.5/24');
  assert.ok(c);
  assert.equal(c.prefix, 24);
  assert.equal(isNetwork(c), false);
  assert.equal(formatIp(broadcast4(c)), '10.0.0.255');
  const n = parseCidr('10.0.0.0/8');
  assert.ok(n && isNetwork(n));
  assert.ok(parseCidr('fd00::/64') && isNetwork(parseCidr('fd00::/64')!));
  assert.equal(parseCidr('10.0.0.1/33'), null);
  assert.equal(parseCidr('fd00::1/129'), null);
  assert.equal(parseCidr('10.0.0.1/024'), null);
  assert.equal(parseCidr('10.0.0.1')?.prefix, 32);
});

test('MAC parse/format', () => {
  assert.deepEqual(parseMac('02:AA:bb:cc:dd:0e'), Buffer.from('02aabbccdd0e', 'hex'));
  assert.equal(formatMac(Buffer.from('02aabbccdd0e', 'hex')), '02:aa:bb:cc:dd:0e');
  for (const bad of ['02:aa:bb:cc:dd', '02-aa-bb-cc-dd-ee', 'zz:aa:bb:cc:dd:ee']) assert.equal(parseMac(bad), null);
});

const ctx = { op: 'creating', object: 'link "x"' };
const codeOf = (fn: () => unknown): string => {
  try { fn(); } catch (e) { assert.ok(e instanceof NetlinkError); return e.code; }
  return 'no error';
};

test('interface names follow the kernel dev_valid_name rules', () => {
  for (const ok of ['eth0', 'br-1a2b3c4d5e6f', 'a', 'x'.repeat(15), 'veth.100']) assert.equal(v.ifName(ctx, ok), ok);
  for (const bad of ['', 'x'.repeat(16), 'a/b', 'a b', 'a\tb', 'a:1', '.', '..', 'é'.repeat(8)]) assert.equal(codeOf(() => v.ifName(ctx, bad)), 'INVALID_NAME', bad);
  assert.match(codeOf(() => v.ifName(ctx, 3)), /INVALID_NAME/);
});

test('validation errors name the bad value and the operation', () => {
  try {
    v.cidr({ op: 'adding', object: 'address 10.0.0.300/24 on "eth0"' }, '10.0.0.300/24');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, 'INVALID_CIDR');
    assert.match(e.message, /^INVALID_CIDR adding address 10\.0\.0\.300\/24 on "eth0": .*"10\.0\.0\.300\/24"/);
  }
  assert.equal(codeOf(() => v.sameFamily(ctx, [['dst', parseIp('10.0.0.0')!], ['gateway', parseIp('fd00::1')!]])), 'FAMILY_MISMATCH');
  assert.equal(codeOf(() => v.mac(ctx, 'nope')), 'INVALID_MAC');
  assert.equal(codeOf(() => v.int(ctx, 70000, 'MTU', 68, 65535)), 'INVALID_VALUE');
  assert.equal(codeOf(() => v.linkRef(ctx, 0)), 'INVALID_VALUE');
  assert.equal(v.linkRef(ctx, 7), 7);
});

test('sysctl keys map to /proc/sys/net only', () => {
  assert.equal(sysctlPath(ctx, 'net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  assert.equal(sysctlPath(ctx, 'net/ipv4/conf/eth0.100/forwarding'), '/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  for (const bad of ['kernel.hostname', 'net', 'net/../kernel/x', 'net.ipv4.ip forward', 'vm.swappiness']) {
    assert.equal(codeOf(() => sysctlPath(ctx, bad)), 'INVALID_VALUE', bad);
  }
});
