// struct ifinfomsg (rtnetlink.h), the fixed part of RTM_*LINK messages.
import { parseAttrs } from './attributes.ts';
import type { AttrMap } from './attributes.ts';

export const IFINFOMSG_SIZE = 16;

export interface IfInfoMsg { family: number; type: number; index: number; flags: number; change: number }

export function encodeIfInfo(h: Partial<IfInfoMsg>, attrs: Buffer[] = []): Buffer {
  const b = Buffer.alloc(IFINFOMSG_SIZE);
  b.writeUInt8(h.family ?? 0, 0);
  b.writeUInt16LE(h.type ?? 0, 2);
  b.writeInt32LE(h.index ?? 0, 4);
  b.writeUInt32LE((h.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((h.change ?? 0) >>> 0, 12);
  return Buffer.concat([b, ...attrs]);
}

export function decodeIfInfo(p: Buffer): { hdr: IfInfoMsg; attrs: AttrMap } {
  return {
    hdr: { family: p.readUInt8(0), type: p.readUInt16LE(2), index: p.readInt32LE(4), flags: p.readUInt32LE(8), change: p.readUInt32LE(12) },
    attrs: parseAttrs(p, IFINFOMSG_SIZE),
  };
}
