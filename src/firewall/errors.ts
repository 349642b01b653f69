// One error class for the firewall domain; the daemon maps codes to HTTP.
export type FirewallErrorInfo =
  | { code: 'INVALID_PORT_SPEC'; spec: string; reason: string }
  | { code: 'PORT_ALLOCATED'; hostIp: string; hostPort: number; proto: string }
  | { code: 'PORTS_EXHAUSTED'; hostIp: string; range: string; proto: string }
  | { code: 'HOST_IP_NOT_LOCAL'; hostIp: string }
  | { code: 'INVALID_CONFIG'; field: string; value: string; expected: string }
  | { code: 'UNKNOWN_NETWORK'; networkId: string }
  | { code: 'UNKNOWN_ENDPOINT'; endpointId: string }
  | { code: 'NETWORK_EXISTS'; networkId: string }
  | { code: 'NFT_FAILED'; op: string; detail: string }
  | { code: 'SYSCTL_FAILED'; path: string; detail: string }
  | { code: 'NATIVE_UNAVAILABLE'; detail: string };

export type FirewallErrorCode = FirewallErrorInfo['code'];

function describe(i: FirewallErrorInfo): string {
  switch (i.code) {
    case 'INVALID_PORT_SPEC': return `invalid port spec "${i.spec}": ${i.reason}`;
    // Docker's wording, which users and scripts know.
    case 'PORT_ALLOCATED': return `Bind for ${hostForMessage(i.hostIp)}:${i.hostPort} failed: port is already allocated`;
    case 'PORTS_EXHAUSTED': return `no free ${i.proto} host port in ${i.range} on ${hostForMessage(i.hostIp)}`;
    case 'HOST_IP_NOT_LOCAL': return `host IP ${i.hostIp} is not an address of this host: cannot publish a port on it`;
    case 'INVALID_CONFIG': return `invalid ${i.field} "${i.value}": expected ${i.expected}`;
    case 'UNKNOWN_NETWORK': return `firewall: network ${i.networkId} not known`;
    case 'UNKNOWN_ENDPOINT': return `firewall: endpoint ${i.endpointId} not known`;
    case 'NETWORK_EXISTS': return `firewall: network ${i.networkId} already added`;
    case 'NFT_FAILED': return `nftables ${i.op} failed: ${i.detail}`;
    case 'SYSCTL_FAILED': return `sysctl ${i.path} failed: ${i.detail}`;
    case 'NATIVE_UNAVAILABLE': return `libnftables binding unavailable: ${i.detail}`;
  }
}

function hostForMessage(ip: string): string {
  if (ip === '') return '0.0.0.0';
  return ip.includes(':') ? `[${ip}]` : ip;
}

export class FirewallError extends Error {
  readonly info: FirewallErrorInfo;
  get code(): FirewallErrorCode { return this.info.code; }
  constructor(info: FirewallErrorInfo, options?: { cause?: unknown }) {
    super(describe(info), options);
    this.name = 'FirewallError';
    this.info = info;
  }
}
