// Address text <-> position for one subnet, without bigint on the hot path.
// A position is a number relative to a window of at most 2^32 addresses that
// starts `offset` addresses into the subnet. IPv4 subnets and IPv6 subnets of
// /96 or longer fit whole (offset 0); for larger IPv6 subnets the allocator
// picks the window (the start of the ip-range). Addresses of the subnet beyond
// the window are POS_FAR, with their bigint offset from the network address in
// `farOffset` (set by the last locate()).
import { TWO_32, bigintToWords, formatV4, formatV6Groups, groupsToWords, parseV4, parseV6Groups, wordsToBigint, wordsToGroups } from './addr-codec.ts';
import { formatAddress, parseAddressOf } from './addr.ts';
import type { Family } from './addr.ts';
import { formatPrefix, prefixSize } from './prefix.ts';
import type { Prefix } from './prefix.ts';

export const POS_FAR = -1;
export const POS_OUTSIDE = -2;

export class SubnetWindow {
  readonly family: Family;
  readonly subnet: string;
  /** Network address and number of addresses of the subnet. */
  readonly net: bigint;
  readonly size: bigint;
  /** Addresses in the window (<= 2^32). */
  readonly length: number;
  /** Offset of the last POS_FAR result from the network address. */
  farOffset = 0n;
  /** IPv4: first address of the window as a number. */
  private readonly v4Start: number;
  /** IPv6: first address of the window as four uint32 words. */
  private readonly v6Start: number[] = [0, 0, 0, 0];
  private readonly g = [0, 0, 0, 0, 0, 0, 0, 0];
  private readonly w = [0, 0, 0, 0];

  constructor(p: Prefix, offset: bigint, length: number) {
    this.family = p.family;
    this.subnet = formatPrefix(p);
    this.net = p.addr;
    this.size = prefixSize(p);
    this.length = length;
    this.v4Start = p.family === 4 ? Number(p.addr + offset) : 0;
    if (p.family === 6) bigintToWords(p.addr + offset, this.v6Start);
  }

  /** Text of a position (POS_FAR: of farOffset). */
  text(pos: number): string {
    if (pos === POS_FAR) return formatAddress({ family: this.family, value: this.net + this.farOffset });
    if (this.family === 4) return formatV4(this.v4Start + pos);
    // Window start + pos with carry: the start need not be aligned to 2^32.
    const w = this.w;
    const b = this.v6Start;
    let carry = pos;
    for (let k = 3; k >= 0; k--) {
      const x = b[k]! + carry;
      if (x >= TWO_32) {
        w[k] = x - TWO_32;
        carry = 1;
      } else {
        w[k] = x;
        carry = 0;
      }
    }
    wordsToGroups(w, this.g);
    return formatV6Groups(this.g);
  }

  /** Position of an address, POS_FAR or POS_OUTSIDE; INVALID or FAMILY errors for bad text. */
  locate(text: string): number {
    if (this.family === 4) {
      const n = text.indexOf(':') < 0 ? parseV4(text) : -1;
      if (n < 0) {
        parseAddressOf(text, 4, 'address', this.subnet); // throws INVALID or FAMILY
        return POS_OUTSIDE;
      }
      const off = n - this.v4Start;
      return off >= 0 && off < this.length ? off : POS_OUTSIDE;
    }
    const g = this.g;
    if (text.indexOf(':') < 0 || !parseV6Groups(text, g)) {
      parseAddressOf(text, 6, 'address', this.subnet);
      return POS_OUTSIDE;
    }
    const w = this.w;
    groupsToWords(g, w);
    // 128-bit (address - window start) in 32-bit words with borrow.
    const b = this.v6Start;
    let borrow = 0;
    let high = 0;
    let low = 0;
    for (let k = 3; k >= 0; k--) {
      let d = w[k]! - b[k]! - borrow;
      if (d < 0) {
        d += TWO_32;
        borrow = 1;
      } else {
        borrow = 0;
      }
      if (k === 3) low = d;
      else if (d !== 0) high = 1;
    }
    if (borrow === 0 && high === 0 && low < this.length) return low;
    const off = wordsToBigint(w) - this.net;
    if (off < 0n || off >= this.size) return POS_OUTSIDE;
    this.farOffset = off;
    return POS_FAR;
  }
}
