// The batched UDP addon (build/udpbatch.node, src/native/udpbatch/): one
// recvmmsg per readable wake-up on the JS thread, one sendmmsg per batch of
// answers. The embedded DNS and both DHCP ends (server on a bridge, client in
// a sandbox) move their datagrams through it; Node's dgram cannot adopt a
// socket made in another namespace.
import { createRequire } from 'node:module';

export interface UdpBatchAddon {
  open(ip: string, port: number, rcvbuf: number): number;
  start(fd: number, onBatch: (packed: Buffer) => void): unknown;
  stop(handle: unknown): void;
  close(fd: number): void;
  sendBatch(fd: number, packed: Buffer): number;
}

/**
 * The record layout udpbatch.c packs and reads, one after another in a
 * batch: u8 family (4|6), u8 0, u16 port, 16 bytes address, u16 payload
 * length (big endian), payload.
 */
export const REC = { HDR: 22, PORT_AT: 2, ADDR_AT: 4, LEN_AT: 20, FAMILY_V4: 4 } as const;

let addon: UdpBatchAddon | null | undefined;

/** The addon, or null when it is not built. */
export function loadUdpBatch(): UdpBatchAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('../../build/udpbatch.node') as UdpBatchAddon;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** One IPv4 record: `payload` for (or from) `ip`:`port`. */
export function packV4(ip: string, port: number, payload: Buffer): Buffer {
  const rec = Buffer.alloc(REC.HDR + payload.length);
  rec[0] = REC.FAMILY_V4;
  rec.writeUInt16BE(port, REC.PORT_AT);
  ip.split('.').forEach((p, i) => { rec[REC.ADDR_AT + i] = Number(p); });
  rec.writeUInt16BE(payload.length, REC.LEN_AT);
  payload.copy(rec, REC.HDR);
  return rec;
}
