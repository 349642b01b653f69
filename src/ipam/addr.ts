// Public address type: a family and a bigint value. bigint keeps the CIDR math
// exact for both families; the allocator's hot path uses the number codecs in
// addr-codec.ts instead.
import { formatV4, formatV6Groups, parseV4, parseV6Groups } from './addr-codec.ts';
import { IpamError } from './errors.ts';
import type { Family } from './errors.ts';

export type { Family };

export interface Addr {
  readonly family: Family;
  /** The address as an unsigned integer: 32 bits for IPv4, 128 for IPv6. */
  readonly value: bigint;
}

export const ADDRESS_BITS: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };

const EXPECTED_ADDRESS = 'an IPv4 address like 10.0.0.1 or an IPv6 address like fd00::1';

/** Parses an address without throwing; null if s is not an address. */
export function tryParseAddress(s: string): Addr | null {
  if (s.indexOf(':') < 0) {
    const v4 = parseV4(s);
    return v4 < 0 ? null : { family: 4, value: BigInt(v4) };
  }
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  if (!parseV6Groups(s, g)) return null;
  let v = 0n;
  for (const x of g) v = (v << 16n) | BigInt(x);
  return { family: 6, value: v };
}

/** Parses an IPv4 or IPv6 address; `what` names the field in the error. */
export function parseAddress(s: string, what = 'address'): Addr {
  const a = tryParseAddress(s);
  if (a === null) throw new IpamError({ code: 'INVALID', what, value: s, expected: EXPECTED_ADDRESS });
  return a;
}

/** Parses an address that must be of `family`. */
export function parseAddressOf(s: string, family: Family, what = 'address', subnet?: string): Addr {
  const a = parseAddress(s, what);
  if (a.family !== family) {
    throw new IpamError({ code: 'FAMILY', what, value: s, expected: family, ...(subnet !== undefined ? { subnet } : {}) });
  }
  return a;
}

/** Canonical text: dotted quad, or RFC 5952 for IPv6. */
export function formatAddress(a: Addr): string {
  if (a.family === 4) return formatV4(Number(a.value));
  const g: number[] = new Array<number>(8);
  let v = a.value;
  for (let k = 7; k >= 0; k--) {
    g[k] = Number(v & 0xffffn);
    v >>= 16n;
  }
  return formatV6Groups(g);
}

/** Rewrites address text in canonical form (FD00:0::1 -> fd00::1). */
export function canonicalAddress(s: string, what = 'address'): string {
  return formatAddress(parseAddress(s, what));
}

export function addressEquals(a: Addr, b: Addr): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Orders IPv4 before IPv6, then by value. */
export function compareAddress(a: Addr, b: Addr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
