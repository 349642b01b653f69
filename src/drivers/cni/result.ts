// Reading a plugin's ADD result (SPEC.md "Success"): the interface it made in
// the sandbox, its addresses, and the default route's gateway, which is what
// the core needs for the endpoint (inspect, DNS names, default route).
import type { CniIp, CniResult } from './types.ts';

export interface Addressing {
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  gateway: { ipv4: string | null; ipv6: string | null };
  dns: string[];
}

/** Checks that a plugin's stdout is a result object; the reason when it is not. */
export function resultProblem(stdout: string): { result: CniResult } | { problem: string } {
  let r: unknown;
  try {
    r = JSON.parse(stdout);
  } catch {
    return { problem: `its result is not JSON: ${JSON.stringify(stdout.slice(0, 200))}` };
  }
  if (!r || typeof r !== 'object' || Array.isArray(r)) return { problem: 'its result is not a JSON object' };
  const o = r as Record<string, unknown>;
  for (const k of ['interfaces', 'ips', 'routes'] as const) {
    if (o[k] !== undefined && !Array.isArray(o[k])) return { problem: `its result's "${k}" is not an array` };
  }
  for (const ip of (o.ips ?? []) as unknown[]) {
    if (!ip || typeof (ip as CniIp).address !== 'string' || !(ip as CniIp).address.includes('/')) {
      return { problem: `its result has an IP without an "address" in CIDR form: ${JSON.stringify(ip)}` };
    }
  }
  return { result: o as CniResult };
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

/** The endpoint's addressing from the chain's final result, for interface `ifName`. */
export function addressingOf(r: CniResult, ifName: string): Addressing {
  const ifs = r.interfaces ?? [];
  // The interface in the sandbox (it has `sandbox` set), named as asked.
  const idx = ifs.findIndex((i) => i.name === ifName && !!i.sandbox);
  // IPs name their interface by index; IPs without one (an IPAM-only
  // result) belong to the attachment's interface.
  const ips = (r.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === idx);
  const v4 = ips.find((ip) => !isV6(ip.address));
  const v6 = ips.find((ip) => isV6(ip.address));
  const routes = r.routes ?? [];
  // A default route without `gw` goes through the IP's gateway (the
  // plugins install it so: CP pkg/ipam ConfigureIface).
  const dflt = (dst: string, ip: CniIp | undefined): string | null => {
    const r = routes.find((x) => x.dst === dst);
    return r ? (r.gw ?? ip?.gateway ?? null) : null;
  };
  const mac = idx >= 0 ? ifs[idx]!.mac : undefined;
  return {
    ...(v4 ? { ipv4: v4.address } : {}),
    ...(v6 ? { ipv6: v6.address } : {}),
    ...(mac ? { mac: mac.toLowerCase() } : {}),
    gateway: { ipv4: v4 ? dflt('0.0.0.0/0', v4) : null, ipv6: v6 ? dflt('::/0', v6) : null },
    dns: r.dns?.nameservers ?? [],
  };
}
