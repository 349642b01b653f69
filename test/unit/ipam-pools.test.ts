import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  IpamError, PoolSet, checkOverlap, defaultPools, dockerDefaultPools, parsePoolFlag, parsePrefix, prefixOverlaps, ulaPool, ulaPrefix,
} from '../../src/ipam/index.ts';
import { rng } from '../helpers/rng.ts';


/** Creates networks one after another until the pools run out (or `max`). */
function fill(ps: PoolSet, family: 4 | 6, avoid: string[] = [], max = 100_000): string[] {
  const taken: string[] = [];
  for (let i = 0; i < max; i++) {
    try {
      taken.push(ps.choose({ family, taken, avoid }));
    } catch (e) {
      assert.ok(e instanceof IpamError);
      assert.equal(e.code, 'EXHAUSTED');
      assert.equal(e.message, 'all predefined address pools have been fully subnetted');
      break;
    }
  }
  return taken;
}

test("default pools: Docker's first choices, in Docker's order", () => {
  const ps = new PoolSet();
  const got = fill(ps, 4, [], 32);
  const docker = [
    ...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`),
    ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
  ];
  assert.deepEqual(got.slice(0, 31), docker);
  assert.equal(got[31], '10.112.0.0/24', 'then the fallback');
  assert.deepEqual(dockerDefaultPools().map((p) => p.base).slice(0, 3), ['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16']);
});

test('default pools hold >= 1000 networks, all distinct and non-overlapping', () => {
  const got = fill(new PoolSet(), 4);
  assert.ok(got.length >= 1000, `${got.length} networks`);
  assert.equal(got.length, 31 + 4096);
  const sorted = got.map((s) => parsePrefix(s)).sort((a, b) => (a.addr < b.addr ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) assert.ok(!prefixOverlaps(sorted[i - 1]!, sorted[i]!));
});

test('only Docker pools: exhaustion after 31 networks', () => {
  const got = fill(new PoolSet(dockerDefaultPools()), 4);
  assert.equal(got.length, 31);
});

test('choice avoids taken subnets, host routes and nameservers; a default route is ignored', () => {
  const ps = new PoolSet();
  const avoid = ['0.0.0.0/0', '::/0', '172.17.0.0/16', '172.18.5.0/24', '172.19.0.53', 'fd00::/8'];
  assert.equal(ps.choose({ family: 4, taken: [], avoid }), '172.20.0.0/16');
  assert.equal(ps.choose({ family: 4, taken: ['172.20.0.0/15'], avoid }), '172.22.0.0/16');
  // A VPN route over all of 172.16/12 pushes everything to 192.168.
  assert.equal(ps.choose({ family: 4, taken: [], avoid: ['172.16.0.0/12'] }), '192.168.0.0/20');
  // A home LAN inside 192.168 skips only the /20 that holds it.
  assert.equal(ps.choose({ family: 4, taken: [], avoid: ['172.16.0.0/12', '192.168.1.0/24'] }), '192.168.16.0/20');
  // A freed subnet is chosen again: the lowest free prefix wins.
  assert.equal(ps.choose({ family: 4, taken: ['172.18.0.0/16', '172.19.0.0/16'], avoid: [] }), '172.17.0.0/16');
  // With the whole Docker list blocked by routes, the fallback still avoids routes.
  const fallback = ps.choose({ family: 4, taken: [], avoid: ['172.16.0.0/12', '192.168.0.0/16', '10.112.0.0/16', '10.113.0.7'] });
  assert.equal(fallback, '10.113.1.0/24');
  assert.throws(() => ps.choose({ family: 4, taken: [], avoid: ['172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/8'] }), { code: 'EXHAUSTED' });
});

test('random taken/avoid sets: the choice overlaps none of them and is the lowest free in pool order', () => {
  const r = rng(5);
  const pools = [{ base: '10.10.0.0/16', size: 24 }, { base: '10.20.0.0/22', size: 26 }];
  const ps = new PoolSet(pools);
  for (let round = 0; round < 300; round++) {
    const blocked: string[] = [];
    const n = Math.floor(r() * 80);
    for (let i = 0; i < n; i++) {
      const bits = 14 + Math.floor(r() * 19);
      const v = (10 << 24) + ((r() < 0.5 ? 10 : 20) << 16) + Math.floor(r() * 65536);
      const p = parsePrefix(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${bits}`, { strict: false });
      const net = p.addr & ~((1n << BigInt(32 - bits)) - 1n);
      const n4 = Number(net);
      blocked.push(`${n4 >>> 24}.${(n4 >>> 16) & 255}.${(n4 >>> 8) & 255}.${n4 & 255}/${bits}`);
    }
    const taken = blocked.filter((_, i) => i % 2 === 0);
    const avoid = blocked.filter((_, i) => i % 2 === 1);
    // Naive answer: walk every candidate of every pool in order.
    let want: string | null = null;
    outer: for (const pool of pools) {
      const base = parsePrefix(pool.base);
      const count = 1 << (pool.size - base.bits);
      for (let k = 0; k < count; k++) {
        const v = Number(base.addr) + k * 2 ** (32 - pool.size);
        const cand = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${pool.size}`;
        if (!blocked.some((b) => prefixOverlaps(parsePrefix(b), parsePrefix(cand)))) {
          want = cand;
          break outer;
        }
      }
    }
    if (want === null) assert.throws(() => ps.choose({ family: 4, taken, avoid }), { code: 'EXHAUSTED' });
    else assert.equal(ps.choose({ family: 4, taken, avoid }), want);
  }
});

test('custom pools replace the defaults (default-address-pool)', () => {
  const ps = new PoolSet([parsePoolFlag('base=10.10.0.0/16,size=24')]);
  assert.equal(ps.choose({ family: 4, taken: [], avoid: [] }), '10.10.0.0/24');
  assert.equal(ps.choose({ family: 4, taken: ['10.10.0.0/24'], avoid: [] }), '10.10.1.0/24');
  assert.equal(fill(ps, 4).length, 256);
  assert.throws(() => ps.choose({ family: 6, taken: [], avoid: [] }), { code: 'EXHAUSTED' }, 'no IPv6 pool configured');
});

test('parsePoolFlag: syntax and errors', () => {
  assert.deepEqual(parsePoolFlag('base=10.10.0.0/16,size=24'), { base: '10.10.0.0/16', size: 24 });
  assert.deepEqual(parsePoolFlag('SIZE=20, Base=192.168.0.0/16'), { base: '192.168.0.0/16', size: 20 });
  assert.deepEqual(parsePoolFlag('base=fd00:1::/48,size=64'), { base: 'fd00:1::/48', size: 64 });
  const bad: [string, string, RegExp][] = [
    ['base=10.10.0.0/16', 'INVALID', /both base and size/],
    ['size=24', 'INVALID', /both base and size/],
    ['base=10.10.0.0/16,size=24,foo=1', 'INVALID', /only the keys base and size, got "foo"/],
    ['base=10.10.0.0/16;size=24', 'INVALID', /both base and size/],
    ['base', 'INVALID', /key=value fields, got "base"/],
    ['base=10.10.0.0/16,size=x', 'INVALID', /size to be a prefix length/],
    ['base=10.10.0.0/16,size=8', 'INVALID', /invalid pool size "8": expected a prefix length from 16/],
    ['base=10.10.0.0/16,size=33', 'INVALID', /from 16 \(the base 10.10.0.0\/16\) to 32/],
    ['base=10.10.0.1/16,size=24', 'NON_CANONICAL', /invalid pool base 10.10.0.1\/16: it should be 10.10.0.0\/16/],
    ['base=10.10.0/16,size=24', 'INVALID', /invalid pool base "10.10.0\/16"/],
    ['', 'INVALID', /key=value/],
  ];
  for (const [flag, code, msg] of bad) assert.throws(() => parsePoolFlag(flag), { code, message: msg }, flag);
  assert.throws(() => new PoolSet([{ base: '10.0.0.0/8', size: 4 }]), { code: 'INVALID' });
});

test('IPv6 without a subnet: ULA /64s from a /48 derived from the host id, like Docker', () => {
  const hostId = 'b7e3a9c2-4f1d-4e8a-9c3b-1a2b3c4d5e6f';
  // Independent derivation: the low 40 bits of the first 8 bytes of sha256 are hex digits 6..16.
  const hex = createHash('sha256').update(hostId).digest('hex');
  const gid = hex.slice(6, 16);
  const want48 = `fd${gid.slice(0, 2)}:${gid.slice(2, 6)}:${gid.slice(6, 10)}::/48`;
  const norm = (s: string): string => s.replace(/:0+([0-9a-f])/g, ':$1');
  assert.equal(ulaPool(hostId).base, norm(want48));
  assert.equal(ulaPool(hostId).size, 64);
  assert.equal(ulaPrefix(hostId, 0), norm(want48).replace('/48', '/64'));
  const first = parsePrefix(ulaPrefix(hostId, 0));
  const third = parsePrefix(ulaPrefix(hostId, 2));
  assert.equal(third.addr - first.addr, 2n << 64n);
  assert.notEqual(ulaPool('another-host').base, ulaPool(hostId).base);
  assert.throws(() => ulaPrefix(hostId, 65536), { code: 'INVALID' });
  // Through a PoolSet: the defaults plus the host's ULA pool.
  const ps = new PoolSet(defaultPools(hostId));
  const taken = [ps.choose({ family: 6, taken: [], avoid: [] })];
  taken.push(ps.choose({ family: 6, taken, avoid: ['fe80::/64'] }));
  assert.deepEqual(taken, [ulaPrefix(hostId, 0), ulaPrefix(hostId, 1)]);
  assert.equal(ps.choose({ family: 4, taken, avoid: [] }), '172.17.0.0/16', 'IPv6 subnets do not block IPv4 choices');
});

test('user subnets: OVERLAP with the Docker message', () => {
  assert.throws(() => checkOverlap('172.18.0.0/24', ['172.17.0.0/16', '172.18.0.0/16']), (e: unknown) => {
    assert.ok(e instanceof IpamError);
    assert.equal(e.code, 'OVERLAP');
    assert.equal(e.message, 'Pool overlaps with other one on this address space');
    assert.deepEqual(e.detail, { code: 'OVERLAP', subnet: '172.18.0.0/24', other: '172.18.0.0/16' });
    return true;
  });
  checkOverlap('172.18.0.0/24', ['172.17.0.0/16', 'fd00::/64']);
  checkOverlap('fd01::/64', ['fd00::/64', '10.0.0.0/8']);
  assert.throws(() => checkOverlap('fd00::/48', ['fd00::/64']), { code: 'OVERLAP' });
});
