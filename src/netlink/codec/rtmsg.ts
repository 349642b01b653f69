// struct rtmsg (rtnetlink.h), the fixed part of RTM_*ROUTE messages.
import { parseAttrs } from './attributes.ts';
import type { AttrMap } from './attributes.ts';

export const RTMSG_SIZE = 12;

export interface RtMsg {
  family: number; dstLen: number; srcLen: number; tos: number;
  table: number; protocol: number; scope: number; type: number; flags: number;
}

export function encodeRt(h: Partial<RtMsg>, attrs: Buffer[] = []): Buffer {
  const b = Buffer.alloc(RTMSG_SIZE);
  b.writeUInt8(h.family ?? 0, 0);
  b.writeUInt8(h.dstLen ?? 0, 1);
  b.writeUInt8(h.srcLen ?? 0, 2);
  b.writeUInt8(h.tos ?? 0, 3);
  b.writeUInt8(h.table ?? 0, 4);
  b.writeUInt8(h.protocol ?? 0, 5);
  b.writeUInt8(h.scope ?? 0, 6);
  b.writeUInt8(h.type ?? 0, 7);
  b.writeUInt32LE((h.flags ?? 0) >>> 0, 8);
  return Buffer.concat([b, ...attrs]);
}

export function decodeRt(p: Buffer): { hdr: RtMsg; attrs: AttrMap } {
  return {
    hdr: {
      family: p.readUInt8(0), dstLen: p.readUInt8(1), srcLen: p.readUInt8(2), tos: p.readUInt8(3),
      table: p.readUInt8(4), protocol: p.readUInt8(5), scope: p.readUInt8(6), type: p.readUInt8(7), flags: p.readUInt32LE(8),
    },
    attrs: parseAttrs(p, RTMSG_SIZE),
  };
}
