// Choosing a subnet for a network created without one: the lowest prefix of
// the first pool that still has one that overlaps no allocated subnet, no host
// route and no nameserver (Docker: libnetwork ipam's predefined pools and
// netutils.InferReservedNetworks). Stateless: the caller passes what is taken.
import { ADDRESS_BITS } from './addr.ts';
import type { Family } from './addr.ts';
import { IpamError } from './errors.ts';
import { defaultPools, validatePool } from './pools.ts';
import type { PoolSpec } from './pools.ts';
import { formatPrefix, parseAddressOrPrefix, parsePrefix, prefixOverlaps } from './prefix.ts';
import type { Prefix } from './prefix.ts';

export interface ChooseOptions {
  family: Family;
  /** Subnets of existing networks (CIDRs, either family). */
  taken: readonly string[];
  /** Host routes (CIDRs) and nameservers (addresses), either family. */
  avoid?: readonly string[];
}

interface Pool {
  base: Prefix;
  size: number;
}

/** Cache of parsed taken/avoid strings: the same few hundred come back on every call. */
const PARSE_CACHE_MAX = 10_000;

export class PoolSet {
  private readonly pools: Pool[];
  private readonly cache = new Map<string, Prefix>();

  /** `pools` replaces the defaults, like dockerd's default-address-pools; omitted: defaultPools(). */
  constructor(pools?: readonly PoolSpec[]) {
    this.pools = (pools ?? defaultPools()).map((p) => {
      validatePool(p);
      return { base: parsePrefix(p.base, { what: 'pool base' }), size: p.size };
    });
  }

  /** The pools, in the order they are tried. */
  list(): PoolSpec[] {
    return this.pools.map((p) => ({ base: formatPrefix(p.base), size: p.size }));
  }

  /** The lowest free prefix, as CIDR text; EXHAUSTED when every pool is used up. */
  choose(opts: ChooseOptions): string {
    const width = BigInt(ADDRESS_BITS[opts.family]);
    const blocked: [bigint, bigint][] = [];
    const addBlocked = (s: string, isRoute: boolean): void => {
      const p = this.parse(s);
      if (p.family !== opts.family) return;
      // A default route (0.0.0.0/0, ::/0) overlaps everything; Docker skips it too.
      if (isRoute && p.bits === 0) return;
      blocked.push([p.addr, p.addr + (1n << (width - BigInt(p.bits))) - 1n]);
    };
    for (const s of opts.taken) addBlocked(s, false);
    for (const s of opts.avoid ?? []) addBlocked(s, true);
    const merged = mergeIntervals(blocked);

    for (const pool of this.pools) {
      if (pool.base.family !== opts.family) continue;
      const step = 1n << (width - BigInt(pool.size));
      const poolEnd = pool.base.addr + (1n << (width - BigInt(pool.base.bits))) - 1n;
      let cand = pool.base.addr;
      let i = firstEndingAtOrAfter(merged, cand);
      while (cand <= poolEnd) {
        while (i < merged.length && merged[i]![1] < cand) i++;
        const iv = merged[i];
        if (iv === undefined || iv[0] > cand + step - 1n) {
          return formatPrefix({ family: opts.family, addr: cand, bits: pool.size });
        }
        // Jump past the blocking interval to the next aligned prefix.
        cand = ((iv[1] + step) / step) * step;
      }
    }
    throw new IpamError({ code: 'EXHAUSTED', family: opts.family });
  }

  private parse(s: string): Prefix {
    let p = this.cache.get(s);
    if (p === undefined) {
      p = parseAddressOrPrefix(s);
      if (this.cache.size >= PARSE_CACHE_MAX) this.cache.clear();
      this.cache.set(s, p);
    }
    return p;
  }
}

/** Throws OVERLAP if `subnet` overlaps any subnet in `taken` (other families are ignored). */
export function checkOverlap(subnet: string, taken: readonly string[]): void {
  const p = parseAddressOrPrefix(subnet, 'subnet');
  for (const t of taken) {
    const q = parseAddressOrPrefix(t, 'subnet');
    if (q.family === p.family && prefixOverlaps(p, q)) {
      throw new IpamError({ code: 'OVERLAP', subnet: formatPrefix(p), other: formatPrefix(q) });
    }
  }
}

function mergeIntervals(iv: [bigint, bigint][]): [bigint, bigint][] {
  iv.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [s, e] of iv) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1] + 1n) {
      if (e > last[1]) last[1] = e;
    } else {
      out.push([s, e]);
    }
  }
  return out;
}

function firstEndingAtOrAfter(iv: [bigint, bigint][], x: bigint): number {
  let lo = 0;
  let hi = iv.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (iv[mid]![1] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
