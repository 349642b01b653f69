// Netlink attributes (struct nlattr): u16 length, u16 type, payload, padded
// to 4 bytes. Integers are in host byte order (little-endian on every
// platform cnm runs on) unless an attribute says network order.
import { NLA_F_NESTED, NLA_TYPE_MASK } from '../constants.ts';

export const NLA_HDRLEN = 4;
export const align4 = (n: number): number => (n + 3) & ~3;

export function attr(type: number, value: Buffer): Buffer {
  const len = NLA_HDRLEN + value.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  value.copy(b, NLA_HDRLEN);
  return b;
}

export const attrU8 = (type: number, v: number): Buffer => attr(type, Buffer.of(v));
export function attrU16(type: number, v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return attr(type, b);
}
export function attrU16BE(type: number, v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return attr(type, b);
}
export function attrU32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return attr(type, b);
}
export const attrS32 = (type: number, v: number): Buffer => attrU32(type, v);
/** A NUL-terminated string, as the kernel's NLA_STRING / NLA_NUL_STRING want. */
export const attrStr = (type: number, s: string): Buffer => attr(type, Buffer.from(`${s}\0`, 'utf8'));
export const nest = (type: number, children: Buffer[]): Buffer => attr(type | NLA_F_NESTED, Buffer.concat(children));

const SMALL_TYPES = 128;

/**
 * Attributes of one level by type (the last one wins, as in the kernel's
 * nla_parse). Parsing records where each one is; its bytes are cut out
 * only when asked for: a link dump carries some forty attributes per link
 * (and a bridge port as many more nested), of which a few are read.
 */
export class AttrMap {
  readonly #buf: Buffer;
  // Offsets of the attributes' headers in #buf (+1; 0: absent), by type:
  // the types a message carries are small numbers, so an array is enough;
  // a larger one (there are none in rtnetlink today) goes to a Map.
  readonly #at = new Int32Array(SMALL_TYPES);
  #big: Map<number, number> | undefined;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.#buf = buf;
    let off = start;
    while (off + NLA_HDRLEN <= end) {
      const len = buf[off]! | (buf[off + 1]! << 8);
      if (len < NLA_HDRLEN || off + len > end) break; // truncated: stop, as nla_ok does
      const type = (buf[off + 2]! | (buf[off + 3]! << 8)) & NLA_TYPE_MASK;
      if (type < SMALL_TYPES) this.#at[type] = off + 1;
      else (this.#big ??= new Map()).set(type, off);
      off += align4(len);
    }
  }

  #offset(type: number): number | undefined {
    if (type >= 0 && type < SMALL_TYPES) {
      const at = this.#at[type]!;
      return at ? at - 1 : undefined;
    }
    return this.#big?.get(type);
  }

  has(type: number): boolean {
    return this.#offset(type) !== undefined;
  }

  /** The attribute's payload (a view into the message), or undefined. */
  get(type: number): Buffer | undefined {
    const off = this.#offset(type);
    return off === undefined ? undefined : this.#buf.subarray(off + NLA_HDRLEN, off + this.#buf.readUInt16LE(off));
  }
}

export function parseAttrs(buf: Buffer, start = 0, end = buf.length): AttrMap {
  return new AttrMap(buf, start, end);
}

export const u8 = (b: Buffer | undefined): number | undefined => (b && b.length >= 1 ? b.readUInt8(0) : undefined);
export const u16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16LE(0) : undefined);
export const u16be = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16BE(0) : undefined);
export const u32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);
export const s32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readInt32LE(0) : undefined);
export function str(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul === -1 ? b.length : nul);
}
