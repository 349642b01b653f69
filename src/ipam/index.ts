// IP address management: CIDR math, address pools, per-subnet allocators.
// Pure logic: no kernel, no I/O.
export { IpamError, IPAM_HTTP_STATUS } from './errors.ts';
export type { Family, IpamErrorCode, IpamErrorDetail } from './errors.ts';
export {
  ADDRESS_BITS, addressEquals, canonicalAddress, compareAddress, formatAddress, parseAddress, parseAddressOf, tryParseAddress,
} from './addr.ts';
export type { Addr } from './addr.ts';
export {
  firstAddress, formatPrefix, isCanonical, lastAddress, masked, nthAddress, parseAddressOrPrefix, parsePrefix,
  prefixContains, prefixOverlaps, prefixSize,
} from './prefix.ts';
export type { ParsePrefixOptions, Prefix } from './prefix.ts';
export { defaultPools, dockerDefaultPools, fallbackPools, parsePoolFlag, ulaPool, ulaPrefix, validatePool } from './pools.ts';
export type { PoolSpec } from './pools.ts';
export { PoolSet, checkOverlap } from './pool-set.ts';
export type { ChooseOptions } from './pool-set.ts';
export { SubnetAllocator } from './subnet-allocator.ts';
export type { AllocatorStats, RestoreOptions, SubnetAllocatorConfig } from './subnet-allocator.ts';
export { validateNetworkIpam } from './validate.ts';
export type { IpamSubnetConfig, NormalizedSubnetConfig } from './validate.ts';
