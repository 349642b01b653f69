// The resolver's sockets: UDP and TCP port 53 on each network's gateway
// address, in the namespace of the process (the daemon's "host" namespace).
// Addresses come and go with networks at runtime.
//
// Sandboxes whose interfaces cannot reach the host (macvlan, ipvlan) get a
// listener of their own instead, inside their namespace (127.0.0.11, as in
// Docker): the daemon makes the sockets there and hands their fds to
// addSandbox(); such a listener answers every query as its sandbox's.
//
// UDP goes through the native batched path (udp-batch.ts: recvmmsg/sendmmsg)
// when build/udpbatch.node loads, else through node:dgram;
// CNM_DNS_UDP=dgram forces dgram. Both hand each query to the same
// responder, so answers are the same. TCP is always node:net.
import { createSocket } from 'node:dgram';
import { close as closeFd } from 'node:fs';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6 } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { DnsError } from './errors.ts';
import { canonicalIp } from './ip.ts';
import type { DnsResponder } from './responder.ts';
import { SourceScope } from './scope.ts';
import { serveTcpConnection } from './tcp-conn.ts';
import type { TcpLimits } from './tcp-conn.ts';
import { BatchUdpListener, udpBatchAddon, udpBatchAddonForFd } from './udp-batch.ts';
import { DNS_PORT } from './upstream.ts';

export interface DnsServerOptions {
  responder: DnsResponder;
  /** 53 unless a test says otherwise. */
  port?: number;
  /**
   * maxConnections: per address; maxPerSource: open connections one client
   * address may hold on one listener, so no client (or a few) can take all.
   */
  tcp?: Partial<TcpLimits> & { maxConnections?: number; maxPerSource?: number };
  /** Socket receive buffer, bytes: room for bursts while the loop is busy. */
  udpRecvBuffer?: number;
}

interface Listener { udp: UdpSocket | BatchUdpListener; tcp: TcpServer; conns: Set<Socket> }
type Handler = Pick<DnsResponder, 'handle'>;

export class DnsServer {
  readonly port: number;
  private readonly responder: DnsResponder;
  private readonly limits: TcpLimits;
  private readonly maxConnections: number;
  private readonly maxPerSource: number;
  private readonly udpRecvBuffer: number;
  private readonly listeners = new Map<string, Listener>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly sandboxListeners = new Map<string, Listener>();
  private readonly sandboxStarting = new Map<string, Promise<void>>();
  private closed = false;

  constructor(opts: DnsServerOptions) {
    this.responder = opts.responder;
    this.port = opts.port ?? DNS_PORT;
    this.limits = { idleMs: opts.tcp?.idleMs ?? 10_000, maxPending: opts.tcp?.maxPending ?? 64 };
    this.maxConnections = opts.tcp?.maxConnections ?? 256;
    this.maxPerSource = opts.tcp?.maxPerSource ?? 16;
    this.udpRecvBuffer = opts.udpRecvBuffer ?? 4 << 20;
  }

  addresses(): string[] { return [...this.listeners.keys()]; }

  /** Which UDP path new addresses use: 'batch' (native recvmmsg/sendmmsg) or 'dgram'. */
  udpMode(): 'batch' | 'dgram' { return udpBatchAddon() ? 'batch' : 'dgram'; }

  /**
   * Starts answering on `ip` (UDP and TCP). The address must already be on
   * an interface of this namespace. Idempotent. With `subnets` (the
   * network's), only clients in them are served: others' UDP queries are
   * dropped and their TCP connections closed at once (scope.ts).
   */
  async addAddress(ip: string, opts: { subnets?: string[] } = {}): Promise<void> {
    if (this.closed) throw new DnsError({ code: 'SERVER_CLOSED' });
    const addr = canonicalIp(ip);
    if (this.listeners.has(addr)) return;
    const inProgress = this.starting.get(addr);
    if (inProgress) return inProgress;
    const scope = opts.subnets ? new SourceScope(opts.subnets) : null;
    const p = this.listen(addr, scope).finally(() => this.starting.delete(addr));
    this.starting.set(addr, p);
    return p;
  }

  /** Stops answering on `ip`, closing its sockets and open TCP connections. */
  async removeAddress(ip: string): Promise<void> {
    const addr = canonicalIp(ip);
    await this.starting.get(addr)?.catch(() => undefined);
    const l = this.listeners.get(addr);
    if (!l) return;
    this.listeners.delete(addr);
    await closeListener(l);
  }

  /** Sandboxes with a listener of their own (addSandbox). */
  sandboxes(): string[] { return [...this.sandboxListeners.keys()]; }

  /**
   * Serves one sandbox on sockets made in its namespace: `udp` a bound UDP
   * fd, `tcp` a bound TCP fd (not listening yet); this server owns both from
   * now on, also when it throws. Every query is answered as `sandboxId`'s
   * (responder.handleAs), so no source address scoping applies: only that
   * namespace can reach these sockets. `address` names them in errors.
   * A second call for the same sandbox closes the new fds and keeps the old.
   */
  async addSandbox(sandboxId: string, fds: { udp: number; tcp: number; address: string; port: number }): Promise<void> {
    const before = this.sandboxStarting.get(sandboxId);
    const p = (async () => {
      await before?.catch(() => undefined);
      await this.startSandbox(sandboxId, fds);
    })();
    const tracked = p.finally(() => { if (this.sandboxStarting.get(sandboxId) === tracked) this.sandboxStarting.delete(sandboxId); });
    this.sandboxStarting.set(sandboxId, tracked);
    return tracked;
  }

  private async startSandbox(sandboxId: string, fds: { udp: number; tcp: number; address: string; port: number }): Promise<void> {
    const native = udpBatchAddonForFd();
    const { address, port } = fds;
    if (this.closed || this.sandboxListeners.has(sandboxId) || !native) {
      closeFd(fds.udp, () => undefined);
      closeFd(fds.tcp, () => undefined);
      if (this.closed) throw new DnsError({ code: 'SERVER_CLOSED' });
      if (!native) {
        // node:dgram cannot adopt an fd; only the native path can.
        throw new DnsError({ code: 'BIND', address, port, transport: 'udp' }, { cause: new Error('build/udpbatch.node is not built') });
      }
      return;
    }
    const inner = this.responder;
    const responder: Handler = { handle: (q, _ip, t) => inner.handleAs(q, sandboxId, t) };
    let udp: BatchUdpListener;
    try {
      udp = new BatchUdpListener(native, fds.udp, responder);
    } catch (cause) {
      closeFd(fds.tcp, () => undefined);
      throw new DnsError({ code: 'BIND', address, port, transport: 'udp' }, { cause });
    }
    const listener = await this.serveTcp(udp, { fd: fds.tcp }, { address, port }, null, responder);
    if (this.closed || this.sandboxListeners.has(sandboxId)) {
      await closeListener(listener);
      if (this.closed) throw new DnsError({ code: 'SERVER_CLOSED' });
      return;
    }
    this.sandboxListeners.set(sandboxId, listener);
  }

  /** Stops serving a sandbox: closes its sockets (which hold its namespace) and open connections. */
  async removeSandbox(sandboxId: string): Promise<void> {
    await this.sandboxStarting.get(sandboxId)?.catch(() => undefined);
    const l = this.sandboxListeners.get(sandboxId);
    if (!l) return;
    this.sandboxListeners.delete(sandboxId);
    await closeListener(l);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.starting.values(), ...this.sandboxStarting.values()]);
    const all = [...this.listeners.values(), ...this.sandboxListeners.values()];
    this.listeners.clear();
    this.sandboxListeners.clear();
    await Promise.all(all.map(closeListener));
  }

  private async listen(addr: string, scope: SourceScope | null): Promise<void> {
    const native = udpBatchAddon();
    const inner = this.responder;
    const responder: Handler = scope
      ? { handle: (q, ip, t) => (scope.allows(ip) ? inner.handle(q, ip, t) : null) }
      : inner;
    let udp: UdpSocket | BatchUdpListener;
    try {
      udp = native
        ? await bindRetrying(addr, () => new BatchUdpListener(native, { ip: addr, port: this.port, rcvbuf: this.udpRecvBuffer }, responder))
        : await bindDgram(addr, this.port, this.udpRecvBuffer, responder);
    } catch (cause) {
      throw new DnsError({ code: 'BIND', address: addr, port: this.port, transport: 'udp' }, { cause });
    }
    const listener = await this.serveTcp(udp, { host: addr, port: this.port, exclusive: true }, { address: addr, port: this.port }, scope, responder);
    if (this.closed) {
      // close() ran while we were binding; it waits for us, so close here
      // rather than through removeAddress (which would wait for us too).
      await closeListener(listener);
      throw new DnsError({ code: 'SERVER_CLOSED' });
    }
    this.listeners.set(addr, listener);
  }

  /** Listens for TCP (an address, or an fd made elsewhere) next to `udp`; closes `udp` when it cannot. */
  private async serveTcp(udp: UdpSocket | BatchUdpListener, where: { host: string; port: number; exclusive: boolean } | { fd: number },
    named: { address: string; port: number }, scope: SourceScope | null, responder: Handler): Promise<Listener> {
    // allowHalfOpen: a client may send its queries and shut its side (FIN)
    // before forwarded answers are ready; we end ours once they are sent.
    const tcp = createServer({ noDelay: true, allowHalfOpen: true });
    const conns = new Set<Socket>();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ ...where, backlog: 511 }, () => { tcp.off('error', reject); resolve(); });
      });
    } catch (cause) {
      udp.close();
      throw new DnsError({ code: 'BIND', ...named, transport: 'tcp' }, { cause });
    }
    tcp.maxConnections = this.maxConnections;
    const perSource = new Map<string, number>();
    tcp.on('connection', (sock) => {
      const ip = sock.remoteAddress ?? '';
      const n = perSource.get(ip) ?? 0;
      if ((scope && !scope.allows(ip)) || n >= this.maxPerSource) {
        sock.destroy();
        return;
      }
      perSource.set(ip, n + 1);
      conns.add(sock);
      sock.on('close', () => {
        conns.delete(sock);
        const left = (perSource.get(ip) ?? 1) - 1;
        if (left > 0) perSource.set(ip, left);
        else perSource.delete(ip);
      });
      serveTcpConnection(sock, responder, this.limits);
    });
    tcp.on('error', () => undefined);
    return { udp, tcp, conns };
  }
}

// A new IPv6 address is "tentative" until duplicate address detection ends
// (about a second, RFC 4862), and binding it fails with EADDRNOTAVAIL until
// then; the daemon may add the gateway with nodad, but if not, we wait.
const BIND_RETRIES = 15;
const BIND_RETRY_MS = 200;

async function bindRetrying<T>(addr: string, bind: () => T | Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await bind();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL' || !isIPv6(addr) || attempt >= BIND_RETRIES) throw e;
      await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
    }
  }
}

/** The node:dgram path: one 'message' event and one send per datagram. */
async function bindDgram(addr: string, port: number, recvBuffer: number, responder: Handler): Promise<UdpSocket> {
  const udp = createSocket({ type: isIPv6(addr) ? 'udp6' : 'udp4' });
  try {
    await bindRetrying(addr, () => new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: addr, port, exclusive: true }, () => { udp.off('error', reject); resolve(); });
    }));
  } catch (e) {
    udp.close();
    throw e;
  }
  try { udp.setRecvBufferSize(recvBuffer); } catch { /* capped by net.core.rmem_max: keep the default */ }
  udp.on('error', () => undefined); // e.g. ICMP port unreachable from a gone client: nothing to do
  udp.on('message', (msg, rinfo) => {
    let r: ReturnType<DnsResponder['handle']>;
    try {
      r = responder.handle(msg, rinfo.address, 'udp');
    } catch {
      return; // never let one packet take the server down
    }
    if (r === null) return;
    if (r instanceof Promise) {
      r.then((resp) => { if (resp) sendUdp(udp, resp, rinfo.port, rinfo.address); }, () => undefined);
    } else {
      sendUdp(udp, r, rinfo.port, rinfo.address);
    }
  });
  return udp;
}

/** A forwarded answer may come back after its address was removed (socket closed): drop it. */
function sendUdp(udp: UdpSocket, msg: Buffer, port: number, address: string): void {
  try {
    udp.send(msg, port, address);
  } catch { /* socket closed meanwhile */ }
}

async function closeListener(l: Listener): Promise<void> {
  for (const c of l.conns) c.destroy();
  await Promise.all([
    new Promise<void>((res) => {
      const udp = l.udp;
      if (udp instanceof BatchUdpListener) { udp.close(); res(); return; }
      try { udp.close(() => res()); } catch { res(); }
    }),
    new Promise<void>((res) => l.tcp.close(() => res())),
  ]);
}
