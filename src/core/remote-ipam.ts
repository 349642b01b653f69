// Addresses of networks whose IPAM driver is a plugin (--ipam-driver NAME):
// the same steps as the built-in IPAM's, asked of the plugin. The built-in
// IPAM is synchronous and in memory; a plugin's answers come over a socket.
import type { Ctx } from './context.ts';
import type { NetworkRecord } from '../model/records.ts';

/** IPAM drivers cnm has built in ('dhcp' leases at join); any other name is a plugin. */
const BUILT_IN = new Set(['default', 'dhcp']);

export const isRemoteIpam = (name: string): boolean => !!name && !BUILT_IN.has(name);

/** An endpoint's address on `net` in CIDR form (the requested one, or any free). */
export async function allocateAddress(ctx: Ctx, net: NetworkRecord, family: 4 | 6, requested: string | undefined, mac: string): Promise<string> {
  if (!isRemoteIpam(net.ipamDriver)) return ctx.ipam.allocate(net, family, requested);
  return ctx.drivers.ipam(net.ipamDriver).requestAddress(net, family, requested || undefined, mac);
}

/** Gives an endpoint's address back; a plugin's failure is logged (removal goes on). */
export async function releaseAddress(ctx: Ctx, net: NetworkRecord, cidr: string | undefined): Promise<void> {
  if (!cidr) return;
  if (!isRemoteIpam(net.ipamDriver)) return ctx.ipam.release(net, cidr);
  try {
    await ctx.drivers.ipam(net.ipamDriver).releaseAddress(net, cidr);
  } catch (e) {
    ctx.log.error(`release ${cidr} on ${net.name}: ${(e as Error).message}`);
  }
}

/**
 * At daemon start: the pools, gateways and endpoint addresses of plugins
 * that ask for it (RequiresRequestReplay) are requested again; new pool ids
 * are recorded.
 */
export async function replayRemoteIpam(ctx: Ctx): Promise<Error[]> {
  const errors: Error[] = [];
  for (const net of [...ctx.state.networks.values()]) {
    if (!isRemoteIpam(net.ipamDriver)) continue;
    try {
      const state = await ctx.drivers.ipam(net.ipamDriver).replay(net, ctx.state.endpointsOn(net.id));
      if (state) await ctx.state.commit([{ kind: 'network', put: { ...net, ipamState: state } }]);
    } catch (e) {
      errors.push(new Error(`IPAM replay of ${net.name}: ${(e as Error).message}`, { cause: e }));
    }
  }
  return errors;
}
