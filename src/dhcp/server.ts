// A DHCP server on one bridge: UDP 0.0.0.0:67 bound to the bridge device
// (SO_BINDTODEVICE, so each bridge has its own socket on the same port, and
// SO_BROADCAST for replies to 255.255.255.255), read and written through the
// native batched UDP addon (src/udp/batch-addon.ts: recvmmsg when the socket
// is readable, sendmmsg from here). The decisions are server-logic.ts's; this file moves
// bytes, keeps the clock and hands lease changes to the caller to persist
// before the replies that announce them go out.
import type { Neigh } from '../netlink/types.ts';
import { REC, loadUdpBatch, packV4 } from '../udp/batch-addon.ts';
import type { UdpBatchAddon } from '../udp/batch-addon.ts';
import { LeaseTable } from './server-logic.ts';
import type { AddressPool, Lease, LeaseChange, Reply, ServerConfig } from './server-logic.ts';
import { decodeDhcp, encodeDhcp } from './wire.ts';

/** What the server needs of the namespace the bridge lives in (Netns). */
export interface DhcpNamespace {
  socket(family: 4, protocol: 'udp', address: string, port: number, opts: { device: string; broadcast: boolean }): Promise<number>;
  rtnl: { neighAdd(n: Neigh & { replace?: boolean }): Promise<void> };
}

export interface DhcpServerOptions {
  ns: DhcpNamespace;
  bridge: string;
  cfg: ServerConfig;
  pool: AddressPool;
  /** Stores lease changes; replies wait for it (an ACK names a lease that survives a crash). */
  persist(changes: LeaseChange[]): Promise<void>;
  onError?(what: string, e: unknown): void;
  /** 67 unless a test says otherwise. */
  port?: number;
  now?: () => number;
}

const { HDR } = REC;
const EXPIRE_EVERY_MS = 1000;
/** Lease changes gather this long (or up to GATHER_MAX) into one store write. */
const GATHER_MS = 2;
const GATHER_MAX = 1024;
/** A neighbour entry added for a unicast reply is not added again for this long. */
const NEIGH_FRESH_MS = 30_000;

function udpBatch(): UdpBatchAddon {
  const addon = loadUdpBatch();
  if (!addon) throw new Error('the udpbatch addon is not built (npm run build:native)');
  return addon;
}

export interface DhcpServerStats { received: number; malformed: number; replies: number; dropped: number }

export class DhcpServer {
  readonly table: LeaseTable;
  readonly stats: DhcpServerStats = { received: 0, malformed: 0, replies: 0, dropped: 0 };
  private readonly o: DhcpServerOptions;
  private readonly native: UdpBatchAddon;
  private readonly fd: number;
  private handle: unknown;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  /** Persists run one after another, in the order the changes were made. */
  private chain: Promise<void> = Promise.resolve();
  /** Changes not yet handed to the store, and the replies that wait for them. */
  private pending: { changes: LeaseChange[]; replies: Reply[] } | null = null;
  private gatherTimer: NodeJS.Timeout | undefined;
  private readonly neighbours = new Map<string, { mac: string; at: number }>();
  private readonly now: () => number;

  private constructor(o: DhcpServerOptions, fd: number, native: UdpBatchAddon) {
    this.o = o;
    this.fd = fd;
    this.native = native;
    this.now = o.now ?? Date.now;
    this.table = new LeaseTable(o.cfg, o.pool);
    this.timer = setInterval(() => this.expire(), EXPIRE_EVERY_MS);
    this.timer.unref();
  }

  /** Binds the socket on the bridge and starts answering; `restored` are the bound leases the store holds. */
  static async start(o: DhcpServerOptions, restored: Lease[]): Promise<{ server: DhcpServer; dropped: Lease[] }> {
    const native = udpBatch();
    const fd = await o.ns.socket(4, 'udp', '0.0.0.0', o.port ?? 67, { device: o.bridge, broadcast: true });
    const s = new DhcpServer(o, fd, native);
    const dropped = restored.filter((l) => !s.table.restore(l, s.now()));
    try {
      s.handle = native.start(fd, (packed) => s.onBatch(packed));
    } catch (e) {
      s.close();
      throw e;
    }
    return { server: s, dropped };
  }

  /** Stops answering and gives every address back to the pool. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // Changes gathered but not written yet are written (their replies are not sent).
    this.flushPending();
    if (this.handle !== undefined) this.native.stop(this.handle);
    this.native.close(this.fd);
    this.table.clear();
  }

  /** Waits for the changes made so far to be stored. */
  flush(): Promise<void> {
    this.flushPending();
    return this.chain;
  }

  private expire(): void {
    if (this.closed) return;
    const changes = this.table.expire(this.now());
    if (changes.length) this.persist(changes, []);
  }

  private onBatch(packed: Buffer): void {
    if (this.closed) return;
    const replies: Reply[] = [];
    const changes: LeaseChange[] = [];
    const now = this.now();
    for (let off = 0; off + HDR <= packed.length;) {
      const len = packed.readUInt16BE(off + REC.LEN_AT);
      const payload = packed.subarray(off + HDR, off + HDR + len);
      off += HDR + len;
      this.stats.received++;
      try {
        const m = decodeDhcp(payload);
        if (!m) { this.stats.malformed++; continue; }
        const r = this.table.handle(m, now);
        if (r.reply) replies.push(r.reply);
        changes.push(...r.changes);
      } catch (e) {
        // One bad packet must not take the server down.
        this.stats.malformed++;
        this.o.onError?.('message', e);
      }
    }
    if (changes.length) this.persist(changes, replies);
    else if (replies.length) void this.send(replies);
  }

  /**
   * Group commit: the store's write is synchronous and ends with an fsync,
   * so the changes of the batches arriving within GATHER_MS go into one
   * write (one fsync for many leases); the ACKs wait for it. A lone client
   * waits GATHER_MS more for its ACK, nothing a DHCP client notices.
   */
  private persist(changes: LeaseChange[], replies: Reply[]): void {
    const group = this.pending ??= { changes: [], replies: [] };
    group.changes.push(...changes);
    group.replies.push(...replies);
    if (group.changes.length >= GATHER_MAX) this.flushPending();
    else this.gatherTimer ??= setTimeout(() => this.flushPending(), GATHER_MS);
  }

  private flushPending(): void {
    if (this.gatherTimer) clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    const group = this.pending;
    this.pending = null;
    if (!group) return;
    this.chain = this.chain.then(async () => {
      try {
        await this.o.persist(group.changes);
      } catch (e) {
        // Unstored, the ACKs are not sent: the client asks again.
        this.o.onError?.('storing leases', e);
        return;
      }
      await this.send(group.replies);
    });
  }

  private async send(replies: Reply[]): Promise<void> {
    if (this.closed || !replies.length) return;
    // A unicast to an address the client does not have yet needs its MAC
    // in the neighbour table (RFC 2131 §4.1): added, else broadcast.
    const now = this.now();
    await Promise.all(replies.map(async (r) => {
      const n = r.to.neighbour;
      if (!n) return;
      const seen = this.neighbours.get(n.ip);
      if (seen && seen.mac === n.mac && now - seen.at < NEIGH_FRESH_MS) return;
      try {
        await this.o.ns.rtnl.neighAdd({ dev: this.o.bridge, ip: n.ip, mac: n.mac, permanent: false, replace: true });
        if (this.neighbours.size > 4096) this.neighbours.clear();
        this.neighbours.set(n.ip, { mac: n.mac, at: now });
      } catch {
        r.to = { ip: '255.255.255.255', port: 68 };
      }
    }));
    if (this.closed) return;
    const out = Buffer.concat(replies.map((r) => packV4(r.to.ip, r.to.port, encodeDhcp(r.msg))));
    const sent = this.native.sendBatch(this.fd, out);
    this.stats.replies += sent;
    this.stats.dropped += replies.length - sent;
  }
}
