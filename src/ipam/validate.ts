// Validation of one IPAM config entry of a network create request, with the
// checks and wording of Docker's ValidateIPAM (api/types/network/ipam.go) plus
// the overlap check against existing networks. Every problem is collected
// before throwing, as Docker does.
import { formatAddress, tryParseAddress } from './addr.ts';
import { IpamError } from './errors.ts';
import { checkOverlap } from './pool-set.ts';
import { formatPrefix, masked, parsePrefix, prefixContains, prefixOverlaps } from './prefix.ts';
import type { Prefix } from './prefix.ts';
import { SubnetAllocator } from './subnet-allocator.ts';

/**
 * Ranges no network can use: loopback addresses never leave a host (the
 * kernel refuses ::1 on any device but lo, and 127/8 is routed to lo whatever
 * device holds it), multicast ones are groups, not hosts (the kernel refuses
 * them as interface addresses). RFC 1122 §3.2.1.3, RFC 4291 §2.5.3 and §2.7.
 */
const UNUSABLE: readonly { prefix: Prefix; why: string }[] = [
  { prefix: parsePrefix('127.0.0.0/8'), why: 'loopback range 127.0.0.0/8, which never leaves the host' },
  { prefix: parsePrefix('::1/128'), why: 'loopback address ::1, which never leaves the host' },
  { prefix: parsePrefix('224.0.0.0/4'), why: 'multicast range 224.0.0.0/4, whose addresses are groups, not hosts' },
  { prefix: parsePrefix('ff00::/8'), why: 'multicast range ff00::/8, whose addresses are groups, not hosts' },
];

function checkUsable(subnet: Prefix, text: string): void {
  for (const u of UNUSABLE) {
    if (u.prefix.family === subnet.family && prefixOverlaps(subnet, u.prefix)) {
      throw new IpamError({ code: 'INVALID', what: 'subnet', value: text, expected: 'a unicast subnet', reason: `it overlaps the ${u.why}; expected a unicast subnet` });
    }
  }
}

export interface IpamSubnetConfig {
  subnet: string;
  ipRange?: string;
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

export interface NormalizedSubnetConfig {
  family: 4 | 6;
  /** Canonical text. */
  subnet: string;
  ipRange?: string;
  /** Given or chosen (first usable); '' when the subnet has no room for one (/32, /128). */
  gateway: string;
  auxAddresses?: Record<string, string>;
}

/**
 * Validates a subnet config and fills in the gateway. `taken` holds the
 * subnets of other networks: an overlap is an OVERLAP error. One problem is
 * thrown as is; several as INVALID_CONFIG carrying each of them.
 */
export function validateNetworkIpam(cfg: IpamSubnetConfig, taken: readonly string[] = []): NormalizedSubnetConfig {
  const problems: IpamError[] = [];
  const collect = (f: () => void): void => {
    try {
      f();
    } catch (e) {
      if (e instanceof IpamError) problems.push(e);
      else throw e;
    }
  };

  let subnet: Prefix;
  try {
    subnet = parsePrefix(cfg.subnet, { strict: false });
  } catch (e) {
    throw e instanceof IpamError && e.code === 'INVALID'
      ? new IpamError({ code: 'INVALID', what: 'subnet', value: cfg.subnet, expected: e.detail.code === 'INVALID' ? e.detail.expected : '', reason: 'invalid CIDR block notation' })
      : e;
  }
  collect(() => parsePrefix(cfg.subnet));
  subnet = masked(subnet);
  const subnetText = formatPrefix(subnet);
  collect(() => checkUsable(subnet, subnetText));

  let ipRange: string | undefined;
  if (cfg.ipRange !== undefined && cfg.ipRange !== '') {
    const text = cfg.ipRange;
    collect(() => {
      let r: Prefix;
      try {
        r = parsePrefix(text, { strict: false, what: 'ip-range' });
      } catch {
        throw new IpamError({ code: 'INVALID', what: 'ip-range', value: text, expected: 'a CIDR inside the subnet', reason: 'invalid CIDR block notation' });
      }
      if (r.family !== subnet.family) {
        throw new IpamError({ code: 'FAMILY', what: 'ip-range', value: text, expected: subnet.family, subnet: subnetText });
      }
      if (r.bits < subnet.bits) {
        throw new IpamError({ code: 'INVALID', what: 'ip-range', value: text, expected: `a prefix length of at least ${subnet.bits}`, reason: `CIDR block is bigger than its parent subnet ${subnetText}` });
      }
      parsePrefix(text, { what: 'ip-range' }); // NON_CANONICAL
      if (!prefixContains(subnet, r)) {
        throw new IpamError({ code: 'OUTSIDE', what: 'ip-range', address: text, subnet: subnetText });
      }
      ipRange = formatPrefix(r);
    });
  }

  const checkAddress = (text: string, what: string): string | undefined => {
    const a = tryParseAddress(text);
    if (a === null) {
      problems.push(new IpamError({ code: 'INVALID', what, value: text, expected: 'an address inside the subnet', reason: 'invalid address' }));
      return undefined;
    }
    if (a.family !== subnet.family) {
      problems.push(new IpamError({ code: 'FAMILY', what, value: text, expected: subnet.family, subnet: subnetText }));
      return undefined;
    }
    if (!prefixContains(subnet, a)) {
      problems.push(new IpamError({ code: 'OUTSIDE', what, address: text, subnet: subnetText }));
      return undefined;
    }
    return formatAddress(a);
  };

  const gateway = cfg.gateway !== undefined && cfg.gateway !== '' ? checkAddress(cfg.gateway, 'gateway') : undefined;
  let aux: Record<string, string> | undefined;
  for (const [name, text] of Object.entries(cfg.auxAddresses ?? {})) {
    const a = checkAddress(text, `auxiliary address ${name}`);
    if (a !== undefined) (aux ??= {})[name] = a;
  }
  collect(() => checkOverlap(subnetText, taken));

  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) throw new IpamError({ code: 'INVALID_CONFIG', problems });

  // Building the allocator catches the remaining conflicts (a gateway on the
  // network or broadcast address, two reserved addresses the same) and picks
  // the gateway when none was given. O(1): nothing is scanned.
  const alloc = new SubnetAllocator({
    subnet: subnetText,
    ...(ipRange !== undefined ? { ipRange } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
    ...(aux !== undefined ? { auxAddresses: aux } : {}),
  });
  return {
    family: subnet.family,
    subnet: subnetText,
    ...(ipRange !== undefined ? { ipRange } : {}),
    gateway: alloc.gateway ?? '',
    ...(aux !== undefined ? { auxAddresses: aux } : {}),
  };
}
