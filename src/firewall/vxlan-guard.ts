// VXLAN carries no authentication: anyone who can send UDP to the VXLAN port
// of a host can inject frames into its overlay networks. With a guard (a
// daemon in a cluster), cnm's input chain drops UDP to that port unless it
// comes from one of the cluster's VTEPs (PROTOCOLS §6.4 item 13). Without
// one (no cluster) the sets are empty and nothing is dropped.
import { checkIp } from './addr.ts';
import * as B from './base-tables.ts';
import { FirewallError } from './errors.ts';
import type { ElementDef, Fragment } from './model.ts';
import type { VxlanGuard } from './types.ts';

/** Checks and canonicalises a guard (sorted, deduplicated addresses). */
export function validateVxlanGuard(g: VxlanGuard): VxlanGuard {
  if (!Number.isInteger(g.port) || g.port < 1 || g.port > 65535) {
    throw new FirewallError({ code: 'INVALID_CONFIG', field: 'VXLAN port', value: String(g.port), expected: 'a port 1-65535' });
  }
  if (!Array.isArray(g.vteps)) throw new FirewallError({ code: 'INVALID_CONFIG', field: 'VTEPs', value: String(g.vteps), expected: 'a list of IP addresses' });
  const vteps = [...new Set(g.vteps.map((ip) => checkIp(ip, String(ip).includes(':') ? 6 : 4, 'VTEP')))].sort();
  return { port: g.port, vteps };
}

/** The set elements a guard stands for. */
export function vxlanFragment(g: VxlanGuard | undefined): Fragment {
  if (!g) return { chains: [], elements: [] };
  const elements: ElementDef[] = [{ family: 'inet', set: B.VXLAN_PORTS, key: [String(g.port)] }];
  for (const ip of g.vteps) elements.push({ family: 'inet', set: ip.includes(':') ? B.VTEPS6 : B.VTEPS4, key: [ip] });
  return { chains: [], elements };
}
