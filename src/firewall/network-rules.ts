// Per-network chains and the verdict-map elements that reach them.
import { checkCidr, checkIfname, checkIp } from './addr.ts';
import * as B from './base-tables.ts';
import { FirewallError } from './errors.ts';
import type { ElementDef, Fragment } from './model.ts';
import type { GatewayMode, NetworkFw, SubnetFw } from './types.ts';

const MODES: readonly GatewayMode[] = ['nat', 'nat-unprotected', 'routed', 'isolated'];

/** Checks everything nft would choke on, before any kernel call. Returns a canonical copy. */
export function validateNetwork(n: NetworkFw): NetworkFw {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(n.id)) {
    throw new FirewallError({ code: 'INVALID_CONFIG', field: 'network id', value: n.id, expected: '1-128 characters [A-Za-z0-9_.-]' });
  }
  checkIfname(n.bridge, 'bridge');
  for (const [f, m] of [['gatewayModeV4', n.gatewayModeV4], ['gatewayModeV6', n.gatewayModeV6]] as const) {
    if (!MODES.includes(m)) throw new FirewallError({ code: 'INVALID_CONFIG', field: f, value: String(m), expected: MODES.join(' | ') });
    // moby: "isolated" only makes sense (and is only accepted) with --internal.
    if (m === 'isolated' && !n.internal) {
      throw new FirewallError({ code: 'INVALID_CONFIG', field: f, value: m, expected: 'an internal network for gateway mode "isolated"' });
    }
  }
  const sub = (s: SubnetFw | undefined, fam: 4 | 6): SubnetFw | undefined => {
    if (!s) return undefined;
    const out: SubnetFw = { subnet: checkCidr(s.subnet, fam, `IPv${fam} subnet`) };
    if (s.gateway !== undefined) out.gateway = checkIp(s.gateway, fam, `IPv${fam} gateway`);
    return out;
  };
  const copy: NetworkFw = { ...n };
  const v4 = sub(n.v4, 4);
  const v6 = sub(n.v6, 6);
  if (v4) copy.v4 = v4; else delete copy.v4;
  if (v6) copy.v6 = v6; else delete copy.v6;
  if (n.hostIpv4 !== undefined) copy.hostIpv4 = checkIp(n.hostIpv4, 4, 'host_ipv4');
  if (n.dnsPort !== undefined && (!Number.isInteger(n.dnsPort) || n.dnsPort < 1 || n.dnsPort > 65535)) {
    throw new FirewallError({ code: 'INVALID_CONFIG', field: 'DNS port', value: String(n.dnsPort), expected: 'a port 1-65535' });
  }
  return copy;
}

interface Fam { f: 4 | 6; s: SubnetFw; mode: GatewayMode; nfproto: 'ipv4' | 'ipv6' }

function families(n: NetworkFw): Fam[] {
  const out: Fam[] = [];
  if (n.v4) out.push({ f: 4, s: n.v4, mode: n.gatewayModeV4, nfproto: 'ipv4' });
  if (n.v6) out.push({ f: 6, s: n.v6, mode: n.gatewayModeV6, nfproto: 'ipv6' });
  return out;
}

const isNat = (m: GatewayMode): boolean => m === 'nat' || m === 'nat-unprotected';

const MODE_SET: Record<GatewayMode, string> = {
  nat: B.NAT_PROTECTED, 'nat-unprotected': B.UNPROTECTED, routed: B.ROUTED, isolated: B.ISOLATED,
};

/**
 * A network is nothing but set elements keyed by its bridge: the fixed
 * chains of base-tables.ts look them up. See that file for what each set
 * means.
 */
export function networkFragment(n: NetworkFw): Fragment {
  const br = { ifname: n.bridge };
  const elements: ElementDef[] = [];
  const el = (set: string, key: ElementDef['key'], value?: ElementDef['value']): void => {
    elements.push(value ? { family: 'inet', set, key, value } : { family: 'inet', set, key });
  };
  el(B.BRIDGES, [br]);
  el(B.SAME_BRIDGE, [br, br]);
  if (n.icc) el(B.ICC, [br, br]);
  const fams = families(n);
  if (n.dnsPort !== undefined) {
    for (const x of fams) if (x.s.gateway) el(x.f === 4 ? B.DNS4 : B.DNS6, [br, x.s.gateway, String(n.dnsPort)]);
  }
  if (n.internal) {
    el(B.INTERNAL, [br]);
    for (const x of fams) {
      if (x.mode === 'isolated' || !x.s.gateway) el(B.ISOLATED, [br, x.nfproto]);
      else el(x.f === 4 ? B.GATEWAY4 : B.GATEWAY6, [br, x.s.gateway]);
    }
    return { chains: [], elements };
  }
  for (const x of fams) {
    el(MODE_SET[x.mode], [br, x.nfproto]);
    if (!isNat(x.mode) || !n.masquerade) continue;
    if (x.f === 4 && n.hostIpv4) el(B.SNAT4, [br], [n.hostIpv4]);
    else el(B.MASQ, [br, x.nfproto]);
  }
  return { chains: [], elements };
}
