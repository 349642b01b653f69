export { Netns, kernelNetns } from './netns.ts';
export type { BatchOps, NetnsHandle, NetnsProvider, RtnlOps } from './handle.ts';
export { Rtnl } from './rtnl.ts';
export type { RtnlApi } from './rtnl.ts';
export type { RtnlBatch } from './batch.ts';
export type { RouteWatch } from './ops/route-watch.ts';
export { NetlinkError } from './errors.ts';
export type { NetlinkErrorCode, ValidationCode, ErrnoCode } from './errors.ts';
export type {
  Address, BridgePortFlags, Family, Fdb, FdbEntry, Link, LinkChange, LinkRef, LinkSpec, Neigh, NeighEntry, Route, VxlanInfo,
} from './types.ts';
export { parseCidr, parseIp, formatIp, parseMac, formatMac } from './address.ts';
