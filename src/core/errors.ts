import { FirewallError } from '../firewall/errors.ts';
import { IPAM_HTTP_STATUS, IpamError } from '../ipam/errors.ts';
import { NetlinkError } from '../netlink/errors.ts';
import { StoreError } from '../store/errors.ts';

// One error class for the engine's domain. The payload is a union keyed by
// `code`; one table maps codes to HTTP status, following Docker's error
// classes (not found 404, invalid 400, conflict 409, forbidden 403, ...).

export type CnmErrorCode =
  | 'NOT_FOUND'
  | 'INVALID'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAVAILABLE'
  | 'NOT_IMPLEMENTED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

const STATUS: Record<CnmErrorCode, number> = {
  NOT_FOUND: 404,
  INVALID: 400,
  CONFLICT: 409,
  FORBIDDEN: 403,
  UNAVAILABLE: 503,
  NOT_IMPLEMENTED: 501,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
};

export class CnmError extends Error {
  readonly code: CnmErrorCode;
  constructor(code: CnmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CnmError';
    this.code = code;
  }
  get status(): number {
    return STATUS[this.code];
  }
}

export const notFound = (msg: string): CnmError => new CnmError('NOT_FOUND', msg);
export const invalid = (msg: string): CnmError => new CnmError('INVALID', msg);
export const conflict = (msg: string): CnmError => new CnmError('CONFLICT', msg);
export const forbidden = (msg: string): CnmError => new CnmError('FORBIDDEN', msg);

const FIREWALL_STATUS: Record<string, number> = {
  INVALID_PORT_SPEC: 400,
  HOST_IP_NOT_LOCAL: 400,
  INVALID_CONFIG: 400,
  UNKNOWN_NETWORK: 404,
  UNKNOWN_ENDPOINT: 404,
  NETWORK_EXISTS: 409,
  // Docker reports a taken host port as a system error.
  PORT_ALLOCATED: 500,
  PORTS_EXHAUSTED: 503,
};

/** The HTTP status for any error: each domain's errors carry their class. */
export function statusOf(err: unknown): number {
  if (err instanceof CnmError) return err.status;
  if (err instanceof IpamError) return IPAM_HTTP_STATUS[err.code];
  if (err instanceof FirewallError) return FIREWALL_STATUS[err.code] ?? 500;
  if (err instanceof StoreError && err.code === 'LOCKED') return 503;
  if (err instanceof NetlinkError && ['INVALID_NAME', 'INVALID_ADDRESS', 'INVALID_CIDR', 'INVALID_ARGUMENT'].includes(err.code)) return 400;
  return 500;
}
