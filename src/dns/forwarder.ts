// Forwarding to upstream servers: one server at a time, in order; on
// SERVFAIL, REFUSED, a timeout or a send error the next one is asked (Docker
// and glibc fail over the same way); any other answer, NXDOMAIN included, is
// final. A bound on queries in flight keeps a flood of unanswerable names
// from holding memory and sockets: past it the client gets SERVFAIL at once.
//
// UDP goes out from a small pool of sockets, each on its own random
// ephemeral port, with a random query ID: an off-path attacker has to guess
// both (RFC 5452). A reply counts only if it comes from the server asked and
// echoes our question byte for byte.
//
// Truncation: a truncated UDP reply for a client that asked over UDP is
// passed on as is (the client retries over TCP, and then so do we); for a
// client on TCP we ask the same server again over TCP.
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket, RemoteInfo } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import { FLAG_QR, FLAG_TC, HEADER_LEN, RCODE_REFUSED, RCODE_SERVFAIL } from './constants.ts';
import type { Upstream } from './upstream.ts';

export interface ForwarderOptions {
  /** Per server attempt. glibc's stub waits 5 s for all of it, so 3 servers x 1.5 s fit. */
  timeoutMs?: number;
  maxInFlight?: number;
  socketsPerFamily?: number;
}

interface Pending { server: Upstream; question: Buffer; resolve: (b: Buffer | null) => void; timer: NodeJS.Timeout }

interface PoolSocket { sock: UdpSocket; pending: Map<number, Pending>; ready: Promise<void> }

export class Forwarder {
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly socketsPerFamily: number;
  private readonly pools: Record<'udp4' | 'udp6', PoolSocket[]> = { udp4: [], udp6: [] };
  private inFlightCount = 0;
  private closed = false;

  constructor(opts: ForwarderOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 1500;
    this.maxInFlight = opts.maxInFlight ?? 1024;
    this.socketsPerFamily = opts.socketsPerFamily ?? 4;
  }

  get inFlight(): number { return this.inFlightCount; }

  /**
   * Asks `servers` in turn. Resolves to the first final reply (its ID is
   * ours, the caller puts the client's back) or null when every server
   * failed, nothing is configured or too many queries are in flight.
   * `questionEnd` is the offset just past the question in `query`.
   */
  async forward(query: Buffer, questionEnd: number, servers: Upstream[], clientTcp: boolean): Promise<Buffer | null> {
    if (this.closed || servers.length === 0 || this.inFlightCount >= this.maxInFlight) return null;
    this.inFlightCount++;
    try {
      const question = Buffer.from(query.subarray(HEADER_LEN, questionEnd));
      for (const server of servers) {
        let reply = await this.askUdp(query, question, server);
        if (reply && clientTcp && ((reply.readUInt16BE(2) & FLAG_TC) !== 0)) reply = await this.askTcp(query, question, server);
        if (!reply) continue;
        const rcode = reply.readUInt16BE(2) & 0xf;
        if (rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED) continue;
        return reply;
      }
      return null;
    } finally {
      this.inFlightCount--;
    }
  }

  close(): void {
    this.closed = true;
    for (const pool of [this.pools.udp4, this.pools.udp6]) {
      for (const p of pool) {
        for (const pend of p.pending.values()) { clearTimeout(pend.timer); pend.resolve(null); }
        p.pending.clear();
        try { p.sock.close(); } catch { /* already closed */ }
      }
      pool.length = 0;
    }
  }

  private poolSocket(family: 'udp4' | 'udp6'): PoolSocket {
    const pool = this.pools[family];
    if (pool.length < this.socketsPerFamily) {
      const sock = createSocket(family);
      const p: PoolSocket = { sock, pending: new Map(), ready: new Promise((res) => sock.bind(0, () => res())) };
      sock.on('message', (msg, rinfo) => onReply(p, msg, rinfo));
      sock.on('error', () => undefined); // ICMP errors and the like: the timeout handles them
      sock.unref();
      pool.push(p);
      return p;
    }
    return pool[Math.floor(Math.random() * pool.length)] as PoolSocket;
  }

  private async askUdp(query: Buffer, question: Buffer, server: Upstream): Promise<Buffer | null> {
    const p = this.poolSocket(isIPv6(server.address.split('%')[0] ?? '') ? 'udp6' : 'udp4');
    await p.ready;
    let id = Math.floor(Math.random() * 0x10000);
    while (p.pending.has(id)) id = (id + 1) & 0xffff;
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { p.pending.delete(id); resolve(null); }, this.timeoutMs);
      p.pending.set(id, { server, question, resolve, timer });
      p.sock.send(out, server.port, server.address, (err) => {
        if (err && p.pending.get(id)?.timer === timer) { clearTimeout(timer); p.pending.delete(id); resolve(null); }
      });
    });
  }

  private askTcp(query: Buffer, question: Buffer, server: Upstream): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const id = Math.floor(Math.random() * 0x10000);
      const out = Buffer.allocUnsafe(2 + query.length);
      out.writeUInt16BE(query.length, 0);
      query.copy(out, 2);
      out.writeUInt16BE(id, 2);
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (r: Buffer | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => finish(null), this.timeoutMs);
      const sock = connect({ host: server.address, port: server.port }, () => sock.write(out));
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const msg = buf.subarray(2, 2 + len);
        finish(acceptable(msg, id, question) ? Buffer.from(msg) : null);
      });
      sock.on('error', () => finish(null));
      sock.on('close', () => finish(null));
    });
  }
}

function onReply(p: PoolSocket, msg: Buffer, rinfo: RemoteInfo): void {
  if (msg.length < HEADER_LEN) return;
  const id = msg.readUInt16BE(0);
  const pend = p.pending.get(id);
  if (!pend) return;
  if (rinfo.port !== pend.server.port || rinfo.address !== pend.server.address.split('%')[0]) return;
  if (!acceptable(msg, id, pend.question)) return;
  p.pending.delete(id);
  clearTimeout(pend.timer);
  pend.resolve(msg);
}

/** A reply to our query: our ID, QR set, our question echoed exactly. */
function acceptable(msg: Buffer, id: number, question: Buffer): boolean {
  if (msg.length < HEADER_LEN || msg.readUInt16BE(0) !== id || (msg.readUInt16BE(2) & FLAG_QR) === 0) return false;
  // Some servers leave the question out of error replies; such a reply can
  // only make us try the next server, so it needs no further proof.
  if (msg.readUInt16BE(4) === 0) return (msg.readUInt16BE(2) & 0xf) !== 0;
  if (msg.readUInt16BE(4) !== 1 || msg.length < HEADER_LEN + question.length) return false;
  return msg.compare(question, 0, question.length, HEADER_LEN, HEADER_LEN + question.length) === 0;
}
