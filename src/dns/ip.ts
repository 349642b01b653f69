// IP address helpers for the resolver: canonical text (so that a client's
// source address, as the socket reports it, matches what the daemon gave us),
// wire bytes for A/AAAA rdata, and reverse (PTR) names.
import { isIPv4, isIPv6 } from 'node:net';
import { DnsError } from './errors.ts';

/** Canonical text of an IP address: dotted quad, or RFC 5952 compressed IPv6. */
export function canonicalIp(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) {
    // The URL parser serialises IPv6 hosts the RFC 5952 way (lowercase, longest
    // zero run compressed), which is also how sockets report peer addresses.
    // A zone id (fe80::1%eth0) is not part of the identity of an address here.
    const bare = ip.split('%')[0] ?? ip;
    const host = new URL(`http://[${bare}]/`).hostname;
    return host.slice(1, -1);
  }
  throw new DnsError({ code: 'BAD_IP', value: ip, expected: 'an IPv4 or IPv6 address' });
}

export function ipv4Bytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new DnsError({ code: 'BAD_IP', value: ip, expected: 'an IPv4 address' });
  return Buffer.from(ip.split('.').map(Number));
}

export function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new DnsError({ code: 'BAD_IP', value: ip, expected: 'an IPv6 address' });
  const bare = ip.split('%')[0] ?? ip;
  const out = Buffer.alloc(16);
  let [head = '', tail = ''] = bare.includes('::') ? bare.split('::') : [bare, ''];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
  const v4Hextets = (s: string): string => {
    const b = ipv4Bytes(v4 ?? '0.0.0.0');
    return s.replace(v4 ?? '', `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`);
  };
  if (v4) { if (tail) tail = v4Hextets(tail); else head = v4Hextets(head); }
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  h.forEach((x, i) => out.writeUInt16BE(parseInt(x, 16), i * 2));
  t.forEach((x, i) => out.writeUInt16BE(parseInt(x, 16), 16 - (t.length - i) * 2));
  return out;
}

/** The in-addr.arpa / ip6.arpa name of an address (no trailing dot). */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
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
