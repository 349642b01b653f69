// The client's UDP port 68 on one interface of one namespace. The socket is
// made inside the namespace (Netns.socket: bound to 0.0.0.0:68, SO_BINDTODEVICE
// so several interfaces of a sandbox each have their own, SO_BROADCAST for
// 255.255.255.255), and read and written through the udpbatch addon: Node's
// dgram cannot adopt an fd made elsewhere.
import { REC, loadUdpBatch, packV4 } from '../udp/batch-addon.ts';
import type { UdpBatchAddon } from '../udp/batch-addon.ts';
import { decodeDhcp, encodeDhcp } from './wire.ts';
import type { DhcpMessage } from './wire.ts';

/** What the client needs of a namespace: a socket made inside it (Netns.socket). */
export interface SocketSource {
  socket(family: 4, protocol: 'udp', address: string, port: number, opts: { device?: string; broadcast?: boolean }): Promise<number>;
}

const { HDR, LEN_AT, ADDR_AT, PORT_AT, FAMILY_V4 } = REC;
export const CLIENT_PORT = 68;
export const SERVER_PORT = 67;
export const BROADCAST = '255.255.255.255';

function udpbatch(): UdpBatchAddon {
  const addon = loadUdpBatch();
  if (!addon) throw new Error('the udpbatch addon is not built (npm run build:native)');
  return addon;
}

export class DhcpPort {
  private readonly native: UdpBatchAddon;
  private readonly fd: number;
  private readonly handle: unknown;
  private closed = false;
  private listener: ((m: DhcpMessage, from: string) => void) | null = null;

  private constructor(native: UdpBatchAddon, fd: number) {
    this.native = native;
    this.fd = fd;
    try {
      this.handle = native.start(fd, (packed) => this.onBatch(packed));
    } catch (e) {
      native.close(fd);
      throw e;
    }
  }

  /** Binds 0.0.0.0:68 on `ifName` inside the namespace and starts receiving. */
  static async open(ns: SocketSource, ifName: string): Promise<DhcpPort> {
    const native = udpbatch();
    const fd = await ns.socket(4, 'udp', '0.0.0.0', CLIENT_PORT, { device: ifName, broadcast: true });
    return new DhcpPort(native, fd);
  }

  /** Well-formed DHCP replies go to `fn`; anything else is dropped. */
  onMessage(fn: (m: DhcpMessage, from: string) => void): void {
    this.listener = fn;
  }

  /** Sends one message to `to`:67; false when the kernel refused it (no route, buffer full). */
  send(m: DhcpMessage, to: string): boolean {
    if (this.closed) return false;
    return this.native.sendBatch(this.fd, packV4(to, SERVER_PORT, encodeDhcp(m))) === 1;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.stop(this.handle);
    this.native.close(this.fd);
  }

  private onBatch(packed: Buffer): void {
    for (let off = 0; off + HDR <= packed.length;) {
      const len = packed.readUInt16BE(off + LEN_AT);
      if (!this.closed && packed[off] === FAMILY_V4 && packed.readUInt16BE(off + PORT_AT) === SERVER_PORT) {
        const m = decodeDhcp(packed.subarray(off + HDR, off + HDR + len));
        const a = off + ADDR_AT;
        if (m) this.listener?.(m, `${packed[a]}.${packed[a + 1]}.${packed[a + 2]}.${packed[a + 3]}`);
      }
      off += HDR + len;
    }
  }
}
