// UDP for the resolver through build/udpbatch.node (src/native/udpbatch/):
// when libuv says the socket is readable, the addon receives up to 32
// datagrams with one recvmmsg (on the JS thread: no hand-off between
// threads) and hands them to this file in one call; their answers go back
// with one sendmmsg. Node's dgram costs one callback and one send request per
// datagram, which capped the resolver at about Node's bare echo rate.
//
// server.ts falls back to node:dgram when the addon does not load, or when
// CNM_DNS_UDP=dgram asks for it (comparisons, tests).
import { REC, loadUdpBatch } from '../udp/batch-addon.ts';
import type { UdpBatchAddon } from '../udp/batch-addon.ts';
import type { DnsResponder } from './responder.ts';

const { HDR, LEN_AT, ADDR_AT, FAMILY_V4 } = REC;
const V4_CACHE_MAX = 4096;

/** The addon, or null when it is not built or CNM_DNS_UDP=dgram. */
export function udpBatchAddon(): UdpBatchAddon | null {
  if (process.env.CNM_DNS_UDP === 'dgram') return null;
  return loadUdpBatch();
}

/**
 * The addon whatever CNM_DNS_UDP says: the only way to serve a socket made
 * in another namespace, since node:dgram cannot adopt an fd.
 */
export function udpBatchAddonForFd(): UdpBatchAddon | null {
  return loadUdpBatch();
}

export class BatchUdpListener {
  /** Answers that could not be sent (socket buffer full after brief retries, or a send error). */
  dropped = 0;
  private readonly native: UdpBatchAddon;
  private readonly fd: number;
  private readonly responder: Pick<DnsResponder, 'handle'>;
  private handle: unknown;
  private closed = false;
  /**
   * IPv4 source (as a number) -> its text. The same few clients ask again and
   * again; reusing one string saves building it and, since V8 caches a
   * string's hash, hashing it again in the name table's Map lookup.
   */
  private readonly v4Text = new Map<number, string>();

  /**
   * Binds ip:port (throws the addon's Error with `.code`, e.g. EADDRNOTAVAIL)
   * and starts receiving; or, given an fd (a bound non-blocking UDP socket,
   * e.g. one made in a sandbox's namespace), adopts it: close() closes it.
   */
  constructor(native: UdpBatchAddon, socket: number | { ip: string; port: number; rcvbuf: number }, responder: Pick<DnsResponder, 'handle'>) {
    this.native = native;
    this.responder = responder;
    this.fd = typeof socket === 'number' ? socket : native.open(socket.ip, socket.port, socket.rcvbuf);
    try {
      this.handle = native.start(this.fd, (packed) => this.onBatch(packed));
    } catch (e) {
      native.close(this.fd);
      throw e;
    }
  }

  /**
   * Stops polling (datagrams still in the socket buffer are dropped), then
   * closes the socket. Forwarded answers that arrive later are dropped too: the fd
   * number may already belong to another socket.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.stop(this.handle);
    this.native.close(this.fd);
  }

  private onBatch(packed: Buffer): void {
    if (this.closed) return;
    const answers: Buffer[] = [];
    const from: number[] = [];
    let outLen = 0;
    for (let off = 0; off + HDR <= packed.length;) {
      const len = packed.readUInt16BE(off + LEN_AT);
      const query = packed.subarray(off + HDR, off + HDR + len);
      let r: ReturnType<DnsResponder['handle']>;
      try {
        r = this.responder.handle(query, this.sourceIp(packed, off), 'udp');
      } catch {
        r = null; // never let one packet take the server down
      }
      if (r instanceof Promise) {
        // Forwarded upstream: sent on its own when the answer comes.
        const hdr = Buffer.from(packed.subarray(off, off + HDR));
        r.then((resp) => { if (resp) this.send([resp], [0], hdr, HDR + resp.length); }, () => undefined);
      } else if (r) {
        answers.push(r);
        from.push(off);
        outLen += HDR + r.length;
      }
      off += HDR + len;
    }
    if (answers.length > 0) this.send(answers, from, packed, outLen);
  }

  /** The source address of the record at `off`, as canonical text (what the name table keys on). */
  private sourceIp(b: Buffer, off: number): string {
    const a = off + ADDR_AT;
    if (b[off] !== FAMILY_V4) return ipv6Text(b, a);
    const key = b.readUInt32BE(a);
    let text = this.v4Text.get(key);
    if (text === undefined) {
      if (this.v4Text.size >= V4_CACHE_MAX) this.v4Text.clear(); // spoofed floods must not grow memory
      text = `${b[a]}.${b[a + 1]}.${b[a + 2]}.${b[a + 3]}`;
      this.v4Text.set(key, text);
    }
    return text;
  }

  /** Packs answers[i] for the source address found at `hdrs[from[i]]`, and sends them with one sendmmsg. */
  private send(answers: Buffer[], from: number[], hdrs: Buffer, outLen: number): void {
    if (this.closed) return;
    const out = Buffer.allocUnsafe(outLen);
    let p = 0;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i] as Buffer;
      const h = from[i] as number;
      hdrs.copy(out, p, h, h + LEN_AT);
      out.writeUInt16BE(a.length, p + LEN_AT);
      a.copy(out, p + HDR);
      p += HDR + a.length;
    }
    this.dropped += answers.length - this.native.sendBatch(this.fd, out);
  }
}

/** RFC 5952 text of 16 bytes: lowercase, the longest run of 2+ zero groups (the first on a tie) as "::". */
export function ipv6Text(b: Buffer, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(at + 2 * i));
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}
