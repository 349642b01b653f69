// The cni driver's options: the network's (-o) and the endpoint's
// (--driver-opt), checked before anything is made.
import { invalid } from '../../model/errors.ts';
import type { CapabilityArgs } from './types.ts';

export const CNI_OPT = {
  /** Network: the conflist file the network runs. */
  conflist: 'cni.conflist',
  /** Endpoint: extra CNI_ARGS, `K=V;K2=V2`. */
  args: 'cni.args',
  /** Endpoint: the `bandwidth` capability (bits/s and bits), for a bandwidth plugin in the chain. */
  ingressRate: 'cni.bandwidth.ingress_rate',
  ingressBurst: 'cni.bandwidth.ingress_burst',
  egressRate: 'cni.bandwidth.egress_rate',
  egressBurst: 'cni.bandwidth.egress_burst',
} as const;

/**
 * What the core passes from the attachment in the endpoint's driverState
 * for drivers whose join gives the addresses (capabilities.addressesFromJoin):
 * the user's --ip, --ip6 and --mac-address, for the `ips` and `mac` capabilities.
 */
export const REQUESTED = { ipv4: 'requestedIpv4', ipv6: 'requestedIpv6', mac: 'requestedMac' } as const;

const BANDWIDTH: Array<[string, keyof NonNullable<CapabilityArgs['bandwidth']>]> = [
  [CNI_OPT.ingressRate, 'ingressRate'], [CNI_OPT.ingressBurst, 'ingressBurst'],
  [CNI_OPT.egressRate, 'egressRate'], [CNI_OPT.egressBurst, 'egressBurst'],
];

export function checkNetworkOptions(opts: Record<string, string>): string {
  for (const k of Object.keys(opts)) {
    if (k !== CNI_OPT.conflist && !k.startsWith('com.docker.network.')) throw invalid(`unknown option "${k}" for the cni driver: expected ${CNI_OPT.conflist}`);
  }
  const path = opts[CNI_OPT.conflist];
  if (!path) throw invalid(`the cni driver needs -o ${CNI_OPT.conflist}=PATH (a CNI conflist file)`);
  if (!path.startsWith('/')) throw invalid(`option ${CNI_OPT.conflist} "${path}": expected an absolute path`);
  return path;
}

/** The endpoint's CNI_ARGS and bandwidth from its driver options. */
export function endpointOptions(driverOpts: Record<string, string>): { args: string; bandwidth?: CapabilityArgs['bandwidth'] } {
  const known = new Set<string>([CNI_OPT.args, ...BANDWIDTH.map(([k]) => k)]);
  for (const k of Object.keys(driverOpts)) {
    if (!known.has(k) && !k.startsWith('com.docker.network.endpoint.')) throw invalid(`unknown endpoint driver option "${k}" for the cni driver: expected ${[...known].join(', ')}`);
  }
  const extra = driverOpts[CNI_OPT.args] ?? '';
  for (const kv of extra.split(';').filter(Boolean)) {
    if (!/^[^=;]+=[^;]*$/.test(kv)) throw invalid(`endpoint driver option ${CNI_OPT.args} "${extra}": expected K=V pairs separated by ';'`);
  }
  // IgnoreUnknown: plugins that parse CNI_ARGS strictly skip keys they do not know (libcni does the same for its own).
  const args = ['IgnoreUnknown=1', ...extra.split(';').filter(Boolean)].join(';');
  let bandwidth: CapabilityArgs['bandwidth'];
  for (const [k, field] of BANDWIDTH) {
    const v = driverOpts[k];
    if (v === undefined) continue;
    if (!/^[1-9]\d*$/.test(v)) throw invalid(`endpoint driver option ${k} "${v}": expected a positive whole number (bits per second, or bits for a burst)`);
    bandwidth = { ...bandwidth, [field]: Number(v) };
  }
  return { args, ...(bandwidth ? { bandwidth } : {}) };
}
