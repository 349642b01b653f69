// IP address helpers for the resolver: canonical text (so that a client's
// source address, as the socket reports it, matches what the daemon gave us),
// wire bytes for A/AAAA rdata, and reverse (PTR) names.
import { canonicalIp as canonical, ipBytes, ipFamily } from '../model/net.ts';
import { DnsError } from './errors.ts';

/** Canonical text of an IP address: dotted quad, or RFC 5952 compressed IPv6. */
export function canonicalIp(ip: string): string {
  const c = canonical(ip);
  if (c === null) throw new DnsError({ code: 'BAD_IP', value: ip, expected: 'an IPv4 or IPv6 address' });
  return c;
}

export function ipv4Bytes(ip: string): Buffer {
  const b = ipBytes(ip, 4);
  if (!b) throw new DnsError({ code: 'BAD_IP', value: ip, expected: 'an IPv4 address' });
  return Buffer.from(b);
}

export function ipv6Bytes(ip: string): Buffer {
  const b = ipBytes(ip, 6);
  if (!b) throw new DnsError({ code: 'BAD_IP', value: ip, expected: 'an IPv6 address' });
  return Buffer.from(b);
}

/** The in-addr.arpa / ip6.arpa name of an address (no trailing dot). */
export function reverseName(ip: string): string {
  if (ipFamily(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const b = ipv6Bytes(ip);
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) {
    const byte = b[i] ?? 0;
    nibbles.push((byte & 0xf).toString(16), (byte >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}

/**
 * The address a reverse name stands for, canonical, or null when the name is
 * not a complete in-addr.arpa / ip6.arpa name (partial names are zone cuts,
 * not addresses). `name` is lowercase without a trailing dot.
 */
export function ipFromReverseName(name: string): string | null {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return null;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const parts = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return null;
    const hex = parts.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return canonicalIp(groups.join(':'));
  }
  return null;
}
