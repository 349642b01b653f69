// Desired state -> nftables objects (pure; unit-tested without a kernel).
import { baseTables } from './base-tables.ts';
import { endpointFragment } from './endpoint-rules.ts';
import { elementText, mergeFragments } from './model.ts';
import type { BaseTables, ElementDef, Fragment } from './model.ts';
import { networkFragment } from './network-rules.ts';
import { addScript, fullScript, removeScript } from './render.ts';
import { vxlanFragment } from './vxlan-guard.ts';
import type { EndpointFw, FirewallState, NetworkFw, VxlanGuard } from './types.ts';

export function stateFragment(state: FirewallState): Fragment {
  const nets = new Map(state.networks.map((n) => [n.id, n]));
  const frags: Fragment[] = state.networks.map(networkFragment);
  for (const e of state.endpoints) {
    const n = nets.get(e.networkId);
    if (n) frags.push(endpointFragment(n, e));
  }
  frags.push(vxlanFragment(state.vxlan));
  return mergeFragments(frags);
}

export function buildFullScript(state: FirewallState, base: BaseTables = baseTables(), comment = ''): string {
  return fullScript(base, stateFragment(state), comment);
}

export function buildAddNetwork(n: NetworkFw): string {
  return addScript(networkFragment(n));
}

/** Removing a network also removes what its endpoints still hold. */
export function buildRemoveNetwork(n: NetworkFw, endpoints: EndpointFw[]): string {
  return removeScript(mergeFragments([...endpoints.map((e) => endpointFragment(n, e)), networkFragment(n)]));
}

/** Replaces an endpoint in one transaction (old may be undefined). */
export function buildSetEndpoint(n: NetworkFw, e: EndpointFw, old?: { n: NetworkFw; e: EndpointFw }): string {
  const del = old ? removeScript(endpointFragment(old.n, old.e)) : '';
  return del + addScript(endpointFragment(n, e));
}

export function buildRemoveEndpoint(n: NetworkFw, e: EndpointFw): string {
  return removeScript(endpointFragment(n, e));
}

/** Swaps one VXLAN guard for another in one transaction: elements no longer wanted go, new ones come. */
export function buildSetVxlanGuard(prev: VxlanGuard | undefined, next: VxlanGuard | undefined): string {
  const key = (e: ElementDef): string => `${e.set} ${elementText(e)}`;
  const before = vxlanFragment(prev).elements;
  const after = vxlanFragment(next).elements;
  const keep = new Set(after.map(key));
  const had = new Set(before.map(key));
  return removeScript({ chains: [], elements: before.filter((e) => !keep.has(key(e))) })
    + addScript({ chains: [], elements: after.filter((e) => !had.has(key(e))) });
}
