// An RTM_NEWLINK reply decoded into the domain type Link.
import {
  IFF_UP, IFLA_ADDRESS, IFLA_IFALIAS, IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING, IFLA_BRPORT_MODE, IFLA_BRPORT_NEIGH_SUPPRESS,
  IFLA_GROUP, IFLA_IFNAME, IFLA_IPVLAN_FLAGS, IFLA_IPVLAN_MODE, IFLA_LINK, IFLA_LINK_NETNSID, IFLA_LINKINFO, IFLA_MACVLAN_MODE, IFLA_MASTER, IFLA_MTU,
  IFLA_OPERSTATE, IFLA_TUN_TYPE, IFF_TAP, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6, IFLA_VXLAN_ID, IFLA_VXLAN_LEARNING, IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, IFLA_VXLAN_PORT, IFLA_VLAN_ID, IFLA_VXLAN_TTL, IPVLAN_FLAGS, IPVLAN_MODES, MACVLAN_MODES, OPER_STATES,
} from '../constants.ts';
import { s32, str, u16, u16be, u32, u8 } from './attributes.ts';
import type { AttrMap } from './attributes.ts';
import { decodeIfInfo } from './ifinfomsg.ts';
import { decodeLinkInfo } from './linkinfo.ts';
import { formatIp, formatMac } from '../address.ts';
import type { BridgePortFlags, Link, VxlanInfo } from '../types.ts';

const modeName = (table: Record<string, number>, v: number | undefined): string | undefined =>
  Object.entries(table).find(([, n]) => n === v)?.[0];

function isZero(b: Buffer): boolean {
  return b.every((x) => x === 0);
}

function vxlanInfo(d: AttrMap): VxlanInfo {
  const local = d.get(IFLA_VXLAN_LOCAL) ?? d.get(IFLA_VXLAN_LOCAL6);
  const group = d.get(IFLA_VXLAN_GROUP) ?? d.get(IFLA_VXLAN_GROUP6);
  const info: VxlanInfo = {
    vni: u32(d.get(IFLA_VXLAN_ID)) ?? 0,
    port: u16be(d.get(IFLA_VXLAN_PORT)) ?? 0,
    learning: (u8(d.get(IFLA_VXLAN_LEARNING)) ?? 0) !== 0,
    ttl: u8(d.get(IFLA_VXLAN_TTL)) ?? 0,
  };
  if (local && !isZero(local)) info.local = formatIp(local);
  if (group && !isZero(group)) info.group = formatIp(group);
  const dev = u32(d.get(IFLA_VXLAN_LINK));
  if (dev) info.dev = dev;
  return info;
}

function bridgePort(d: AttrMap): BridgePortFlags {
  const flag = (t: number): boolean | undefined => {
    const v = u8(d.get(t));
    return v === undefined ? undefined : v !== 0;
  };
  const out: BridgePortFlags = {};
  const set = (k: keyof BridgePortFlags, t: number): void => {
    const v = flag(t);
    if (v !== undefined) out[k] = v;
  };
  set('hairpin', IFLA_BRPORT_MODE);
  set('learning', IFLA_BRPORT_LEARNING);
  set('isolated', IFLA_BRPORT_ISOLATED);
  set('neighSuppress', IFLA_BRPORT_NEIGH_SUPPRESS);
  return out;
}

/**
 * `portFlags: false` leaves out a bridge port's flags (link.bridgePort):
 * a dump of every link has no use for them and they are a nested set of
 * some thirty attributes per port.
 */
export function decodeLink(payload: Buffer, opts: { portFlags?: boolean } = {}): Link {
  const { hdr, attrs } = decodeIfInfo(payload);
  const info = decodeLinkInfo(attrs.get(IFLA_LINKINFO));
  const master = u32(attrs.get(IFLA_MASTER));
  const link: Link = {
    index: hdr.index,
    name: str(attrs.get(IFLA_IFNAME)) ?? '',
    // The kernel calls every tun/tap device "tun"; report a tap as created.
    kind: info.kind === 'tun' && u8(info.data?.get(IFLA_TUN_TYPE)) === IFF_TAP ? 'tap' : info.kind ?? null,
    mtu: u32(attrs.get(IFLA_MTU)) ?? 0,
    mac: formatMac(attrs.get(IFLA_ADDRESS)),
    up: (hdr.flags & IFF_UP) !== 0,
    master: master ? master : null,
    operState: OPER_STATES[u8(attrs.get(IFLA_OPERSTATE)) ?? 0] ?? 'unknown',
  };
  const nsid = s32(attrs.get(IFLA_LINK_NETNSID));
  if (nsid !== undefined && nsid >= 0) link.linkNetnsId = nsid;
  // The kernel omits IFLA_LINK when it equals the link's own index, which
  // happens for a veth whose peer sits at the same index in another
  // namespace (both ends are #2 in two fresh namespaces).
  let lower = u32(attrs.get(IFLA_LINK));
  if (lower === undefined && info.kind === 'veth' && link.linkNetnsId !== undefined) lower = hdr.index;
  if (lower) {
    if (info.kind === 'veth') link.peerIndex = lower;
    else link.parentIndex = lower;
  }
  if (info.kind === 'vxlan' && info.data) link.vxlan = vxlanInfo(info.data);
  if (info.kind === 'macvlan' && info.data) {
    const m = modeName(MACVLAN_MODES, u32(info.data.get(IFLA_MACVLAN_MODE)));
    if (m) link.macvlanMode = m;
  }
  if (info.kind === 'ipvlan' && info.data) {
    const m = modeName(IPVLAN_MODES, u16(info.data.get(IFLA_IPVLAN_MODE)));
    if (m) link.ipvlanMode = m;
    const f = modeName(IPVLAN_FLAGS, u16(info.data.get(IFLA_IPVLAN_FLAGS)) ?? 0);
    if (f) link.ipvlanFlag = f;
  }
  if (info.kind === 'vlan' && info.data) {
    const id = u16(info.data.get(IFLA_VLAN_ID));
    if (id !== undefined) link.vlanId = id;
  }
  if (opts.portFlags !== false && info.slaveKind === 'bridge' && info.slaveData) link.bridgePort = bridgePort(info.slaveData);
  const alias = str(attrs.get(IFLA_IFALIAS));
  if (alias) link.alias = alias;
  const group = u32(attrs.get(IFLA_GROUP));
  if (group) link.group = group;
  return link;
}
