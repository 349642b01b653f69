// Network name and address facts shared by every layer (a leaf: it imports
// nothing of cnm's). Binary encodings stay with their users: rtnetlink's
// wire form in netlink/address.ts, IPAM's integer form in ipam/addr-codec.ts.
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

/** 4, 6, or 0 when `s` is not an IP address (no prefix, no zone). */
export function ipFamily(s: string): 0 | 4 | 6 {
  return isIP(s) as 0 | 4 | 6;
}

/** "10.0.0.2/24" -> "10.0.0.2" */
export function addrOf(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}
