// Checks run before any kernel call; each failure names the bad value and
// what was expected, so nothing is half-made because of a typo.
import { NetlinkError } from './errors.ts';
import { IFNAMSIZ } from './constants.ts';
import { parseCidr, parseIp, parseMac } from './address.ts';
import type { Cidr, Ip } from './address.ts';
import type { LinkRef } from './types.ts';

export interface Ctx { op: string; object: string }

export function fail(ctx: Ctx, code: NetlinkError['code'], detail: string): never {
  throw new NetlinkError({ code, op: ctx.op, object: ctx.object, detail });
}

/** The kernel's dev_valid_name(): 1-15 bytes, not "." or "..", no '/', ':' or whitespace. */
export function ifName(ctx: Ctx, name: unknown, what = 'interface name'): string {
  const ok = typeof name === 'string' && name.length > 0 && Buffer.byteLength(name) < IFNAMSIZ &&
    name !== '.' && name !== '..' && !/[/:\s]/.test(name);
  if (!ok) fail(ctx, 'INVALID_NAME', `${what} ${JSON.stringify(name)} must be 1-15 bytes without '/', ':' or whitespace`);
  return name as string;
}

/** A link by name or by index (an index skips a name lookup). */
export function linkRef(ctx: Ctx, ref: unknown, what = 'interface'): LinkRef {
  if (typeof ref === 'number') return int(ctx, ref, `${what} index`, 1, 0x7fffffff);
  return ifName(ctx, ref, `${what} name`);
}

/** How errors show a link reference: "eth0" or #5. */
export const refText = (ref: unknown): string => (typeof ref === 'number' ? `#${ref}` : JSON.stringify(ref));

export function ip(ctx: Ctx, value: unknown, what = 'address'): Ip {
  const r = parseIp(value as string);
  if (!r) fail(ctx, 'INVALID_ADDRESS', `${what} ${JSON.stringify(value)} is not an IPv4 or IPv6 address`);
  return r;
}

export function cidr(ctx: Ctx, value: unknown, what = 'prefix'): Cidr {
  const r = typeof value === 'string' && value.includes('/') ? parseCidr(value) : null;
  if (!r) fail(ctx, 'INVALID_CIDR', `${what} ${JSON.stringify(value)} is not address/length (e.g. 10.0.0.2/24, fd00::2/64)`);
  return r;
}

export function mac(ctx: Ctx, value: unknown, what = 'MAC address'): Buffer {
  const r = parseMac(value as string);
  if (!r) fail(ctx, 'INVALID_MAC', `${what} ${JSON.stringify(value)} is not six hex pairs (aa:bb:cc:dd:ee:ff)`);
  return r;
}

export function int(ctx: Ctx, value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(ctx, 'INVALID_VALUE', `${what} ${JSON.stringify(value)} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function oneOf<T extends string>(ctx: Ctx, value: unknown, what: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) fail(ctx, 'INVALID_VALUE', `${what} ${JSON.stringify(value)} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** All given addresses must share one family; returns it (or undefined if none). */
export function sameFamily(ctx: Ctx, items: Array<[string, Ip | undefined]>): 4 | 6 | undefined {
  let fam: 4 | 6 | undefined;
  let first = '';
  for (const [label, v] of items) {
    if (!v) continue;
    if (fam === undefined) { fam = v.family; first = label; continue; }
    if (v.family !== fam) fail(ctx, 'FAMILY_MISMATCH', `${label} is IPv${v.family} but ${first} is IPv${fam}`);
  }
  return fam;
}
