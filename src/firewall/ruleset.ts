// Desired state -> nftables objects (pure; unit-tested without a kernel).
import { baseTables } from './base-tables.ts';
import { endpointFragment } from './endpoint-rules.ts';
import { mergeFragments } from './model.ts';
import type { BaseTables, Fragment } from './model.ts';
import { networkFragment } from './network-rules.ts';
import { addScript, fullScript, removeScript } from './render.ts';
import type { EndpointFw, FirewallState, NetworkFw } from './types.ts';

export function stateFragment(state: FirewallState): Fragment {
  const nets = new Map(state.networks.map((n) => [n.id, n]));
  const frags: Fragment[] = state.networks.map(networkFragment);
  for (const e of state.endpoints) {
    const n = nets.get(e.networkId);
    if (n) frags.push(endpointFragment(n, e));
  }
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
