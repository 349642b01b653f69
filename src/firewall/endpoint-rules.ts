// Per-endpoint set elements: anti-spoofing and ICC on the bridge port,
// published ports in the DNAT maps. An endpoint never adds a rule.
import { isIPv6 } from 'node:net';
import { checkIfname, checkIp, checkMac, eui64LinkLocal, ipv6Hex } from './addr.ts';
import * as B from './base-tables.ts';
import { FirewallError } from './errors.ts';
import type { ElementDef, Fragment } from './model.ts';
import type { EndpointFw, NetworkFw, PortBinding } from './types.ts';

const PROTOS = ['tcp', 'udp', 'sctp'];

export function validateEndpoint(e: EndpointFw): EndpointFw {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(e.id)) {
    throw new FirewallError({ code: 'INVALID_CONFIG', field: 'endpoint id', value: e.id, expected: '1-128 characters [A-Za-z0-9_.-]' });
  }
  const out: EndpointFw = { ...e, hostIface: checkIfname(e.hostIface, 'host interface'), mac: checkMac(e.mac, 'MAC address') };
  if (e.ipv4 !== undefined) out.ipv4 = checkIp(e.ipv4, 4, 'endpoint IPv4');
  if (e.ipv6 !== undefined) out.ipv6 = checkIp(e.ipv6, 6, 'endpoint IPv6');
  out.ports = e.ports.map((p) => {
    const bad = (field: string, value: string, expected: string): FirewallError => new FirewallError({ code: 'INVALID_CONFIG', field, value, expected });
    if (!PROTOS.includes(p.proto)) throw bad('protocol', p.proto, 'tcp, udp or sctp');
    for (const [f, v] of [['host port', p.hostPort], ['container port', p.containerPort]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 65535) throw bad(f, String(v), 'a port 1-65535');
    }
    let hostIp = p.hostIp;
    if (hostIp !== '') hostIp = checkIp(hostIp, isIPv6(hostIp) ? 6 : 4, 'host IP');
    // IPv6 has no route_localnet: the kernel never lets ::1 traffic leave lo,
    // so a DNAT from [::1] to a container cannot work.
    if (hostIp === '::1') throw bad('host IP', hostIp, 'an address other than ::1 (the kernel cannot forward IPv6 loopback traffic)');
    return { ...p, hostIp };
  });
  return out;
}

function families(hostIp: string): (4 | 6)[] {
  if (hostIp === '') return [4, 6];
  return isIPv6(hostIp) ? [6] : [4];
}

const isWildcard = (ip: string): boolean => ip === '' || ip === '0.0.0.0' || ip === '::';

export function portElements(n: NetworkFw, e: EndpointFw): ElementDef[] {
  if (n.internal) return []; // Docker ignores -p on internal networks.
  const out: ElementDef[] = [];
  const seen = new Set<string>();
  const add = (el: ElementDef): void => {
    const k = `${el.set} ${el.key.join('.')}`;
    if (!seen.has(k)) { seen.add(k); out.push(el); }
  };
  for (const p of e.ports) {
    for (const f of families(p.hostIp)) {
      const ctr = f === 4 ? e.ipv4 : e.ipv6;
      const mode = f === 4 ? n.gatewayModeV4 : n.gatewayModeV6;
      if (!ctr || !(f === 4 ? n.v4 : n.v6)) continue;
      if (mode === 'routed') {
        add({ family: 'inet', set: f === 4 ? B.ROUTED4 : B.ROUTED6, key: [ctr, p.proto, String(p.containerPort)] });
      } else if (mode === 'nat' || mode === 'nat-unprotected') {
        const value = [ctr, String(p.containerPort)];
        if (isWildcard(p.hostIp)) {
          add({ family: 'inet', set: f === 4 ? B.DNAT4_ANY : B.DNAT6_ANY, key: [p.proto, String(p.hostPort)], value });
        } else {
          add({ family: 'inet', set: f === 4 ? B.DNAT4_ADDR : B.DNAT6_ADDR, key: [p.hostIp, p.proto, String(p.hostPort)], value });
          if (f === 4 && p.hostIp.startsWith('127.')) add({ family: 'inet', set: B.LOOPBACK4, key: [p.hostIp, p.proto, String(p.hostPort)] });
        }
      }
    }
  }
  return out;
}

export function endpointFragment(n: NetworkFw, e: EndpointFw): Fragment {
  const port = { ifname: e.hostIface };
  const elements: ElementDef[] = [];
  if (n.antiSpoof) {
    elements.push({ family: 'bridge', set: B.GUARDED, key: [port] });
    elements.push({ family: 'bridge', set: B.PORT_MAC, key: [port, e.mac] });
    if (e.ipv4) elements.push({ family: 'bridge', set: B.PORT_IP4, key: [port, e.mac, e.ipv4] });
    if (e.ipv6) {
      elements.push({ family: 'bridge', set: B.PORT_IP6, key: [port, e.mac, e.ipv6] });
      elements.push({ family: 'bridge', set: B.PORT_ND6, key: [port, e.mac, ipv6Hex(e.ipv6)] });
    }
    // The link-local address is the one the kernel derives from the MAC
    // (addr_gen_mode eui64, which the bridge driver sets on the sandbox's
    // interface): it is the only fe80:: address the port may send from or
    // advertise, so a sandbox cannot pose as another one on the link.
    const ll = eui64LinkLocal(e.mac);
    if (e.ipv6 !== ll) {
      elements.push({ family: 'bridge', set: B.PORT_IP6, key: [port, e.mac, ll] });
      elements.push({ family: 'bridge', set: B.PORT_ND6, key: [port, e.mac, ipv6Hex(ll)] });
    }
  }
  if (!n.icc) elements.push({ family: 'bridge', set: B.NO_ICC, key: [port] });
  if (!n.internal) {
    if (e.ipv4) elements.push({ family: 'inet', set: B.MEMBERS4, key: [e.ipv4] });
    if (e.ipv6) elements.push({ family: 'inet', set: B.MEMBERS6, key: [e.ipv6] });
  }
  elements.push(...portElements(n, e));
  return { chains: [], elements };
}

/** Bindings on one host address (not a wildcard) that need a locality check. */
export function specificHostIps(ports: PortBinding[]): string[] {
  return [...new Set(ports.map((p) => p.hostIp).filter((ip) => !isWildcard(ip)))];
}
