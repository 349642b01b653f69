// IP addresses, prefixes and MAC addresses as the kernel wants them: bytes
// in network order. Pure functions; null means "not valid", the callers turn
// that into an error naming the value.
import type { Family } from './types.ts';
import { MAC_RE, ipBytes } from '../model/net.ts';

export interface Ip { family: Family; bytes: Buffer }
export interface Cidr extends Ip { prefix: number }

const parseV4 = (s: string): Buffer | null => {
  const b = s.includes('%') ? null : ipBytes(s, 4);
  return b ? Buffer.from(b) : null;
};

const parseV6 = (s: string): Buffer | null => {
  const b = s.includes('%') ? null : ipBytes(s, 6);
  return b ? Buffer.from(b) : null;
};

export function parseIp(s: string): Ip | null {
  if (typeof s !== 'string') return null;
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = s.includes(':') ? parseV6(s) : null;
  return v6 ? { family: 6, bytes: v6 } : null;
}

export function formatIp(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return b.toString('hex');
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(i * 2));
  // RFC 5952: compress the longest run (2+ groups) of zeros, the first if tied.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best === -1) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** "10.0.0.2/24" or "fd00::1/64"; a bare address counts as a host prefix. */
export function parseCidr(s: string): Cidr | null {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  const ip = parseIp(slash === -1 ? s : s.slice(0, slash));
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  if (slash === -1) return { ...ip, prefix: max };
  const p = s.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > max) return null;
  return { ...ip, prefix: Number(p) };
}

/** True when no bit beyond the prefix is set (a network address). */
export function isNetwork(c: Cidr): boolean {
  for (let bit = c.prefix; bit < c.bytes.length * 8; bit++) {
    if ((c.bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) return false;
  }
  return true;
}

export const formatCidr = (bytes: Buffer, prefix: number): string => `${formatIp(bytes)}/${prefix}`;

/** The IPv4 broadcast address of a prefix (all host bits set). */
export function broadcast4(c: Cidr): Buffer {
  const v = c.bytes.readUInt32BE(0);
  const hostMask = c.prefix === 0 ? 0xffffffff : (2 ** (32 - c.prefix) - 1);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((v | hostMask) >>> 0);
  return b;
}

export function parseMac(s: string): Buffer | null {
  if (typeof s !== 'string' || !MAC_RE.test(s)) return null;
  return Buffer.from(s.replaceAll(':', ''), 'hex');
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** aa:bb:cc:dd:ee:ff (any length; a link dump formats thousands). */
export function formatMac(b: Buffer | undefined): string {
  if (!b || b.length === 0) return '';
  let out = HEX2[b[0]!]!;
  for (let i = 1; i < b.length; i++) out += `:${HEX2[b[i]!]!}`;
  return out;
}
