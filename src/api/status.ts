// HTTP statuses for every domain's errors, following Docker's error classes.
import { FirewallError } from '../firewall/errors.ts';
import { IPAM_HTTP_STATUS, IpamError } from '../ipam/errors.ts';
import { NetlinkError } from '../netlink/errors.ts';
import { StoreError } from '../store/errors.ts';
import { CnmError } from '../model/errors.ts';

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
  // The cluster store (etcd) is unreachable: a retry later may work.
  if (err instanceof StoreError && err.code === 'UNAVAILABLE') return 503;
  if (err instanceof NetlinkError && ['INVALID_NAME', 'INVALID_ADDRESS', 'INVALID_CIDR', 'INVALID_ARGUMENT'].includes(err.code)) return 400;
  return 500;
}
