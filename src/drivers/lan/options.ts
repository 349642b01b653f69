// Options of the macvlan and ipvlan drivers, with Docker's names, defaults
// and error texts (libnetwork drivers/{macvlan,ipvlan}).
import { invalid } from '../../model/errors.ts';
import { shortId } from '../../model/ids.ts';
import { IFNAME_RE } from '../../model/net.ts';
import type { NetworkInfo } from '../driver.ts';

export type LanKind = 'macvlan' | 'ipvlan';
export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';
export type IpvlanMode = 'l2' | 'l3' | 'l3s';
export type IpvlanFlag = 'bridge' | 'private' | 'vepa';

export const LAN_OPT = {
  parent: 'parent',
  macvlanMode: 'macvlan_mode',
  ipvlanMode: 'ipvlan_mode',
  ipvlanFlag: 'ipvlan_flag',
  hostShim: 'cnm.macvlan.host_shim',
  mtu: 'com.docker.network.driver.mtu',
} as const;

const MACVLAN_MODES: readonly MacvlanMode[] = ['bridge', 'private', 'vepa', 'passthru'];
const IPVLAN_MODES: readonly IpvlanMode[] = ['l2', 'l3', 'l3s'];
const IPVLAN_FLAGS: readonly IpvlanFlag[] = ['bridge', 'private', 'vepa'];

export interface LanOptions {
  kind: LanKind;
  /** The link children hang off: the user's, an 802.1Q sub-interface, or a dummy. */
  parent: string;
  /** 'vlan': parent is NAME.VID, made when absent; 'dummy': no parent was given. */
  parentKind: 'link' | 'vlan' | 'dummy';
  /** For a VLAN parent: the link it rides on and its id. */
  vlan?: { master: string; id: number };
  macvlanMode: MacvlanMode;
  ipvlanMode: IpvlanMode;
  ipvlanFlag: IpvlanFlag;
  /** The host's own address on the network (macvlan, cnm.macvlan.host_shim). */
  hostShim?: string;
}

const known = (kind: LanKind): string[] => kind === 'macvlan'
  ? [LAN_OPT.parent, LAN_OPT.macvlanMode, LAN_OPT.hostShim]
  : [LAN_OPT.parent, LAN_OPT.ipvlanMode, LAN_OPT.ipvlanFlag];

/** The dummy parent of a network without -o parent, named as Docker names it. */
export const dummyName = (kind: LanKind, networkId: string): string => `${kind === 'macvlan' ? 'dm' : 'di'}-${shortId(networkId)}`;

/** The host-side macvlan that gives the host an address on the network. */
export const shimName = (networkId: string): string => `cnm-shim-${networkId.slice(0, 6)}`;

/** Parses and checks the options (no kernel access). */
export function parseLanOptions(kind: LanKind, net: Pick<NetworkInfo, 'id' | 'options'>): LanOptions {
  const o = net.options;
  const allowed = known(kind);
  for (const k of Object.keys(o)) {
    // Generic com.docker.network.* options (MTU, interface prefix) pass as in Docker.
    if (k.startsWith('com.docker.network.') || allowed.includes(k)) continue;
    throw invalid(`unknown option "${k}" for the ${kind} driver: expected one of ${allowed.join(', ')}`);
  }
  const macvlanMode = (o[LAN_OPT.macvlanMode] || 'bridge') as MacvlanMode;
  if (kind === 'macvlan' && !MACVLAN_MODES.includes(macvlanMode)) {
    throw invalid(`requested macvlan mode '${macvlanMode}' is not valid, 'bridge' mode is the macvlan driver default`);
  }
  const ipvlanMode = (o[LAN_OPT.ipvlanMode] || 'l2') as IpvlanMode;
  if (kind === 'ipvlan' && !IPVLAN_MODES.includes(ipvlanMode)) {
    throw invalid(`requested ipvlan mode '${ipvlanMode}' is not valid, 'l2' mode is the ipvlan driver default`);
  }
  const ipvlanFlag = (o[LAN_OPT.ipvlanFlag] || 'bridge') as IpvlanFlag;
  if (kind === 'ipvlan' && !IPVLAN_FLAGS.includes(ipvlanFlag)) {
    throw invalid(`requested ipvlan flag '${ipvlanFlag}' is not valid, 'bridge' is the ipvlan driver default`);
  }
  const out: LanOptions = { kind, parent: '', parentKind: 'link', macvlanMode, ipvlanMode, ipvlanFlag };
  const parent = o[LAN_OPT.parent] ?? '';
  if (!parent) {
    out.parent = dummyName(kind, net.id);
    out.parentKind = 'dummy';
  } else {
    if (parent === 'lo') throw invalid(`loopback interface is not a valid ${kind} parent link`);
    if (!IFNAME_RE.test(parent)) {
      throw invalid(`invalid parent interface name "${parent}": expected 1-15 characters of letters, digits, '_', '.', '-'`);
    }
    out.parent = parent;
    if (parent.includes('.')) {
      const m = /^([^.]+)\.([^.]+)$/.exec(parent);
      if (!m || !/^\d+$/.test(m[2]!)) {
        throw invalid(`required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received ${parent}`);
      }
      const id = Number(m[2]);
      if (id < 1 || id > 4094) throw invalid(`vlan id must be between 1-4094, received: ${id}`);
      out.parentKind = 'vlan';
      out.vlan = { master: m[1]!, id };
    }
  }
  const shim = o[LAN_OPT.hostShim];
  if (shim !== undefined && shim !== '') {
    if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(shim) || shim.split('.').some((x) => Number(x) > 255)) {
      throw invalid(`invalid value "${shim}" for option ${LAN_OPT.hostShim}: expected an IPv4 address`);
    }
    out.hostShim = shim;
  }
  return out;
}
