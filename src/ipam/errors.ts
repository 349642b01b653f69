// One error class for the IPAM domain. The payload is a union keyed by `code`;
// the message is derived from it, and where Docker has a message users already
// know (libnetwork/ipamapi, api/types/network/ipam.go) we reproduce it.
export type Family = 4 | 6;

export type IpamErrorDetail =
  /** Not parseable: `what` names the field (address, subnet, ip-range, ...). */
  | { code: 'INVALID'; what: string; value: string; expected: string; reason?: string }
  /** A prefix with host bits set where a network is required (10.0.0.1/24). */
  | { code: 'NON_CANONICAL'; what: string; value: string; canonical: string }
  /** IPv4 where IPv6 was expected or the reverse. */
  | { code: 'FAMILY'; what: string; value: string; expected: Family; subnet?: string }
  /** A user subnet that overlaps a subnet already allocated. */
  | { code: 'OVERLAP'; subnet: string; other: string }
  /** No pool of this family has a free prefix left. */
  | { code: 'EXHAUSTED'; family: Family }
  /** An address (or range) outside the subnet it must live in. */
  | { code: 'OUTSIDE'; address: string; subnet: string; what?: string }
  /** A static request for an address that is already allocated or reserved. */
  | { code: 'IN_USE'; address: string }
  /** No free address left for dynamic allocation. */
  | { code: 'FULL'; subnet: string; range: string }
  /** release() of the network, broadcast, gateway or an auxiliary address. */
  | { code: 'RESERVED'; address: string; role: string }
  /** validateNetworkIpam found several problems; each is a full IpamError. */
  | { code: 'INVALID_CONFIG'; problems: IpamError[] };

export type IpamErrorCode = IpamErrorDetail['code'];

const familyName = (f: Family): string => (f === 4 ? 'IPv4' : 'IPv6');

function messageOf(d: IpamErrorDetail): string {
  switch (d.code) {
    case 'INVALID':
      // With a reason, Docker's wording ("invalid ip-range X: CIDR block is
      // bigger than its parent subnet Y"); `expected` stays in the payload.
      return d.reason !== undefined
        ? `invalid ${d.what} ${d.value}: ${d.reason}`
        : `invalid ${d.what} ${JSON.stringify(d.value)}: expected ${d.expected}`;
    case 'NON_CANONICAL':
      // Docker: "invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24"
      return `invalid ${d.what} ${d.value}: it should be ${d.canonical}`;
    case 'FAMILY':
      // Docker (ValidateIPAM): "invalid gateway X: parent subnet is an IPv4 block"
      return d.subnet !== undefined
        ? `invalid ${d.what} ${d.value}: parent subnet is an ${familyName(d.expected)} block`
        : `invalid ${d.what} ${d.value}: expected an ${familyName(d.expected)} value`;
    case 'OVERLAP':
      // Docker's exact text (ipamapi.ErrPoolOverlap); the subnets go in the payload.
      return 'Pool overlaps with other one on this address space';
    case 'EXHAUSTED':
      // Docker's exact text (ipamapi.ErrNoMoreSubnets); the family goes in the payload.
      return 'all predefined address pools have been fully subnetted';
    case 'OUTSIDE':
      return d.what !== undefined
        ? `invalid ${d.what} ${d.address}: parent subnet ${d.subnet} doesn't contain ${d.what === 'ip-range' ? 'ip-range' : 'this address'}`
        : `no configured subnet contains IP address ${d.address}`;
    case 'IN_USE':
      // Docker's exact text (ipamapi.ErrIPAlreadyAllocated).
      return 'Address already in use';
    case 'FULL':
      // Docker's exact text (ipamapi.ErrNoAvailableIPs).
      return 'no available addresses on this pool';
    case 'RESERVED':
      return `address ${d.address} is the ${d.role} address of its subnet and cannot be released`;
    case 'INVALID_CONFIG':
      // Docker joins several ValidateIPAM errors this way.
      return 'invalid network config:\n' + (d.problems.length === 1
        ? (d.problems[0]?.message ?? '')
        : d.problems.map((p) => '* ' + p.message.replaceAll('\n', '\n\t')).join('\n'));
  }
}

export class IpamError extends Error {
  readonly detail: IpamErrorDetail;
  readonly code: IpamErrorCode;
  constructor(detail: IpamErrorDetail, options?: { cause?: unknown }) {
    super(messageOf(detail), options);
    this.name = 'IpamError';
    this.detail = detail;
    this.code = detail.code;
  }
}

/** HTTP status per code, as the Engine API reports the matching Docker errors. */
export const IPAM_HTTP_STATUS: Readonly<Record<IpamErrorCode, number>> = {
  INVALID: 400,
  NON_CANONICAL: 400,
  FAMILY: 400,
  OVERLAP: 403, // Docker: forbidden
  EXHAUSTED: 400, // Docker: invalid parameter
  OUTSIDE: 400,
  IN_USE: 403, // Docker: forbidden
  FULL: 503, // Docker: unavailable
  RESERVED: 403,
  INVALID_CONFIG: 400,
};
