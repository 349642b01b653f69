// The one error class of the DNS domain. `code` says what went wrong; the
// payload names the bad value so that the message can say what was expected.
export type DnsErrorInfo =
  | { code: 'BAD_IP'; value: string; expected: string }
  | { code: 'BAD_NAME'; value: string; reason: string }
  | { code: 'DUPLICATE_ENDPOINT'; endpointId: string }
  | { code: 'BAD_RESOLV_CONF'; path: string; line: string }
  | { code: 'BIND'; address: string; port: number; transport: 'udp' | 'tcp' }
  | { code: 'SERVER_CLOSED' };

function describe(info: DnsErrorInfo): string {
  switch (info.code) {
    case 'BAD_IP': return `invalid IP address "${info.value}": expected ${info.expected}`;
    case 'BAD_NAME': return `invalid DNS name "${info.value}": ${info.reason}`;
    case 'DUPLICATE_ENDPOINT': return `endpoint ${info.endpointId} is already in the DNS table: remove it first`;
    case 'BAD_RESOLV_CONF': return `${info.path}: cannot parse line "${info.line}"`;
    case 'BIND': return `cannot listen for DNS on ${info.transport} ${info.address}:${info.port}`;
    case 'SERVER_CLOSED': return 'the DNS server is closed';
  }
}

export class DnsError extends Error {
  readonly info: DnsErrorInfo;
  get code(): DnsErrorInfo['code'] { return this.info.code; }
  constructor(info: DnsErrorInfo, options?: { cause?: unknown }) {
    super(describe(info), options);
    this.name = 'DnsError';
    this.info = info;
  }
}
