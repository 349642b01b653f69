// Domain types of the kernel layer (camelCase, strings for addresses); the
// wire structs live in codec/.
import type { NetnsHandle } from './handle.ts';

export type Family = 4 | 6;
/** A link by name, or by index (which saves the kernel round trip of a name lookup). */
export type LinkRef = string | number;

export interface BridgePortFlags { hairpin?: boolean; learning?: boolean; isolated?: boolean; neighSuppress?: boolean }

export interface VxlanInfo { vni: number; port: number; local?: string; group?: string; learning: boolean; ttl: number; dev?: number }

export interface Link {
  index: number;
  name: string;
  kind: string | null;       // IFLA_INFO_KIND: 'bridge', 'veth', 'vxlan', 'macvlan', 'vlan', 'dummy', 'tap', ... null for lo/physical
  mtu: number;
  mac: string;
  up: boolean;               // administratively up (IFF_UP)
  master: number | null;     // index of the bridge this link is a port of
  operState: string;         // RFC 2863: 'up', 'down', 'lowerlayerdown', 'unknown', ...
  linkNetnsId?: number;      // the peer/parent lives in another namespace (its nsid as seen from here)
  peerIndex?: number;        // veth: the other end's index (in linkNetnsId's namespace if set)
  parentIndex?: number;      // macvlan/ipvlan: the parent's index
  vxlan?: VxlanInfo;
  macvlanMode?: string;
  ipvlanMode?: string;
  ipvlanFlag?: string;
  vlanId?: number;           // vlan (802.1Q): its id; parentIndex is the link it rides on
  bridgePort?: BridgePortFlags; // set when the link is a bridge port (by linkGet, not in a linkList)
  alias?: string;            // IFLA_IFALIAS, when set
  group?: number;            // IFLA_GROUP, when not the default 0
}

/** master: the bridge it is born a port of (the creating message plugs it in). */
type Common = { name: string; mtu?: number; mac?: string; up?: boolean; alias?: string; master?: LinkRef };
export type LinkSpec = Common & (
  | { kind: 'bridge' }
  | { kind: 'veth'; peer: { name: string; netns?: NetnsHandle; mac?: string; mtu?: number; up?: boolean } }
  // netns: born there, while its UDP socket stays in the creating namespace (the underlay).
  | { kind: 'vxlan'; vni: number; local?: string; group?: string; port?: number; dev?: LinkRef; learning?: boolean; ttl?: number; netns?: NetnsHandle }
  | { kind: 'macvlan'; parent: LinkRef; mode: 'bridge' | 'private' | 'vepa' | 'passthru'; netns?: NetnsHandle }
  | { kind: 'ipvlan'; parent: LinkRef; mode: 'l2' | 'l3' | 'l3s'; flag?: 'bridge' | 'private' | 'vepa'; netns?: NetnsHandle }
  | { kind: 'vlan'; parent: LinkRef; vlanId: number }
  | { kind: 'dummy' }
  | { kind: 'tap' }
);

/**
 * alias '' clears it; group: the link's device group (IFLA_GROUP);
 * addrGenMode: how IPv6 makes its link-local address, which it does when
 * the link goes up, so set it before (the kernel applies a message's up flag
 * before this).
 */
export interface LinkChange {
  up?: boolean; mtu?: number; mac?: string; master?: LinkRef | null; name?: string; netns?: NetnsHandle; alias?: string; group?: number;
  addrGenMode?: 'eui64' | 'none';
}

export interface Address { dev: string; family: Family; cidr: string }

export interface Route {
  dst: 'default' | string; // a prefix in CIDR form, or 'default'
  family?: Family;         // needed only for a 'default' route without gateway/src
  gateway?: string;
  dev?: LinkRef;
  onlink?: boolean;
  table?: number;          // default 254 (main)
  metric?: number;
  src?: string;
}

export interface Neigh { dev: LinkRef; ip: string; mac: string; permanent?: boolean }
export interface NeighEntry extends Neigh { dev: string; state: string }

export interface Fdb { dev: LinkRef; mac: string; dst?: string; vni?: number; self?: boolean; master?: boolean; permanent?: boolean }
export interface FdbEntry extends Fdb { dev: string; bridge?: string }
