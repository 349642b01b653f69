import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IPAM_HTTP_STATUS, IpamError, SubnetAllocator, validateNetworkIpam } from '../../src/ipam/index.ts';

const failure = (f: () => unknown): IpamError => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof IpamError, String(e));
    return e;
  }
  assert.fail('expected an IpamError');
};

test('normalizes a valid config and picks the gateway', () => {
  assert.deepEqual(validateNetworkIpam({ subnet: '10.5.0.0/16' }), { family: 4, subnet: '10.5.0.0/16', gateway: '10.5.0.1' });
  assert.deepEqual(
    validateNetworkIpam({ subnet: 'FD00:0:0:7::/64', ipRange: 'fd00:0:0:7:1::/80', gateway: 'fd00:0:0:7::FFFF', auxAddresses: { r: 'fd00:0:0:7::fe' } }),
    { family: 6, subnet: 'fd00:0:0:7::/64', ipRange: 'fd00:0:0:7:1::/80', gateway: 'fd00:0:0:7::ffff', auxAddresses: { r: 'fd00:0:0:7::fe' } },
  );
  const host = validateNetworkIpam({ subnet: '10.5.0.9/32' });
  assert.equal(host.gateway, '', 'no room for a gateway in a /32');
  assert.equal(new SubnetAllocator(host).allocate(), '10.5.0.9', 'the normalized config feeds the allocator');
  const norm = validateNetworkIpam({ subnet: '10.5.0.0/24', gateway: '10.5.0.254', auxAddresses: { a: '10.5.0.1' } });
  const alloc = new SubnetAllocator(norm);
  assert.equal(alloc.gateway, '10.5.0.254');
  assert.equal(alloc.allocate(), '10.5.0.2');
});

test('loopback and multicast subnets are refused, saying why', () => {
  for (const [subnet, why] of [
    ['127.0.0.0/8', /loopback range 127\.0\.0\.0\/8/], ['127.5.0.0/16', /loopback/], ['::1/128', /loopback address ::1/],
    ['::/0', /loopback address ::1/], ['224.0.0.0/24', /multicast range 224\.0\.0\.0\/4/], ['ff00::/8', /multicast range ff00::\/8/],
    ['ff02::/64', /multicast/], ['0.0.0.0/1', /loopback/],
  ] as const) {
    const e = failure(() => validateNetworkIpam({ subnet }));
    assert.equal(e.code, 'INVALID', subnet);
    assert.equal(IPAM_HTTP_STATUS[e.code], 400);
    assert.match(e.message, new RegExp(`^invalid subnet ${subnet.replace(/[./]/g, '\\$&')}: `), subnet);
    assert.match(e.message, why, subnet);
  }
  assert.equal(validateNetworkIpam({ subnet: '128.0.0.0/8' }).gateway, '128.0.0.1', 'next to loopback is fine');
});

test("Docker's messages for single problems", () => {
  const cases: [Parameters<typeof validateNetworkIpam>[0], string, string][] = [
    [{ subnet: '10.0.0.1/24' }, 'NON_CANONICAL', 'invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24'],
    [{ subnet: '10.0.0/24' }, 'INVALID', 'invalid subnet 10.0.0/24: invalid CIDR block notation'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }, 'OUTSIDE', "invalid gateway 10.0.1.1: parent subnet 10.0.0.0/24 doesn't contain this address"],
    [{ subnet: '10.0.0.0/24', gateway: 'fd00::1' }, 'FAMILY', 'invalid gateway fd00::1: parent subnet is an IPv4 block'],
    [{ subnet: '10.0.0.0/24', gateway: 'bogus' }, 'INVALID', 'invalid gateway bogus: invalid address'],
    [{ subnet: '10.0.0.0/24', ipRange: '10.0.0.0/23' }, 'INVALID', 'invalid ip-range 10.0.0.0/23: CIDR block is bigger than its parent subnet 10.0.0.0/24'],
    [{ subnet: '10.0.0.0/24', ipRange: '10.0.0.1/25' }, 'NON_CANONICAL', 'invalid ip-range 10.0.0.1/25: it should be 10.0.0.0/25'],
    [{ subnet: '10.0.0.0/24', ipRange: '10.0.1.0/25' }, 'OUTSIDE', "invalid ip-range 10.0.1.0/25: parent subnet 10.0.0.0/24 doesn't contain ip-range"],
    [{ subnet: '10.0.0.0/24', ipRange: 'fd00::/64' }, 'FAMILY', 'invalid ip-range fd00::/64: parent subnet is an IPv4 block'],
    [{ subnet: '10.0.0.0/24', ipRange: 'x' }, 'INVALID', 'invalid ip-range x: invalid CIDR block notation'],
    [{ subnet: '10.0.0.0/24', auxAddresses: { host1: '10.9.0.1' } }, 'OUTSIDE', "invalid auxiliary address host1 10.9.0.1: parent subnet 10.0.0.0/24 doesn't contain this address"],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.0.255' }, 'INVALID', 'invalid gateway 10.0.0.255: 10.0.0.255 is already the broadcast address of 10.0.0.0/24'],
  ];
  for (const [cfg, code, message] of cases) {
    const e = failure(() => validateNetworkIpam(cfg));
    assert.equal(e.code, code, JSON.stringify(cfg));
    assert.equal(e.message, message);
    assert.equal(IPAM_HTTP_STATUS[e.code], 400);
  }
});

test('overlap with existing networks', () => {
  const e = failure(() => validateNetworkIpam({ subnet: '172.18.0.0/24' }, ['172.17.0.0/16', '172.18.0.0/16', 'fd00::/64']));
  assert.equal(e.code, 'OVERLAP');
  assert.equal(e.message, 'Pool overlaps with other one on this address space');
  assert.equal(IPAM_HTTP_STATUS.OVERLAP, 403);
  validateNetworkIpam({ subnet: '172.19.0.0/24' }, ['172.17.0.0/16', '172.18.0.0/16', 'fd00::/64']);
});

test('several problems are joined like Docker does', () => {
  const e = failure(() => validateNetworkIpam({ subnet: '10.0.0.1/24', ipRange: '10.0.1.0/25', gateway: '10.1.0.1' }));
  assert.equal(e.code, 'INVALID_CONFIG');
  assert.equal(e.message, [
    'invalid network config:',
    '* invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24',
    "* invalid ip-range 10.0.1.0/25: parent subnet 10.0.0.0/24 doesn't contain ip-range",
    "* invalid gateway 10.1.0.1: parent subnet 10.0.0.0/24 doesn't contain this address",
  ].join('\n'));
  assert.ok(e.detail.code === 'INVALID_CONFIG' && e.detail.problems.length === 3);
});
