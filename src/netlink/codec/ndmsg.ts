// struct ndmsg (neighbour.h), the fixed part of RTM_*NEIGH messages (ARP/ND
// entries, and bridge/VXLAN forwarding entries with family AF_BRIDGE).
import { parseAttrs } from './attributes.ts';
import type { AttrMap } from './attributes.ts';

export const NDMSG_SIZE = 12;

export interface NdMsg { family: number; index: number; state: number; flags: number; type: number }

export function encodeNd(h: Partial<NdMsg>, attrs: Buffer[] = []): Buffer {
  const b = Buffer.alloc(NDMSG_SIZE);
  b.writeUInt8(h.family ?? 0, 0);
  b.writeInt32LE(h.index ?? 0, 4);
  b.writeUInt16LE(h.state ?? 0, 8);
  b.writeUInt8(h.flags ?? 0, 10);
  b.writeUInt8(h.type ?? 0, 11);
  return Buffer.concat([b, ...attrs]);
}

export function decodeNd(p: Buffer): { hdr: NdMsg; attrs: AttrMap } {
  return {
    hdr: { family: p.readUInt8(0), index: p.readInt32LE(4), state: p.readUInt16LE(8), flags: p.readUInt8(10), type: p.readUInt8(11) },
    attrs: parseAttrs(p, NDMSG_SIZE),
  };
}
