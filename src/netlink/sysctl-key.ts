// Sysctl keys to /proc/sys paths. Only net.* is per network namespace;
// anything else would change the whole host, so it is refused.
import * as v from './validate.ts';
import type { Ctx } from './validate.ts';

/** 'net.ipv4.ip_forward' or 'net/ipv4/conf/eth0.100/forwarding' (slashes
 *  when a segment, like a VLAN device name, holds a dot). */
export function sysctlPath(ctx: Ctx, key: string): string {
  const segs = typeof key === 'string' ? (key.includes('/') ? key.split('/') : key.split('.')) : [];
  const ok = segs.length >= 2 && segs[0] === 'net' && segs.every((s) => /^[A-Za-z0-9_.-]+$/.test(s) && s !== '.' && s !== '..');
  if (!ok) v.fail(ctx, 'INVALID_VALUE', `sysctl key ${JSON.stringify(key)} must be a net.* key like net.ipv4.ip_forward`);
  return `/proc/sys/${segs.join('/')}`;
}
