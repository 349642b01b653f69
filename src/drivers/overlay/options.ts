// Options of the overlay driver, with Docker's names, and the names of what
// the driver makes. No kernel access here: unit-testable.
import { invalid } from '../../model/errors.ts';
import type { NetworkInfo } from '../driver.ts';

export const OVERLAY_OPT = {
  mtu: 'com.docker.network.driver.mtu',
  /** Docker's way to choose the VNI (one per subnet there; one per network here). */
  vxlanIdList: 'com.docker.network.driver.overlay.vxlanid_list',
  ifacePrefix: 'com.docker.network.container_iface_prefix',
} as const;

const KNOWN: readonly string[] = Object.values(OVERLAY_OPT);

/** The VNIs cnm hands out and accepts: Docker's classic overlay range (L16 vxlanIDStart..End). */
export const VNI_MIN = 256;
export const VNI_MAX = (1 << 24) - 1;
/** The IANA VXLAN port (RFC 7348), what Docker's overlay uses. */
export const VXLAN_PORT = 4789;
/** Outer Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8) headers; IPv6 outer: 70. */
export const vxlanOverhead = (vtep: string): number => (vtep.includes(':') ? 70 : 50);

export interface OverlayOptions {
  /** From com.docker.network.driver.mtu; else underlay MTU − overhead. */
  mtu?: number;
  /** The VNI the user asked for (vxlanid_list). */
  vni?: number;
  ifacePrefix: string;
}

/** Parses and checks the options; unknown ones are refused. */
export function parseOverlayOptions(net: Pick<NetworkInfo, 'options'>): OverlayOptions {
  const o = net.options;
  for (const k of Object.keys(o)) {
    if (KNOWN.includes(k)) continue;
    if (k === 'encrypted') throw invalid('option "encrypted" (IPsec between hosts) is not supported by cnm\'s overlay driver: expected no "encrypted" option');
    throw invalid(`unknown option "${k}" for the overlay driver: expected one of ${KNOWN.join(', ')}`);
  }
  const out: OverlayOptions = { ifacePrefix: o[OVERLAY_OPT.ifacePrefix] || 'eth' };
  const mtu = o[OVERLAY_OPT.mtu];
  if (mtu !== undefined && mtu !== '') {
    const n = Number(mtu);
    if (!/^\d+$/.test(mtu) || n < 68 || n > 65535) throw invalid(`invalid value "${mtu}" for option ${OVERLAY_OPT.mtu}: expected an MTU between 68 and 65535`);
    out.mtu = n;
  }
  const list = o[OVERLAY_OPT.vxlanIdList];
  if (list !== undefined && list !== '') {
    const ids = list.split(',').map((s) => s.trim());
    // Docker takes one VNI per IPv4 subnet; a cnm overlay network is one L2
    // segment (its IPv4 and IPv6 subnets share it), so one VNI.
    if (ids.length !== 1) throw invalid(`invalid value "${list}" for option ${OVERLAY_OPT.vxlanIdList}: a cnm overlay network has one VNI (its subnets share one segment), expected one number`);
    out.vni = parseVni(ids[0]!, `option ${OVERLAY_OPT.vxlanIdList}`);
  }
  if (!/^[a-zA-Z][a-zA-Z0-9_-]{0,11}$/.test(out.ifacePrefix)) {
    throw invalid(`invalid value "${out.ifacePrefix}" for option ${OVERLAY_OPT.ifacePrefix}: expected 1-12 letters, digits, '_' or '-', starting with a letter`);
  }
  return out;
}

/** A VNI in decimal (or 0x hex, as Docker's ParseUint(s, 0, 32) takes it). */
export function parseVni(s: string, where: string): number {
  const n = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isInteger(n) || n < VNI_MIN || n > VNI_MAX) throw invalid(`invalid VNI "${s}" in ${where}: expected a number between ${VNI_MIN} and ${VNI_MAX}`);
  return n;
}

/** The network's VNI, which the cluster code writes into driverState.vni before createNetwork. */
export function vniOf(net: Pick<NetworkInfo, 'name' | 'driverState'>): number {
  const s = net.driverState.vni;
  if (!s) throw invalid(`overlay network ${net.name} has no VNI yet: the cluster store assigns it (driverState.vni) before the network is created on a host`);
  return parseVni(s, `the driver state of network ${net.name}`);
}

/** The per-network namespace's file name (PROTOCOLS §6.4 item 7). */
export const ovlNsName = (networkId: string): string => `ovl-${networkId.slice(0, 12)}`;
/** Names inside the overlay namespace: fixed, since nothing else lives there. */
export const OVL_BRIDGE = 'br0';
export const OVL_VXLAN = 'vxlan0';
/** An endpoint's end of its veth on br0, inside the overlay namespace. */
export const ovlPortName = (endpointId: string): string => `veth${endpointId.slice(0, 7)}`;
