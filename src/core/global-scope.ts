// What the controller's network and endpoint operations do differently on a
// global-scope (overlay) network: the cluster must be there and answering
// (fail fast, naming the cluster store, instead of hanging), a network gets
// a VXLAN id, an endpoint records its node, and a claim lost to another
// host's race for an auto-chosen subnet, VNI or address is retried with the
// next one (the claims themselves are in State's create-if-absent txn).
import type { Ctx } from './context.ts';
import { claimKey } from './state.ts';
import { CnmError, forbidden } from '../model/errors.ts';
import type { EndpointRecord, NetworkRecord } from '../model/records.ts';

/** Docker's classic overlay VNI range starts at 256 (libnetwork vxlanIDStart). */
export const VNI_START = 256;
const VNI_END = (1 << 24) - 1;
/** Retries of a commit that lost an auto-chosen claim to another host. */
export const CLAIM_RETRIES = 8;

export const NO_CLUSTER = 'overlay networks need a cluster store: start the daemon with --cluster-store etcd://HOST:2379 and --cluster-advertise IP|IFACE';

/**
 * Throws unless this daemon is in a cluster whose store answers: when the
 * last call found etcd unreachable, one quick probe decides (it may be back,
 * or another member may have taken over), so a change fails within seconds
 * instead of hanging, and succeeds as soon as etcd answers again.
 */
export async function requireCluster(ctx: Ctx, what: string): Promise<NonNullable<Ctx['cluster']>> {
  const c = ctx.cluster;
  if (!c) throw forbidden(NO_CLUSTER);
  if (!c.reachable() && !await c.probe()) {
    throw new CnmError('UNAVAILABLE', `cannot ${what}: cluster store ${c.store} is unreachable; overlay networks cannot change until it is back (existing containers keep their connectivity)`);
  }
  return c;
}

/** The lowest VNI no network of the cluster holds, from 256 up. */
export function freeVni(ctx: Ctx, skip: ReadonlySet<number> = new Set()): string {
  const held = new Set([...ctx.state.globalClaims(claimKey.vni('')).keys()].map((k) => Number(k.slice(claimKey.vni('').length))));
  for (const n of ctx.state.networks.values()) if (n.driverState.vni) held.add(Number(n.driverState.vni));
  for (let v = VNI_START; v <= VNI_END; v++) if (!held.has(v) && !skip.has(v)) return String(v);
  throw new CnmError('UNAVAILABLE', 'no free VXLAN id left in the cluster');
}

/** Whether a CONFLICT from State is about a claim the caller may retry with another value. */
export function lostClaim(e: unknown, what: 'subnet' | 'VXLAN id' | 'address'): boolean {
  return e instanceof CnmError && e.code === 'CONFLICT' && e.message.includes(`${what} `) && e.message.includes('already taken');
}

/** Docker's message for a name another host took first. */
export function nameTaken(e: unknown, net: NetworkRecord): CnmError | null {
  if (e instanceof CnmError && e.code === 'CONFLICT' && e.message.includes(`network name "${net.name}" is already taken`)) {
    return new CnmError('CONFLICT', `network with name ${net.name} already exists`);
  }
  return null;
}

/** An endpoint another host of the cluster owns (its sandbox is there, not here). */
export function isRemote(ctx: Ctx, ep: EndpointRecord): boolean {
  return !!ep.node && ep.node.id !== ctx.cluster?.nodeId;
}
