// struct ifaddrmsg (if_addr.h), the fixed part of RTM_*ADDR messages.
import { parseAttrs } from './attributes.ts';
import type { AttrMap } from './attributes.ts';

export const IFADDRMSG_SIZE = 8;

export interface IfAddrMsg { family: number; prefixLen: number; flags: number; scope: number; index: number }

export function encodeIfAddr(h: Partial<IfAddrMsg>, attrs: Buffer[] = []): Buffer {
  const b = Buffer.alloc(IFADDRMSG_SIZE);
  b.writeUInt8(h.family ?? 0, 0);
  b.writeUInt8(h.prefixLen ?? 0, 1);
  b.writeUInt8(h.flags ?? 0, 2);
  b.writeUInt8(h.scope ?? 0, 3);
  b.writeUInt32LE(h.index ?? 0, 4);
  return Buffer.concat([b, ...attrs]);
}

export function decodeIfAddr(p: Buffer): { hdr: IfAddrMsg; attrs: AttrMap } {
  return {
    hdr: { family: p.readUInt8(0), prefixLen: p.readUInt8(1), flags: p.readUInt8(2), scope: p.readUInt8(3), index: p.readUInt32LE(4) },
    attrs: parseAttrs(p, IFADDRMSG_SIZE),
  };
}
