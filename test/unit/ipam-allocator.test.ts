import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpamError, SubnetAllocator, formatAddress, parseAddress, parsePrefix, prefixSize } from '../../src/ipam/index.ts';
import type { SubnetAllocatorConfig } from '../../src/ipam/index.ts';
import { rng } from '../helpers/rng.ts';


const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof IpamError, String(e));
    return e.code;
  }
  return 'OK';
};

/**
 * A naive model of the allocator on bigint offsets: the reserved set computed
 * from the documented rules, next-fit by walking offsets one at a time (fine
 * for a model: it only walks over used addresses).
 */
class Model {
  readonly net: bigint;
  readonly size: bigint;
  readonly family: 4 | 6;
  readonly lo: bigint;
  readonly hi: bigint;
  readonly reserved = new Set<bigint>();
  readonly used = new Set<bigint>();
  cursor: bigint;
  constructor(cfg: SubnetAllocatorConfig) {
    const p = parsePrefix(cfg.subnet);
    this.family = p.family;
    this.net = p.addr;
    this.size = prefixSize(p);
    const hostBits = (p.family === 4 ? 32 : 128) - p.bits;
    let lo = 0n;
    let rangeSize = this.size;
    if (cfg.ipRange) {
      const r = parsePrefix(cfg.ipRange);
      lo = r.addr - p.addr;
      rangeSize = prefixSize(r);
    }
    // Dynamic allocation is limited to 2^32 addresses from the range start.
    this.lo = lo;
    this.hi = lo + (rangeSize > 1n << 32n ? 1n << 32n : rangeSize) - 1n;
    this.cursor = this.lo;
    if (hostBits > 1) {
      this.reserved.add(0n);
      if (p.family === 4) this.reserved.add(this.size - 1n);
    }
    if (cfg.gateway === undefined) {
      if (hostBits > 0) this.reserved.add(hostBits > 1 ? 1n : 0n);
    } else if (cfg.gateway) {
      this.reserved.add(this.off(cfg.gateway));
    }
    for (const a of Object.values(cfg.auxAddresses ?? {})) this.reserved.add(this.off(a));
    for (const r of this.reserved) this.used.add(r);
  }
  off(text: string): bigint {
    return parseAddress(text).value - this.net;
  }
  text(off: bigint): string {
    return formatAddress({ family: this.family, value: this.net + off });
  }
  nextFit(): bigint | null {
    for (let o = this.cursor; o <= this.hi; o++) if (!this.used.has(o)) return o;
    for (let o = this.lo; o <= this.hi; o++) if (!this.used.has(o)) return o;
    return null;
  }
  randomOffset(r: () => number): bigint {
    // Half near the dynamic range (collisions likely), half anywhere in the subnet.
    if (r() < 0.5) {
      const span = this.hi - this.lo + 1n;
      const near = BigInt(Math.floor(r() * Number(span < 4096n ? span : 4096n)));
      return this.lo + near;
    }
    let v = 0n;
    for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(Math.floor(r() * 2 ** 32));
    return v % this.size;
  }
}

function runRandom(cfg: SubnetAllocatorConfig, seed: number, ops: number): void {
  const r = rng(seed);
  const a = new SubnetAllocator(cfg);
  const m = new Model(cfg);
  const handedOut = new Set<string>();
  const label = `${JSON.stringify(cfg)} seed ${seed}`;
  for (let i = 0; i < ops; i++) {
    const x = r();
    if (x < 0.45) {
      const want = m.nextFit();
      if (want === null) {
        assert.equal(codeOf(() => a.allocate()), 'FULL', label);
        continue;
      }
      const got = a.allocate();
      assert.equal(got, m.text(want), `${label} op ${i}: next-fit`);
      assert.ok(!m.reserved.has(want), 'reserved addresses are never handed out');
      assert.ok(want >= m.lo && want <= m.hi, 'dynamic addresses stay in the ip-range');
      assert.ok(!handedOut.has(got), `${got} handed out twice`);
      handedOut.add(got);
      m.used.add(want);
      m.cursor = want + 1n > m.hi ? m.lo : want + 1n;
    } else if (x < 0.65) {
      const off = m.randomOffset(r);
      const text = m.text(off);
      if (m.used.has(off)) {
        assert.equal(codeOf(() => a.allocate(text)), 'IN_USE', label);
      } else {
        assert.equal(a.allocate(text), text);
        assert.ok(!handedOut.has(text));
        handedOut.add(text);
        m.used.add(off);
      }
    } else if (x < 0.95) {
      // Release something handed out (mostly) or something free / reserved.
      const pick = r();
      if (pick < 0.8 && handedOut.size > 0) {
        const k = Math.floor(r() * handedOut.size);
        const text = [...handedOut][k]!;
        assert.equal(a.release(text), true);
        handedOut.delete(text);
        m.used.delete(m.off(text));
        assert.equal(a.isUsed(text), false, 'released addresses are free again');
      } else if (pick < 0.9 && m.reserved.size > 0) {
        const res = [...m.reserved][Math.floor(r() * m.reserved.size)]!;
        assert.equal(codeOf(() => a.release(m.text(res))), 'RESERVED');
      } else {
        const off = m.randomOffset(r);
        const text = m.text(off);
        if (m.reserved.has(off)) {
          assert.equal(codeOf(() => a.release(text)), 'RESERVED');
        } else {
          assert.equal(a.release(text), m.used.has(off));
          handedOut.delete(text);
          m.used.delete(off);
        }
      }
    } else {
      const off = m.randomOffset(r);
      assert.equal(a.isUsed(m.text(off)), m.used.has(off), `${label} isUsed`);
    }
  }
  const st = a.stats();
  assert.equal(st.used, handedOut.size);
  assert.equal(st.reserved, m.reserved.size);
  for (const t of handedOut) assert.ok(a.isUsed(t));

  // Rebuilding from the handed-out addresses and the saved cursor continues identically.
  const b = SubnetAllocator.restore(cfg, handedOut, { cursor: a.cursor });
  // Same counts; runs and bytes may differ (history shapes the run set's leaves).
  assert.deepEqual({ ...b.stats(), runs: 0, bytes: 0 }, { ...a.stats(), runs: 0, bytes: 0 });
  for (let i = 0; i < 50; i++) {
    let next: string;
    try {
      next = a.allocate();
    } catch (e) {
      assert.equal(codeOf(() => b.allocate()), (e as IpamError).code);
      break;
    }
    assert.equal(b.allocate(), next, `${label}: restored allocator continues the same way`);
  }
}

const CONFIGS: SubnetAllocatorConfig[] = [
  { subnet: '10.0.0.0/24' },
  { subnet: '10.0.0.0/26', gateway: '10.0.0.62', auxAddresses: { a: '10.0.0.5', b: '10.0.0.33' } },
  { subnet: '10.0.0.0/22', ipRange: '10.0.3.0/24' }, // range at the top edge: broadcast inside it
  { subnet: '10.0.0.0/22', ipRange: '10.0.0.0/24' }, // range at the bottom edge: network and gateway inside it
  { subnet: '10.0.0.0/22', ipRange: '10.0.1.64/26', gateway: '10.0.3.1' },
  { subnet: '192.168.7.0/30' },
  { subnet: '192.168.7.0/31' },
  { subnet: '192.168.7.9/32' },
  { subnet: '10.0.0.0/28', gateway: null },
  { subnet: 'fd00::/120' },
  { subnet: 'fd00::/116', ipRange: 'fd00::f00/120' },
  { subnet: 'fd00::/127' },
  { subnet: 'fd00::5/128' },
  { subnet: 'fd00:1:2:3::/64' },
  { subnet: 'fd00:1:2:3::/64', ipRange: 'fd00:1:2:3:8000::/65' },
  { subnet: 'fd00:1:2::/48', gateway: 'fd00:1:2:ffff::1' },
  { subnet: 'fd00::/96' }, // exactly 2^32: one window, no far set
  { subnet: 'fd00::/95' }, // just over: the window is the first 2^32
];

test('random allocate / static / release sequences agree with a naive next-fit model', () => {
  let seed = 1;
  for (const cfg of CONFIGS) {
    for (let k = 0; k < 3; k++) runRandom(cfg, seed++, 2000);
  }
});

test('a fresh subnet hands out .2, .3, ... like Docker; the gateway is .1', () => {
  const a = new SubnetAllocator({ subnet: '172.18.0.0/16' });
  assert.equal(a.gateway, '172.18.0.1');
  assert.deepEqual([a.allocate(), a.allocate(), a.allocate()], ['172.18.0.2', '172.18.0.3', '172.18.0.4']);
  const b = new SubnetAllocator({ subnet: 'fdac:4935:25ff::/64' });
  assert.equal(b.gateway, 'fdac:4935:25ff::1');
  assert.deepEqual([b.allocate(), b.allocate()], ['fdac:4935:25ff::2', 'fdac:4935:25ff::3']);
});

test('next-fit: a released address is not reused until the range wraps', () => {
  const a = new SubnetAllocator({ subnet: '10.0.0.0/29' }); // .1 gateway, .2-.6 usable, .7 broadcast
  assert.deepEqual([a.allocate(), a.allocate(), a.allocate()], ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  assert.equal(a.release('10.0.0.3'), true);
  assert.equal(a.allocate(), '10.0.0.5');
  assert.equal(a.allocate(), '10.0.0.6');
  assert.equal(a.allocate(), '10.0.0.3', 'wraps to the lowest free');
  assert.throws(() => a.allocate(), { code: 'FULL', message: 'no available addresses on this pool' });
  assert.equal(a.release('10.0.0.5'), true);
  assert.equal(a.release('10.0.0.5'), false, 'releasing twice reports false');
  assert.equal(a.allocate(), '10.0.0.5');
});

test('ip-range: dynamic addresses inside it, static ones anywhere in the subnet', () => {
  const a = new SubnetAllocator({ subnet: '10.0.0.0/24', ipRange: '10.0.0.128/25' });
  assert.equal(a.gateway, '10.0.0.1');
  assert.equal(a.allocate(), '10.0.0.128');
  assert.equal(a.allocate('10.0.0.9'), '10.0.0.9');
  const last = new SubnetAllocator({ subnet: '10.0.0.0/24', ipRange: '10.0.0.252/30' });
  assert.deepEqual([last.allocate(), last.allocate(), last.allocate()], ['10.0.0.252', '10.0.0.253', '10.0.0.254']);
  assert.throws(() => last.allocate(), { code: 'FULL' }, 'the broadcast address is never handed out');
  assert.throws(() => new SubnetAllocator({ subnet: '10.0.0.0/24', ipRange: '10.0.1.0/25' }), { code: 'OUTSIDE', message: "invalid ip-range 10.0.1.0/25: parent subnet 10.0.0.0/24 doesn't contain ip-range" });
  assert.throws(() => new SubnetAllocator({ subnet: '10.0.0.0/24', ipRange: 'fd00::/120' }), { code: 'FAMILY' });
});

test('edges: /31 and /127 use both addresses, /32 and /128 hold one endpoint', () => {
  const p31 = new SubnetAllocator({ subnet: '10.9.0.0/31' });
  assert.equal(p31.gateway, '10.9.0.0');
  assert.equal(p31.allocate(), '10.9.0.1');
  assert.throws(() => p31.allocate(), { code: 'FULL' });
  const p32 = new SubnetAllocator({ subnet: '10.9.0.7/32' });
  assert.equal(p32.gateway, null);
  assert.equal(p32.allocate(), '10.9.0.7');
  assert.equal(p32.stats().size, 1n);
  const p127 = new SubnetAllocator({ subnet: 'fd00::10/127' });
  assert.equal(p127.gateway, 'fd00::10');
  assert.equal(p127.allocate(), 'fd00::11');
  const p128 = new SubnetAllocator({ subnet: 'fd00::10/128' });
  assert.equal(p128.gateway, null);
  assert.equal(p128.allocate(), 'fd00::10');
  const p30 = new SubnetAllocator({ subnet: '10.9.0.0/30' });
  assert.equal(p30.allocate(), '10.9.0.2');
  assert.throws(() => p30.allocate(), { code: 'FULL' });
  const v6 = new SubnetAllocator({ subnet: 'fd00::/126' });
  assert.deepEqual([v6.allocate(), v6.allocate()], ['fd00::2', 'fd00::3'], 'IPv6 has no broadcast: the last address is usable');
});

test('static requests: IN_USE and OUTSIDE with Docker messages; canonical text returned', () => {
  const a = new SubnetAllocator({ subnet: 'fd00:0:0:1::/64', auxAddresses: { router: 'fd00:0:0:1::fe' } });
  assert.equal(a.allocate('FD00:0:0:1:0::2'), 'fd00:0:0:1::2');
  assert.throws(() => a.allocate('fd00:0:0:1::2'), { code: 'IN_USE', message: 'Address already in use' });
  assert.throws(() => a.allocate('fd00:0:0:1::1'), { code: 'IN_USE' }, 'the gateway');
  assert.throws(() => a.allocate('fd00:0:0:1::fe'), { code: 'IN_USE' }, 'an auxiliary address');
  assert.throws(() => a.allocate('fd00:0:0:2::1'), { code: 'OUTSIDE', message: 'no configured subnet contains IP address fd00:0:0:2::1' });
  assert.throws(() => a.allocate('10.0.0.1'), { code: 'FAMILY' });
  assert.throws(() => a.allocate('nope'), { code: 'INVALID' });
  assert.equal(a.allocate('fd00:0:0:1:ffff:ffff:ffff:ffff'), 'fd00::1:ffff:ffff:ffff:ffff', 'the last address of a /64');
  assert.equal(a.reservedRole('fd00:0:0:1::fe'), 'auxiliary');
  assert.equal(a.reservedRole('fd00:0:0:1::'), 'network');
  assert.throws(() => a.release('fd00:0:0:1::1'), { code: 'RESERVED', message: 'address fd00:0:0:1::1 is the gateway address of its subnet and cannot be released' });
  const b = new SubnetAllocator({ subnet: '10.0.0.0/24' });
  assert.throws(() => b.allocate('10.0.1.1'), { code: 'OUTSIDE', message: 'no configured subnet contains IP address 10.0.1.1' });
  assert.equal(b.isUsed('10.0.1.1'), false);
});

test('gateway and auxiliary addresses: validated and reserved', () => {
  assert.throws(() => new SubnetAllocator({ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }), { code: 'OUTSIDE', message: "invalid gateway 10.0.1.1: parent subnet 10.0.0.0/24 doesn't contain this address" });
  assert.throws(() => new SubnetAllocator({ subnet: '10.0.0.0/24', gateway: 'fd00::1' }), { code: 'FAMILY', message: 'invalid gateway fd00::1: parent subnet is an IPv4 block' });
  assert.throws(() => new SubnetAllocator({ subnet: '10.0.0.0/24', gateway: '10.0.0.0' }), { code: 'INVALID', message: 'invalid gateway 10.0.0.0: 10.0.0.0 is already the network address of 10.0.0.0/24' });
  assert.throws(() => new SubnetAllocator({ subnet: '10.0.0.0/24', gateway: '10.0.0.9', aux: { x: '10.0.0.9' } }), { code: 'INVALID' });
  assert.throws(() => new SubnetAllocator({ subnet: '10.0.0.1/24' }), { code: 'NON_CANONICAL', message: 'invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24' });
  const a = new SubnetAllocator({ subnet: '10.0.0.0/29', gateway: '10.0.0.2', aux: { x: '10.0.0.1' } });
  assert.equal(a.gateway, '10.0.0.2');
  assert.deepEqual([a.allocate(), a.allocate()], ['10.0.0.3', '10.0.0.4']);
  assert.equal(new SubnetAllocator({ subnet: '10.0.0.0/29', gateway: '' }).gateway, '10.0.0.1', "'' means not given, as in Docker's API");
  const none = new SubnetAllocator({ subnet: '10.0.0.0/29', gateway: null });
  assert.equal(none.gateway, null);
  assert.equal(none.allocate(), '10.0.0.1');
});

test('restore: rebuilds from endpoint addresses; cursor continues after the highest', () => {
  const a = SubnetAllocator.restore({ subnet: '10.0.0.0/24' }, ['10.0.0.7', '10.0.0.3', '10.0.0.200']);
  assert.equal(a.stats().used, 3);
  assert.equal(a.allocate(), '10.0.0.201');
  const b = SubnetAllocator.restore({ subnet: '10.0.0.0/24' }, ['10.0.0.7', '10.0.0.3'], { cursor: '10.0.0.4' });
  assert.equal(b.allocate(), '10.0.0.4');
  assert.throws(() => SubnetAllocator.restore({ subnet: '10.0.0.0/24' }, ['10.0.0.1']), { code: 'IN_USE' }, 'the gateway cannot belong to an endpoint');
  assert.throws(() => SubnetAllocator.restore({ subnet: '10.0.0.0/24' }, ['10.0.1.1']), { code: 'OUTSIDE' });
  const c = SubnetAllocator.restore({ subnet: 'fd00::/64' }, ['fd00::5', 'fd00::ffff:0:0:1']);
  assert.equal(c.allocate(), 'fd00::6');
  assert.ok(c.isUsed('fd00::ffff:0:0:1'));
  assert.equal(c.markUsed('fd00::ffff:0:0:1'), false, 'markUsed is idempotent');
});

test('a /8 and a /48 stay compact: 100k sequential allocations are one run', () => {
  const a = new SubnetAllocator({ subnet: '10.0.0.0/8' });
  for (let i = 0; i < 100_000; i++) a.allocate();
  assert.equal(a.stats().used, 100_000);
  assert.ok(a.stats().runs <= 2, `runs: ${a.stats().runs}`);
  assert.equal(a.allocate(), '10.1.134.162'); // 100_000 + 2 = 0x0186a2
  const b = new SubnetAllocator({ subnet: 'fd00:1::/48' });
  for (let i = 0; i < 100_000; i++) b.allocate();
  assert.equal(b.allocate(), 'fd00:1::1:86a2');
  assert.ok(b.stats().runs <= 1);
});
