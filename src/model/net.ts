// Network name and address facts shared by every layer (a leaf: it imports
// nothing of cnm's): the one parser from IP text to bytes that the netlink,
// DNS and firewall layers use, canonical text, MACs, interface names, gateway
// modes. IPAM keeps its own integer codec (ipam/addr-codec.ts): it does
// arithmetic on millions of addresses, where bytes would be slow.
import { isIP } from 'node:net';

/** moby's gateway modes (com.docker.network.bridge.gateway_mode_ipv4|6). */
export const GATEWAY_MODES = ['nat', 'nat-unprotected', 'routed', 'isolated'] as const;
export type GatewayMode = (typeof GATEWAY_MODES)[number];

/** Six colon-separated hex bytes. */
export const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

/**
 * Why a MAC cannot be an interface's address, or null. The I/G bit (the
 * lowest bit of the first byte) marks a group address; the kernel refuses
 * one, and the all-zero address, on an interface.
 */
export function macProblem(mac: string): string | null {
  if (!MAC_RE.test(mac)) return 'expected six colon-separated hex bytes';
  if (parseInt(mac.slice(0, 2), 16) & 1) return 'a multicast address (the first byte is odd); expected a unicast MAC';
  if (/^(00:){5}00$/.test(mac)) return 'the all-zero address; expected a unicast MAC';
  return null;
}

/** Linux interface names: 1-15 bytes (IFNAMSIZ 16 with the NUL). */
export const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function v4Bytes(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const b = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    b[i] = Number(p);
  }
  return b;
}

function v6Bytes(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let tail: Uint8Array | null = null;
  // A dotted quad may end the address (::ffff:10.0.0.1).
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = v4Bytes(s.slice(lastColon + 1));
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
  const b = new Uint8Array(16);
  groups.forEach((g, i) => { b[i * 2] = g >> 8; b[i * 2 + 1] = g & 0xff; });
  if (tail) b.set(tail, 12);
  return b;
}

/**
 * An IP address as bytes in network order (4 or 16), or null when `s` is
 * not one. A zone (fe80::1%eth0) is not part of the address.
 */
export function ipBytes(s: string, family?: 4 | 6): Uint8Array | null {
  if (typeof s !== 'string') return null;
  const bare = s.includes('%') ? s.slice(0, s.indexOf('%')) : s;
  if (family !== 6) {
    const v4 = v4Bytes(bare);
    if (v4) return v4;
    if (family === 4) return null;
  }
  return v6Bytes(bare);
}

/**
 * Canonical text: a dotted quad, or RFC 5952 IPv6 (lowercase, the longest
 * zero run compressed), which is what sockets report and nft prints. The
 * URL parser serialises IPv6 hosts exactly that way. Null when not an IP.
 */
export function canonicalIp(s: string): string | null {
  // A valid dotted quad is already canonical (node's check refuses leading zeros).
  if (isIP(s) === 4) return s;
  const b = ipBytes(s);
  if (!b) return null;
  if (b.length === 4) return Array.from(b).join('.');
  const bare = s.includes('%') ? s.slice(0, s.indexOf('%')) : s;
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
}

/** 4, 6, or 0 when `s` is not an IP address (no prefix, no zone). */
export function ipFamily(s: string): 0 | 4 | 6 {
  return isIP(s) as 0 | 4 | 6;
}

/** "10.0.0.2/24" -> "10.0.0.2" */
export function addrOf(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}
