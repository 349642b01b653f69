// Address pools that subnets for new networks are carved from: Docker's
// defaults, cnm's fallback after them, and the --default-address-pool flag.
import { createHash } from 'node:crypto';
import { ADDRESS_BITS, formatAddress } from './addr.ts';
import { IpamError } from './errors.ts';
import { parsePrefix } from './prefix.ts';

/** A pool: `base` split into prefixes of length `size` (daemon.json's default-address-pools). */
export interface PoolSpec {
  base: string;
  size: number;
}

/**
 * Docker's local-scope defaults, in Docker's order (libnetwork ipamutils):
 * 172.17/16 ... 172.31/16 one /16 each, then 192.168.0.0/16 as /20s. 31 networks.
 */
export function dockerDefaultPools(): PoolSpec[] {
  return [
    { base: '172.17.0.0/16', size: 16 },
    { base: '172.18.0.0/16', size: 16 },
    { base: '172.19.0.0/16', size: 16 },
    { base: '172.20.0.0/14', size: 16 },
    { base: '172.24.0.0/14', size: 16 },
    { base: '172.28.0.0/14', size: 16 },
    { base: '192.168.0.0/16', size: 20 },
  ];
}

/**
 * What cnm uses once Docker's 31 are taken: 10.112.0.0/12 as /24s (4096 more
 * networks). 10/8 is private space (RFC 1918) but crowded, so the block is
 * chosen to miss the ranges other software creates by default:
 *  - 10.0-10.15 (home and office LANs, OpenVPN's 10.8.0.0/24, WireGuard guides'
 *    10.0.0.0/24, 10.6/10.7/10.13, cloud VPC defaults such as Azure's 10.0/16),
 *  - 10.32/12 (Weave), 10.42-10.43 (k3s), 10.88-10.89+ (Podman),
 *  - 10.96/12 = 10.96-10.111 (Kubernetes service CIDR), 10.244/16 (flannel, kind),
 *  - 10.128/9 (Google Cloud auto-mode VPCs), 10.147/10.144/10.241+ (ZeroTier).
 * Not 100.64.0.0/10: carrier-grade NAT and Tailscale live there. Not
 * 198.18.0.0/15: benchmarking space that proxy tools use for fake IPs.
 * Host routes and nameservers are still avoided at choice time, so a host that
 * does use 10.112/12 only loses those prefixes.
 */
export function fallbackPools(): PoolSpec[] {
  return [{ base: '10.112.0.0/12', size: 24 }];
}

/**
 * The IPv4 pools a daemon uses when no --default-address-pool is given:
 * Docker's first (so the first choices match Docker), then the fallback.
 * With a host id, the host's ULA pool is appended for IPv6 (as Docker does
 * when no IPv6 pool is configured).
 */
export function defaultPools(hostId?: string): PoolSpec[] {
  const pools = [...dockerDefaultPools(), ...fallbackPools()];
  if (hostId !== undefined) pools.push(ulaPool(hostId));
  return pools;
}

/**
 * The host's IPv6 ULA pool: fd00::/8 plus a 40-bit global id, the low 40 bits
 * of the first 8 bytes of sha256(hostId) (Docker's deriveULABaseNetwork, after
 * RFC 4193 3.2.2), as a /48 split into /64s.
 */
export function ulaPool(hostId: string): PoolSpec {
  const sha = createHash('sha256').update(hostId).digest();
  const gid = sha.readBigUInt64BE(0) & ((1n << 40n) - 1n);
  const base = (0xfdn << 120n) | (gid << 80n);
  return { base: `${formatAddress({ family: 6, value: base })}/48`, size: 64 };
}

/** The n-th /64 (n from 0 to 65535) of the host's ULA /48: fdXX:XXXX:XXXX:n::/64. */
export function ulaPrefix(hostId: string, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
    throw new IpamError({ code: 'INVALID', what: 'ULA subnet index', value: String(n), expected: 'an integer from 0 to 65535 (a /48 holds 65536 /64s)' });
  }
  const base = parsePrefix(ulaPool(hostId).base).addr;
  return `${formatAddress({ family: 6, value: base | (BigInt(n) << 64n) })}/64`;
}

const FLAG = 'default-address-pool';

/**
 * Parses dockerd's flag value `base=10.10.0.0/16,size=24` (fields in any
 * order, keys case-insensitive) and validates it.
 */
export function parsePoolFlag(value: string): PoolSpec {
  let base: string | undefined;
  let size: string | undefined;
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) {
      throw new IpamError({ code: 'INVALID', what: FLAG, value, expected: `key=value fields, got ${JSON.stringify(field)} (like base=10.10.0.0/16,size=24)` });
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const v = field.slice(eq + 1).trim();
    if (key === 'base') base = v;
    else if (key === 'size') size = v;
    else throw new IpamError({ code: 'INVALID', what: FLAG, value, expected: `only the keys base and size, got ${JSON.stringify(key)}` });
  }
  if (base === undefined || size === undefined) {
    throw new IpamError({ code: 'INVALID', what: FLAG, value, expected: `both base and size (like base=10.10.0.0/16,size=24)` });
  }
  if (!/^[0-9]{1,3}$/.test(size)) {
    throw new IpamError({ code: 'INVALID', what: FLAG, value, expected: `size to be a prefix length (a number), got ${JSON.stringify(size)}` });
  }
  const spec = { base, size: Number(size) };
  validatePool(spec);
  return spec;
}

/** Checks a pool: a canonical base, and a size from the base's length up to the family's width. */
export function validatePool(p: PoolSpec): void {
  const base = parsePrefix(p.base, { what: 'pool base' });
  const max = ADDRESS_BITS[base.family];
  if (!Number.isInteger(p.size) || p.size < base.bits || p.size > max) {
    throw new IpamError({
      code: 'INVALID', what: 'pool size', value: String(p.size),
      expected: `a prefix length from ${base.bits} (the base ${p.base}) to ${max}`,
    });
  }
}
