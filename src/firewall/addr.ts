// Address helpers: validation and the canonical text forms nft prints, so
// that desired elements compare equal to what the kernel lists.
import { isIPv4, isIPv6 } from 'node:net';
import { FirewallError } from './errors.ts';
import { MAC_RE, canonicalIp as canonical, ipBytes } from '../model/net.ts';

/** RFC 5952 text of an IPv6 address (what nft prints). */
export function canonicalIpv6(a: string): string {
  return canonical(a) ?? a;
}

export function canonicalIp(a: string): string {
  return isIPv6(a) ? canonicalIpv6(a) : a;
}

export function ipv6Bytes(a: string): number[] {
  return Array.from(ipBytes(a, 6) ?? new Uint8Array(16));
}

/** The 128-bit integer nft wants for a raw `@th,64,128` match. */
export function ipv6Hex(a: string): string {
  return '0x' + ipv6Bytes(a).map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The link-local address the kernel derives from a MAC (addr_gen_mode 0,
 * modified EUI-64, RFC 4291 appendix A): flip the U/L bit, insert ff:fe.
 */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const e = [(b[0] ?? 0) ^ 0x02, b[1] ?? 0, b[2] ?? 0, 0xff, 0xfe, b[3] ?? 0, b[4] ?? 0, b[5] ?? 0];
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push((((e[i] ?? 0) << 8) | (e[i + 1] ?? 0)).toString(16));
  return canonicalIpv6(`fe80::${groups.join(':')}`);
}

export function checkMac(mac: string, field: string): string {
  if (!MAC_RE.test(mac)) {
    throw new FirewallError({ code: 'INVALID_CONFIG', field, value: mac, expected: 'a MAC address like 02:42:ac:11:00:02' });
  }
  return mac.toLowerCase();
}

export function checkIp(ip: string, family: 4 | 6, field: string): string {
  const ok = family === 4 ? isIPv4(ip) : isIPv6(ip);
  if (!ok) throw new FirewallError({ code: 'INVALID_CONFIG', field, value: ip, expected: `an IPv${family} address` });
  return canonicalIp(ip);
}

export function checkCidr(cidr: string, family: 4 | 6, field: string): string {
  const [ip = '', len = '', ...rest] = cidr.split('/');
  const max = family === 4 ? 32 : 128;
  const n = Number(len);
  const ok = rest.length === 0 && /^\d+$/.test(len) && n <= max && (family === 4 ? isIPv4(ip) : isIPv6(ip));
  if (!ok) throw new FirewallError({ code: 'INVALID_CONFIG', field, value: cidr, expected: `an IPv${family} CIDR like ${family === 4 ? '172.18.0.0/16' : 'fd00:1::/64'}` });
  return `${canonicalIp(ip)}/${n}`;
}

/**
 * Interface names end up quoted inside nft scripts; the kernel allows at most
 * 15 bytes (IFNAMSIZ 16 with the NUL).
 */
const IFNAMSIZ = 16;
export function checkIfname(name: string, field: string): string {
  if (!/^[A-Za-z0-9_.@+-]+$/.test(name) || name.length >= IFNAMSIZ) {
    throw new FirewallError({ code: 'INVALID_CONFIG', field, value: name, expected: 'an interface name of 1-15 characters [A-Za-z0-9_.@+-]' });
  }
  return name;
}
