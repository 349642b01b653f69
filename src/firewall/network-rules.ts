// Per-network chains and the verdict-map elements that reach them.
import { checkCidr, checkIfname, checkIp } from './addr.ts';
import * as B from './base-tables.ts';
import { FirewallError } from './errors.ts';
import type { ChainDef, ElementDef, Fragment } from './model.ts';
import type { GatewayMode, NetworkFw, SubnetFw } from './types.ts';

const MODES: readonly GatewayMode[] = ['nat', 'nat-unprotected', 'routed', 'isolated'];

/** Chain names embed the network id; nft identifiers must start with a letter. */
export function chainName(networkId: string, what: string): string {
  return `n-${networkId}-${what}`;
}

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
  return copy;
}

interface Fam { f: 4 | 6; s: SubnetFw; mode: GatewayMode; ip: 'ip' | 'ip6'; nfproto: 'ipv4' | 'ipv6' }

function families(n: NetworkFw): Fam[] {
  const out: Fam[] = [];
  if (n.v4) out.push({ f: 4, s: n.v4, mode: n.gatewayModeV4, ip: 'ip', nfproto: 'ipv4' });
  if (n.v6) out.push({ f: 6, s: n.v6, mode: n.gatewayModeV6, ip: 'ip6', nfproto: 'ipv6' });
  return out;
}

const isNat = (m: GatewayMode): boolean => m === 'nat' || m === 'nat-unprotected';

export function networkFragment(n: NetworkFw): Fragment {
  const br = `"${n.bridge}"`;
  const chains: ChainDef[] = [];
  const elements: ElementDef[] = [];
  const chain = (what: string, rules: string[], map: string, key: ElementDef['key']): void => {
    const name = chainName(n.id, what);
    chains.push({ family: 'inet', name, rules });
    elements.push({ family: 'inet', set: map, key, value: [`jump ${name}`] });
  };
  const fams = families(n);
  const icc = n.icc ? 'accept' : 'drop';

  // Traffic forwarded into the bridge.
  const fwdIn = ['ct state established,related accept'];
  if (n.internal) {
    fwdIn.push(`iifname != ${br} drop comment "internal network"`, `${icc} comment "ICC"`);
  } else {
    // Same bridge in and out: members talking (seen here when routed, or
    // bridged with br_netfilter), hairpin to a published port included —
    // Docker's ICC rule also comes before its published-port accept.
    fwdIn.push(`iifname ${br} ${icc} comment "ICC"`);
    for (const x of fams) {
      if (x.mode === 'nat') fwdIn.push(`meta nfproto ${x.nfproto} ct status dnat accept comment "published ports"`);
      else if (x.mode === 'nat-unprotected') fwdIn.push(`meta nfproto ${x.nfproto} accept comment "unprotected"`);
      else if (x.mode === 'routed') {
        fwdIn.push(x.f === 4 ? 'ip protocol icmp accept' : 'meta nfproto ipv6 meta l4proto ipv6-icmp accept');
        fwdIn.push(`${x.ip} daddr . meta l4proto . th dport @${x.f === 4 ? B.ROUTED4 : B.ROUTED6} accept comment "published ports"`);
      }
    }
    // Other networks, other hosts: only what was accepted above.
  }
  fwdIn.push('drop');
  chain('fwd-in', fwdIn, B.FWD_IN, [{ ifname: n.bridge }]);

  // Traffic forwarded out of the bridge to anywhere else.
  chain('fwd-out', [n.internal ? 'drop comment "internal network"' : 'accept'], B.FWD_OUT, [{ ifname: n.bridge }]);

  if (n.internal) {
    // Docker leaves the host reachable through the gateway address of an
    // internal network; cnm keeps that (and link-local ND for IPv6) but
    // drops unicast to the host's other addresses. "isolated" mode: the
    // bridge has no address and the host is not reachable at all.
    const input: string[] = [];
    for (const x of fams) {
      if (x.mode === 'isolated' || !x.s.gateway) input.push(`meta nfproto ${x.nfproto} drop comment "isolated"`);
      else if (x.f === 4) input.push(`fib daddr type local ip daddr != ${x.s.gateway} drop`);
      else input.push(`fib daddr type local ip6 daddr != { ${x.s.gateway}, fe80::/10 } drop`);
    }
    chain('input', input, B.INPUT_JUMPS, [{ ifname: n.bridge }]);
    // Otherwise a member could leave through another network's published port.
    elements.push({ family: 'inet', set: B.NO_DNAT, key: [{ ifname: n.bridge }] });
  } else {
    const snatOut: string[] = [];
    if (n.masquerade) {
      for (const x of fams) {
        if (!isNat(x.mode)) continue;
        const to = x.f === 4 && n.hostIpv4 ? `snat ip to ${n.hostIpv4} comment "host_ipv4"` : 'masquerade';
        snatOut.push(`oifname != ${br} ${x.ip} saddr ${x.s.subnet} ${to}`);
      }
    }
    chain('snat-out', snatOut, B.SNAT_OUT, [{ ifname: n.bridge }]);
    chain('snat-in', [
      // Hairpin: a member reaching a published port of its own network via a
      // host address; without masquerade the reply would go container to
      // container and miss the reverse NAT, and a container reaching its own
      // port would receive its own address as source (martian). Matched on
      // the source subnet, not iifname: with br_netfilter the DNATed frame
      // is bridged straight back and postrouting sees no input interface.
      ...fams.filter((x) => isNat(x.mode)).map((x) => `ct status dnat ${x.ip} saddr ${x.s.subnet} masquerade comment "hairpin"`),
      // From the host, 127.0.0.1 included (route_localnet lets it leave lo).
      'ct status dnat fib saddr type local masquerade comment "from host"',
    ], B.SNAT_IN, [{ ifname: n.bridge }]);

    // nat mode needs no raw "direct access" drop as Docker has: fwd-in
    // accepts only conntrack-established and DNATed flows, so a packet routed
    // straight to a container address is dropped there, while replies to
    // unmasqueraded (masquerade off) connections still get in.
  }
  return { chains, elements };
}
