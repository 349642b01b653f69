// The DHCP server's decisions (RFC 2131 §4.3), without sockets, clocks or
// storage: a lease table that turns one client message into at most one
// reply and the lease changes to persist. Addresses come from a pool the
// caller supplies (the network's IPAM allocator), so leases, static
// endpoints, the gateway and aux addresses share one set of used addresses.
import {
  BOOTREPLY, FLAG_BROADCAST, MSG, OPT, clientKey, messageType, newMessage, optByte, optIp, optIps, optText, optU32,
  readIp, readText,
} from './wire.ts';
import type { DhcpMessage } from './wire.ts';

/** Where addresses come from: the caller's IPAM allocator. */
export interface AddressPool {
  /** Takes `ip` when it is free and a client may get it (inside the range, not reserved). */
  take(ip: string): boolean;
  /** Takes the next free address of the range; null when none is left. */
  takeNext(): string | null;
  /** Gives an address back. */
  free(ip: string): void;
  /** Whether `ip` is an address of this network's subnet (for INIT-REBOOT checks). */
  inSubnet(ip: string): boolean;
}

export interface Lease {
  /** clientKey(): option 61, else the hardware address. */
  key: string;
  ip: string;
  chaddr: string;
  /** The client's host name (option 12), when it sent a usable one. */
  hostname?: string;
  state: 'offered' | 'bound';
  /** Milliseconds since the epoch. */
  expires: number;
}

export interface ServerConfig {
  /** The server identifier (option 54): the bridge's gateway address. */
  serverId: string;
  mask: string;
  /** Option 3; null on a network with no way out. */
  router: string | null;
  dns: string[];
  /** Seconds (option 51). */
  leaseSecs: number;
  domain?: string;
  /** How long an OFFER keeps its address for the client (RFC 2131 §4.3.1 "reserve"). */
  offerHoldMs?: number;
  /** How long a DECLINEd address stays out of use (RFC 2131 §4.3.3: "mark as not available"). */
  declineHoldMs?: number;
}

/** Where a reply goes (RFC 2131 §4.1). */
export interface Destination {
  ip: string;
  port: number;
  /** Unicast to an address the client does not answer ARP for yet: the caller adds a neighbour entry first. */
  neighbour?: { ip: string; mac: string };
}

export interface Reply { msg: DhcpMessage; to: Destination }

/** A lease change to persist (and to publish in the DNS). */
export type LeaseChange = { bound: Lease } | { gone: Lease };

export interface Outcome { reply: Reply | null; changes: LeaseChange[] }

const NONE: Outcome = { reply: null, changes: [] };
const BROADCAST = '255.255.255.255';
const ZERO = '0.0.0.0';
/** A host name is published in the DNS only when it is one plain label. */
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export class LeaseTable {
  readonly byKey = new Map<string, Lease>();
  readonly byIp = new Map<string, Lease>();
  /** Declined addresses and when they may be used again. */
  readonly declined = new Map<string, number>();
  private readonly cfg: Required<Omit<ServerConfig, 'domain'>> & { domain?: string };
  private readonly pool: AddressPool;

  constructor(cfg: ServerConfig, pool: AddressPool) {
    this.cfg = { offerHoldMs: 30_000, declineHoldMs: 600_000, ...cfg };
    this.pool = pool;
  }

  /** Puts back a bound lease read from the store; false when its address is taken (dropped). */
  restore(l: Lease, now: number): boolean {
    if (l.expires <= now || this.byKey.has(l.key) || this.byIp.has(l.ip) || !this.pool.take(l.ip)) return false;
    this.add({ ...l, state: 'bound' });
    return true;
  }

  /** One client message; never throws for anything a client can send. */
  handle(m: DhcpMessage, now: number): Outcome {
    if (m.op !== 1 || m.hlen > 16) return NONE;
    this.expireKey(clientKey(m), now);
    switch (messageType(m)) {
      case MSG.DISCOVER: return this.discover(m, now);
      case MSG.REQUEST: return this.request(m, now);
      case MSG.DECLINE: return this.decline(m, now);
      case MSG.RELEASE: return this.release(m);
      case MSG.INFORM: return { reply: this.reply(m, MSG.ACK, null), changes: [] };
      default: return NONE;
    }
  }

  /** Ends leases and offers past their time, and declines past their hold. */
  expire(now: number): LeaseChange[] {
    const out: LeaseChange[] = [];
    for (const l of [...this.byKey.values()]) {
      if (l.expires > now) continue;
      this.remove(l);
      if (l.state === 'bound') out.push({ gone: l });
    }
    for (const [ip, until] of [...this.declined]) {
      if (until > now) continue;
      this.declined.delete(ip);
      this.pool.free(ip);
    }
    return out;
  }

  /** Gives every address back (the network goes). */
  clear(): void {
    for (const l of [...this.byKey.values()]) this.remove(l);
    for (const ip of this.declined.keys()) this.pool.free(ip);
    this.declined.clear();
  }

  private discover(m: DhcpMessage, now: number): Outcome {
    const key = clientKey(m);
    let lease = this.byKey.get(key);
    if (!lease) {
      // Its previous binding is kept above; then the address it asks for; then the next free.
      const want = readIp(m, OPT.REQUESTED_IP);
      const ip = (want && this.pool.take(want) ? want : null) ?? this.pool.takeNext();
      if (!ip) return NONE; // full: a client retries, another server may answer
      lease = { key, ip, chaddr: m.chaddr, state: 'offered', expires: now + this.cfg.offerHoldMs };
      this.add(lease);
    } else if (lease.state === 'offered') {
      lease.expires = now + this.cfg.offerHoldMs;
    }
    const host = hostName(m);
    if (host) lease.hostname = host;
    return { reply: this.reply(m, MSG.OFFER, lease), changes: [] };
  }

  private request(m: DhcpMessage, now: number): Outcome {
    const key = clientKey(m);
    const sid = readIp(m, OPT.SERVER_ID);
    const want = readIp(m, OPT.REQUESTED_IP);
    const lease = this.byKey.get(key);
    if (sid !== undefined) {
      // SELECTING (§4.3.2): the client chose a server.
      if (sid !== this.cfg.serverId) {
        if (lease?.state === 'offered') this.remove(lease);
        return NONE;
      }
      const ip = want ?? (m.ciaddr !== ZERO ? m.ciaddr : undefined);
      if (!ip) return this.nak(m);
      if (lease && lease.ip === ip) return this.bind(m, lease, now);
      // The offer lapsed: the address is still good if nobody took it meanwhile.
      if (!lease && !this.byIp.has(ip) && !this.declined.has(ip) && this.pool.take(ip)) {
        const l: Lease = { key, ip, chaddr: m.chaddr, state: 'offered', expires: now };
        this.add(l);
        return this.bind(m, l, now);
      }
      return this.nak(m);
    }
    if (m.ciaddr === ZERO) {
      // INIT-REBOOT: the client checks an address it remembers.
      if (!want) return NONE;
      if (!this.pool.inSubnet(want)) return this.nak(m);
      const holder = this.byIp.get(want);
      if (holder && holder.key !== key) return this.nak(m);
      if (holder) return this.bind(m, holder, now);
      if (lease) return this.nak(m); // we know this client with another address
      return NONE; // no record: another server may know it (§4.3.2)
    }
    // RENEWING (unicast) or REBINDING (broadcast): extend what is ours.
    if (lease && lease.ip === m.ciaddr && lease.state === 'bound') return this.bind(m, lease, now);
    return this.nak(m);
  }

  private decline(m: DhcpMessage, now: number): Outcome {
    const sid = readIp(m, OPT.SERVER_ID);
    if (sid !== undefined && sid !== this.cfg.serverId) return NONE;
    const lease = this.byKey.get(clientKey(m));
    const ip = readIp(m, OPT.REQUESTED_IP);
    if (!lease || !ip || lease.ip !== ip) return NONE;
    // The address answers ARP for someone else: out of use for a while,
    // still taken in the pool so no one else gets it either.
    this.byKey.delete(lease.key);
    this.byIp.delete(lease.ip);
    this.declined.set(ip, now + this.cfg.declineHoldMs);
    return { reply: null, changes: lease.state === 'bound' ? [{ gone: lease }] : [] };
  }

  private release(m: DhcpMessage): Outcome {
    const lease = this.byKey.get(clientKey(m));
    if (!lease || lease.ip !== m.ciaddr) return NONE;
    this.remove(lease);
    return { reply: null, changes: lease.state === 'bound' ? [{ gone: lease }] : [] };
  }

  private bind(m: DhcpMessage, lease: Lease, now: number): Outcome {
    lease.state = 'bound';
    lease.expires = now + this.cfg.leaseSecs * 1000;
    lease.chaddr = m.chaddr;
    const host = hostName(m);
    if (host) lease.hostname = host;
    return { reply: this.reply(m, MSG.ACK, lease), changes: [{ bound: { ...lease } }] };
  }

  private nak(m: DhcpMessage): Outcome {
    return { reply: this.reply(m, MSG.NAK, null), changes: [] };
  }

  /** A lease or offer past its time is gone before the client's message is looked at. */
  private expireKey(key: string, now: number): void {
    const l = this.byKey.get(key);
    if (l && l.expires <= now && l.state === 'offered') this.remove(l);
  }

  private add(l: Lease): void {
    this.byKey.set(l.key, l);
    this.byIp.set(l.ip, l);
  }

  private remove(l: Lease): void {
    if (this.byKey.get(l.key) === l) this.byKey.delete(l.key);
    if (this.byIp.get(l.ip) === l) {
      this.byIp.delete(l.ip);
      this.pool.free(l.ip);
    }
  }

  private reply(m: DhcpMessage, type: number, lease: Lease | null): Reply {
    const c = this.cfg;
    const r = newMessage(BOOTREPLY, {
      htype: m.htype, hlen: m.hlen, xid: m.xid, flags: m.flags, giaddr: m.giaddr, chaddr: m.chaddr,
      ciaddr: type === MSG.NAK ? ZERO : m.ciaddr,
      yiaddr: lease && type !== MSG.NAK ? lease.ip : ZERO,
    });
    const o = r.options;
    o.set(OPT.MESSAGE_TYPE, optByte(type));
    o.set(OPT.SERVER_ID, optIp(c.serverId));
    const id = m.options.get(OPT.CLIENT_ID);
    if (id) o.set(OPT.CLIENT_ID, id); // RFC 6842
    if (type !== MSG.NAK) {
      if (lease) {
        o.set(OPT.LEASE_TIME, optU32(c.leaseSecs));
        o.set(OPT.RENEWAL_T1, optU32(Math.floor(c.leaseSecs / 2)));
        o.set(OPT.REBINDING_T2, optU32(Math.floor((c.leaseSecs * 7) / 8)));
      }
      o.set(OPT.SUBNET_MASK, optIp(c.mask));
      if (c.router) o.set(OPT.ROUTERS, optIp(c.router));
      if (c.dns.length) o.set(OPT.DNS_SERVERS, optIps(c.dns));
      if (lease?.hostname) o.set(OPT.HOST_NAME, optText(lease.hostname));
      if (c.domain) o.set(OPT.DOMAIN_NAME, optText(c.domain));
    } else {
      o.set(OPT.MESSAGE, optText('address not available'));
    }
    return { msg: r, to: destination(m, type, lease) };
  }
}

/** RFC 2131 §4.1: relay, else ciaddr, else broadcast when asked (or a NAK), else unicast to chaddr. */
export function destination(m: DhcpMessage, type: number, lease: Lease | null): Destination {
  if (m.giaddr !== ZERO) return { ip: m.giaddr, port: 67 };
  if (type === MSG.NAK) return { ip: BROADCAST, port: 68 };
  if (m.ciaddr !== ZERO) return { ip: m.ciaddr, port: 68 };
  if (m.flags & FLAG_BROADCAST || !lease || m.htype !== 1 || m.hlen !== 6) return { ip: BROADCAST, port: 68 };
  return { ip: lease.ip, port: 68, neighbour: { ip: lease.ip, mac: m.chaddr } };
}

/** Option 12 when it is one DNS label (what the embedded DNS can serve). */
export function hostName(m: DhcpMessage): string | undefined {
  const h = readText(m, OPT.HOST_NAME);
  return h && HOST_LABEL.test(h) ? h : undefined;
}
