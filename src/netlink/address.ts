// IP addresses, prefixes and MAC addresses as the kernel wants them: bytes
// in network order. Pure functions; null means "not valid", the callers turn
// that into an error naming the value.
import type { Family } from './types.ts';
import { MAC_RE } from '../model/net.ts';

export interface Ip { family: Family; bytes: Buffer }
export interface Cidr extends Ip { prefix: number }

function parseV4(s: string): Buffer | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const b = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    b[i] = Number(p);
  }
  return b;
}

function parseV6(s: string): Buffer | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let tail: Buffer | null = null;
  // A dotted quad may end the address (::ffff:10.0.0.1).
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = parseV4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const group = (g: string): number | null => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : null);
  const side = (h: string | undefined): number[] | null => {
    if (!h) return [];
    const gs = h.split(':').map(group);
    return gs.some((g) => g === null) ? null : (gs as number[]);
  };
  const head = side(halves[0]);
  const rest = side(halves[1]);
  if (!head || !rest) return null;
  let groups: number[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    groups = head;
  }
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  if (tail) tail.copy(b, 12);
  return b;
}

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

export const formatMac = (b: Buffer | undefined): string => (b ? [...b].map((x) => x.toString(16).padStart(2, '0')).join(':') : '');
