// CIDR prefixes: parse/format, containment, overlap, first/last/nth address.
// A Prefix keeps the address as written (like Go's netip.Prefix) so errors can
// show it; parsePrefix is strict by default and only returns networks.
import { ADDRESS_BITS, formatAddress, tryParseAddress } from './addr.ts';
import type { Addr, Family } from './addr.ts';
import { IpamError } from './errors.ts';

export interface Prefix {
  readonly family: Family;
  /** The address as written; equal to the network address when canonical. */
  readonly addr: bigint;
  readonly bits: number;
}

export interface ParsePrefixOptions {
  /** Reject host bits (10.0.0.1/24) with NON_CANONICAL. Default true. */
  strict?: boolean;
  /** Names the field in errors: subnet (default), ip-range, pool base, ... */
  what?: string;
}

const EXPECTED_PREFIX = 'ADDRESS/LENGTH such as 10.0.0.0/24 or fd00::/64 (invalid CIDR block notation)';

function hostMask(family: Family, bits: number): bigint {
  return (1n << BigInt(ADDRESS_BITS[family] - bits)) - 1n;
}

export function parsePrefix(s: string, opts: ParsePrefixOptions = {}): Prefix {
  const what = opts.what ?? 'subnet';
  const slash = s.indexOf('/');
  const a = slash > 0 ? tryParseAddress(s.slice(0, slash)) : null;
  const lenText = s.slice(slash + 1);
  if (a === null || !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) {
    throw new IpamError({ code: 'INVALID', what, value: s, expected: EXPECTED_PREFIX });
  }
  const bits = Number(lenText);
  const max = ADDRESS_BITS[a.family];
  if (bits > max) {
    throw new IpamError({ code: 'INVALID', what, value: s, expected: `a prefix length from 0 to ${max} for IPv${a.family}` });
  }
  const p: Prefix = { family: a.family, addr: a.value, bits };
  if (opts.strict !== false && (a.value & hostMask(a.family, bits)) !== 0n) {
    throw new IpamError({ code: 'NON_CANONICAL', what, value: formatPrefix(p), canonical: formatPrefix(masked(p)) });
  }
  return p;
}

/** A prefix from an address (a host route: /32 or /128) or CIDR text, host bits cleared. */
export function parseAddressOrPrefix(s: string, what = 'address or subnet'): Prefix {
  if (s.indexOf('/') < 0) {
    const a = tryParseAddress(s);
    if (a === null) throw new IpamError({ code: 'INVALID', what, value: s, expected: 'an address or ' + EXPECTED_PREFIX });
    return { family: a.family, addr: a.value, bits: ADDRESS_BITS[a.family] };
  }
  return masked(parsePrefix(s, { strict: false, what }));
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress({ family: p.family, value: p.addr })}/${p.bits}`;
}

/** The prefix with host bits cleared. */
export function masked(p: Prefix): Prefix {
  const addr = p.addr & ~hostMask(p.family, p.bits);
  return addr === p.addr ? p : { family: p.family, addr, bits: p.bits };
}

export function isCanonical(p: Prefix): boolean {
  return (p.addr & hostMask(p.family, p.bits)) === 0n;
}

/** Number of addresses in the prefix. */
export function prefixSize(p: Prefix): bigint {
  return 1n << BigInt(ADDRESS_BITS[p.family] - p.bits);
}

/** Network address (all host bits 0). */
export function firstAddress(p: Prefix): Addr {
  return { family: p.family, value: p.addr & ~hostMask(p.family, p.bits) };
}

/** Last address (all host bits 1): the broadcast address for IPv4. */
export function lastAddress(p: Prefix): Addr {
  return { family: p.family, value: p.addr | hostMask(p.family, p.bits) };
}

/** The n-th address of the prefix, 0 = network; negative n counts from the end (-1 = last). */
export function nthAddress(p: Prefix, n: bigint | number): Addr {
  const i = BigInt(n);
  const size = prefixSize(p);
  const off = i < 0n ? size + i : i;
  if (off < 0n || off >= size) {
    throw new IpamError({ code: 'INVALID', what: 'address index', value: String(n), expected: `an index from ${-size} to ${size - 1n} for ${formatPrefix(masked(p))}` });
  }
  return { family: p.family, value: firstAddress(p).value + off };
}

function assertSameFamily(p: Prefix, family: Family, value: string): void {
  if (p.family !== family) {
    throw new IpamError({ code: 'FAMILY', what: 'address', value, expected: p.family, subnet: formatPrefix(p) });
  }
}

/** Whether the prefix contains an address or a whole other prefix; mixing families throws FAMILY. */
export function prefixContains(p: Prefix, x: Addr | Prefix): boolean {
  let v: bigint;
  if ('bits' in x) {
    assertSameFamily(p, x.family, formatPrefix(x));
    if (x.bits < p.bits) return false;
    v = x.addr;
  } else {
    assertSameFamily(p, x.family, formatAddress(x));
    v = x.value;
  }
  const m = ~hostMask(p.family, p.bits);
  return (v & m) === (p.addr & m);
}

/** Whether two prefixes share any address; mixing families throws FAMILY. */
export function prefixOverlaps(p: Prefix, q: Prefix): boolean {
  assertSameFamily(p, q.family, formatPrefix(q));
  const bits = Math.min(p.bits, q.bits);
  const m = ~hostMask(p.family, bits);
  return (p.addr & m) === (q.addr & m);
}
