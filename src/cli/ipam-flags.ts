// `network create --subnet/--ip-range/--gateway/--aux-address` to
// IPAM.Config entries, as the docker CLI groups them (createIPAMConfig in
// cli/command/network/create.go): each range, gateway and auxiliary address
// joins the subnet that contains it.
import { BlockList, isIP } from 'node:net';
import type { IpamConfigWire } from '../api/wire.ts';
import { CliError } from './cli-error.ts';

export interface IpamFlags {
  subnets: string[];
  ipRanges: string[];
  gateways: string[];
  /** name=address */
  auxAddresses: Record<string, string>;
}

interface Cidr { addr: string; prefix: number; family: 'ipv4' | 'ipv6' }

const fail = (reason: string): never => { throw new CliError({ code: 'IPAM_FLAGS', reason }); };

function parseCidr(s: string, what: string): Cidr {
  const [addr = '', len, extra] = s.split('/');
  const v = isIP(addr);
  const max = v === 6 ? 128 : 32;
  if (!v || extra !== undefined || len === undefined || !/^\d+$/.test(len) || Number(len) > max) {
    return fail(`invalid ${what} ${s}: expected an address in CIDR notation like 10.1.0.0/24`);
  }
  return { addr, prefix: Number(len), family: v === 6 ? 'ipv6' : 'ipv4' };
}

/** Does CIDR `subnet` contain the address (or the first address of the CIDR) `data`? */
export function subnetContains(subnet: string, data: string): boolean {
  const s = parseCidr(subnet, 'subnet');
  const addr = data.includes('/') ? parseCidr(data, 'address').addr : data;
  const fam = isIP(addr);
  if (!fam) return fail(`invalid address ${data}: expected an IPv4 or IPv6 address`);
  if ((fam === 6) !== (s.family === 'ipv6')) return false;
  const bl = new BlockList();
  bl.addSubnet(s.addr, s.prefix, s.family);
  return bl.check(addr, s.family);
}

export function ipamConfigFromFlags(f: IpamFlags): IpamConfigWire[] {
  if (f.subnets.length < f.ipRanges.length || f.subnets.length < f.gateways.length) {
    fail('every ip-range or gateway must have a corresponding subnet');
  }
  const byKey = new Map<string, IpamConfigWire & { AuxiliaryAddresses: Record<string, string> }>();
  for (const s of f.subnets) {
    if (!s.includes('/')) {
      // docker accepts a bare address as a single-address subnet (/32 or /128).
      if (!isIP(s)) fail(`invalid subnet ${s}: expected CIDR notation like 10.1.0.0/24`);
    }
    const cidr = s.includes('/') ? s : `${s}/${isIP(s) === 6 ? 128 : 32}`;
    parseCidr(cidr, 'subnet');
    for (const k of byKey.keys()) {
      if (subnetContains(k, cidr) || subnetContains(cidr, k)) fail('multiple overlapping subnet configuration is not supported');
    }
    byKey.set(cidr, { Subnet: cidr, AuxiliaryAddresses: {} });
  }
  for (const r of f.ipRanges) {
    parseCidr(r, 'ip-range');
    let match = false;
    for (const [k, d] of byKey) {
      if (!subnetContains(k, r)) continue;
      if (d.IPRange) fail(`cannot configure multiple ranges (${r}, ${d.IPRange}) on the same subnet (${k})`);
      d.IPRange = r;
      match = true;
    }
    if (!match) fail(`no matching subnet for range ${r}`);
  }
  for (const g of f.gateways) {
    if (!isIP(g)) fail(`invalid gateway ${g}: expected an IPv4 or IPv6 address`);
    let match = false;
    for (const [k, d] of byKey) {
      if (!subnetContains(k, g)) continue;
      if (d.Gateway) fail(`cannot configure multiple gateways (${g}, ${d.Gateway}) for the same subnet (${k})`);
      d.Gateway = g;
      match = true;
    }
    if (!match) fail(`no matching subnet for gateway ${g}`);
  }
  for (const [name, a] of Object.entries(f.auxAddresses)) {
    if (!isIP(a)) fail(`invalid aux-address ${name}=${a}: expected an IPv4 or IPv6 address`);
    let match = false;
    for (const [k, d] of byKey) {
      if (!subnetContains(k, a)) continue;
      d.AuxiliaryAddresses[name] = a;
      match = true;
    }
    if (!match) fail(`no matching subnet for aux-address ${a}`);
  }
  // Go's omitempty: an entry without auxiliary addresses does not send the field.
  return [...byKey.values()].map(({ AuxiliaryAddresses, ...rest }) =>
    (Object.keys(AuxiliaryAddresses).length ? { ...rest, AuxiliaryAddresses } : rest));
}
