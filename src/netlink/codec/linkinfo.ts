// IFLA_LINKINFO: the nested attribute that says what kind of link this is
// (IFLA_INFO_KIND) and carries the kind's own settings (IFLA_INFO_DATA), plus
// for a port of a bridge the bridge's settings for it (IFLA_INFO_SLAVE_*).
import {
  IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_INFO_SLAVE_DATA, IFLA_INFO_SLAVE_KIND,
  IFLA_IPVLAN_FLAGS, IFLA_IPVLAN_MODE, IFLA_LINKINFO, IFLA_VLAN_ID, IFLA_MACVLAN_MODE, IFLA_MTU, IFLA_NET_NS_FD, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID, IFLA_VXLAN_LEARNING, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, IFLA_VXLAN_PORT,
  IFLA_VXLAN_TTL, VETH_INFO_PEER,
} from '../constants.ts';
import { attr, attrS32, attrStr, attrU16BE, attrU32, attrU8, nest, parseAttrs, str } from './attributes.ts';
import type { AttrMap } from './attributes.ts';
import { encodeIfInfo } from './ifinfomsg.ts';
import type { Ip } from '../address.ts';

export interface VethPeerWire { name: string; nsFd?: number; mac?: Buffer; mtu?: number }

/** A link kind's settings with names already resolved to indexes and bytes. */
export type LinkInfoWire =
  | { kind: 'bridge' }
  | { kind: 'veth'; peer: VethPeerWire }
  | { kind: 'vxlan'; vni: number; local?: Ip; group?: Ip; port?: number; link?: number; learning?: boolean; ttl?: number }
  | { kind: 'macvlan'; mode: number }
  | { kind: 'ipvlan'; mode: number; flags?: number }
  | { kind: 'vlan'; id: number }
  | { kind: 'dummy' };

function infoData(s: LinkInfoWire): Buffer[] {
  switch (s.kind) {
    case 'bridge':
    case 'dummy':
      return [];
    case 'veth': {
      // VETH_INFO_PEER holds a whole ifinfomsg plus link attributes for the
      // other end; IFLA_NET_NS_FD there creates that end in another namespace.
      const p = s.peer;
      const peerAttrs = [attrStr(IFLA_IFNAME, p.name)];
      if (p.mtu !== undefined) peerAttrs.push(attrU32(IFLA_MTU, p.mtu));
      if (p.mac) peerAttrs.push(attr(IFLA_ADDRESS, p.mac));
      if (p.nsFd !== undefined) peerAttrs.push(attrS32(IFLA_NET_NS_FD, p.nsFd));
      return [attr(VETH_INFO_PEER, encodeIfInfo({}, peerAttrs))];
    }
    case 'vxlan': {
      const out = [attrU32(IFLA_VXLAN_ID, s.vni)];
      if (s.local) out.push(attr(s.local.family === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, s.local.bytes));
      if (s.group) out.push(attr(s.group.family === 4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, s.group.bytes));
      if (s.link !== undefined) out.push(attrU32(IFLA_VXLAN_LINK, s.link));
      if (s.port !== undefined) out.push(attrU16BE(IFLA_VXLAN_PORT, s.port)); // network order
      if (s.ttl !== undefined) out.push(attrU8(IFLA_VXLAN_TTL, s.ttl));
      if (s.learning !== undefined) out.push(attrU8(IFLA_VXLAN_LEARNING, s.learning ? 1 : 0));
      return out;
    }
    case 'macvlan':
      return [attrU32(IFLA_MACVLAN_MODE, s.mode)];
    case 'ipvlan':
      return [attrU16LE(IFLA_IPVLAN_MODE, s.mode), ...(s.flags ? [attrU16LE(IFLA_IPVLAN_FLAGS, s.flags)] : [])];
    case 'vlan':
      // Host order, like every netlink integer (the 802.1Q protocol
      // attribute, which is network order, is left to its 802.1Q default).
      return [attrU16LE(IFLA_VLAN_ID, s.id)];
  }
}

function attrU16LE(type: number, v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return attr(type, b);
}

export function encodeLinkInfo(s: LinkInfoWire): Buffer {
  const data = infoData(s);
  const children = [attrStr(IFLA_INFO_KIND, s.kind)];
  if (data.length) children.push(nest(IFLA_INFO_DATA, data));
  return nest(IFLA_LINKINFO, children);
}

/** Settings of a bridge port (IFLA_BRPORT_* u8 attributes), for RTM_NEWLINK on the port. */
export function encodeSlaveInfo(slaveKind: string, data: Buffer[]): Buffer {
  return nest(IFLA_LINKINFO, [attrStr(IFLA_INFO_SLAVE_KIND, slaveKind), nest(IFLA_INFO_SLAVE_DATA, data)]);
}

export interface LinkInfo { kind?: string; data?: AttrMap; slaveKind?: string; slaveData?: AttrMap }

/** IFLA_LINKINFO; its nested data is parsed when first read (most callers read only the kinds). */
export function decodeLinkInfo(b: Buffer | undefined): LinkInfo {
  if (!b) return {};
  const a = parseAttrs(b);
  const out: LinkInfo = {};
  const kind = str(a.get(IFLA_INFO_KIND));
  if (kind) out.kind = kind;
  const data = a.get(IFLA_INFO_DATA);
  if (data) lazy(out, 'data', data);
  const slaveKind = str(a.get(IFLA_INFO_SLAVE_KIND));
  if (slaveKind) out.slaveKind = slaveKind;
  const slaveData = a.get(IFLA_INFO_SLAVE_DATA);
  if (slaveData) lazy(out, 'slaveData', slaveData);
  return out;
}

function lazy(info: LinkInfo, key: 'data' | 'slaveData', raw: Buffer): void {
  Object.defineProperty(info, key, {
    configurable: true, enumerable: true,
    get(): AttrMap {
      const parsed = parseAttrs(raw);
      Object.defineProperty(info, key, { value: parsed, enumerable: true });
      return parsed;
    },
  });
}
