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

/** Attributes of one level by type (the last one wins, as in the kernel's nla_parse). */
export type AttrMap = Map<number, Buffer>;

export function parseAttrs(buf: Buffer, start = 0, end = buf.length): AttrMap {
  const out: AttrMap = new Map();
  let off = start;
  while (off + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > end) break; // truncated: stop, as nla_ok does
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
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
