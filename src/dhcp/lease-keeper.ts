// Keeps the leases of the daemon's DHCP endpoints alive (RFC 2131 §4.4.5):
// at T1 a unicast REQUEST to the server that granted it (RENEWING), from T2
// a broadcast one to any server (REBINDING), and at expiry (or on a NAK) the
// address is taken off the interface and the endpoint is told. A renewal
// that keeps the address changes nothing in the kernel; one that moves it
// swaps the address on the interface. The lease itself lives in the
// endpoint's record (onLease persists it), so a restarted daemon calls
// track() again and the timers carry on where the lease stands.
import { extend as dhcpExtend } from './client.ts';
import type { ExchangeOptions, ExtendResult } from './client.ts';
import { leaseCidr, leasePhase } from './messages.ts';
import type { ClientIdentity, Lease } from './messages.ts';
import type { SocketSource } from './transport.ts';
import type { RtnlOps } from '../netlink/index.ts';

/** What the keeper needs of a sandbox namespace: port 68 and the interface's addresses. */
export interface KeeperNs extends SocketSource {
  readonly rtnl: Pick<RtnlOps, 'addrAdd' | 'addrDel'>;
  close(): void;
}

export interface KeptLease {
  endpointId: string;
  nsPath: string;
  ifName: string;
  who: ClientIdentity;
  lease: Lease;
}

export interface LeaseKeeperDeps {
  openNs(path: string): Promise<KeeperNs>;
  /** A lease was extended or moved (the new one) or ended (null): record it. */
  onLease(endpointId: string, lease: Lease | null): Promise<void> | void;
  log: { info(msg: string, extra?: object): void; warn(msg: string, extra?: object): void };
  /** The renew/rebind exchange (the real client unless a test passes another). */
  extend?: (ns: SocketSource, ifName: string, who: ClientIdentity, lease: Lease, mode: 'renew' | 'rebind', opts: ExchangeOptions) => Promise<ExtendResult>;
  now?: () => number;
}

// RFC 2131 §4.4.5: after a failed attempt wait half the time left in the
// phase, at least 60 s; leases of a few seconds (tests) need a lower floor.
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
// Node's timers take at most 2^31-1 ms (~24.8 days); longer waits are re-armed.
const MAX_TIMER_MS = 0x7fffffff;
// One renew/rebind exchange stops after this long at most (then the retry wait).
const EXCHANGE_MS = 10_000;

interface Entry { k: KeptLease; timer: NodeJS.Timeout | null; retryAt: number }

export class LeaseKeeper {
  private readonly deps: LeaseKeeperDeps;
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(deps: LeaseKeeperDeps) {
    this.deps = deps;
  }

  private now(): number { return (this.deps.now ?? Date.now)(); }

  /** Starts (or restarts) the timers of an endpoint's lease. */
  track(k: KeptLease): void {
    this.forget(k.endpointId);
    const e: Entry = { k, timer: null, retryAt: 0 };
    this.entries.set(k.endpointId, e);
    this.arm(e);
  }

  /** Stops the timers (disconnect: the caller sends RELEASE). */
  forget(endpointId: string): void {
    const e = this.entries.get(endpointId);
    if (!e) return;
    if (e.timer) clearTimeout(e.timer);
    this.entries.delete(endpointId);
  }

  /** The lease an endpoint holds now, if the keeper tracks it. */
  leaseOf(endpointId: string): Lease | undefined {
    return this.entries.get(endpointId)?.k.lease;
  }

  get size(): number { return this.entries.size; }

  /** Daemon shutdown: timers stop, leases stay (no RELEASE: the next daemon resumes them). */
  close(): void {
    this.closed = true;
    for (const id of [...this.entries.keys()]) this.forget(id);
  }

  private arm(e: Entry): void {
    if (this.closed || this.entries.get(e.k.endpointId) !== e) return;
    const now = this.now();
    const { phase, next } = leasePhase(e.k.lease, now);
    if (phase === 'expired') { void this.expire(e, 'the lease expired'); return; }
    let at = next;
    if (phase !== 'bound') at = e.retryAt > now ? Math.min(e.retryAt, next ?? e.retryAt) : now;
    if (at === null) return; // an infinite lease
    const wait = Math.max(0, at - now);
    e.timer = setTimeout(() => {
      e.timer = null;
      if (wait > MAX_TIMER_MS) { this.arm(e); return; }
      void this.step(e);
    }, Math.min(wait, MAX_TIMER_MS));
    e.timer.unref();
  }

  /** One renew or rebind attempt, chosen by where the lease stands. */
  private async step(e: Entry): Promise<void> {
    const now = this.now();
    const { phase, next } = leasePhase(e.k.lease, now);
    if (phase === 'bound') { this.arm(e); return; }
    if (phase === 'expired' || next === null) { await this.expire(e, 'the lease expired'); return; }
    const mode = phase === 'renewing' ? 'renew' : 'rebind';
    let result: ExtendResult = null;
    let ns: KeeperNs | null = null;
    try {
      ns = await this.deps.openNs(e.k.nsPath);
      const extend = this.deps.extend ?? dhcpExtend;
      result = await extend(ns, e.k.ifName, e.k.who, e.k.lease, mode, { timeoutMs: Math.max(1, Math.min(EXCHANGE_MS, next - now)) });
    } catch (err) {
      this.deps.log.warn(`DHCP ${mode} of ${e.k.lease.address} failed`, { endpoint: e.k.endpointId, error: (err as Error).message });
    }
    try {
      if (this.entries.get(e.k.endpointId) !== e) return; // forgotten meanwhile
      if (result === 'nak') { await this.expire(e, `the server refused to ${mode} it (NAK)`, ns); return; }
      if (result === null) {
        const after = this.now();
        e.retryAt = after + Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, (next - after) / 2));
        this.arm(e);
        return;
      }
      const old = e.k.lease;
      if (result.address !== old.address || result.prefix !== old.prefix) {
        // Not what RENEWING usually brings, but a server may move a client.
        if (ns) {
          await ns.rtnl.addrAdd(e.k.ifName, leaseCidr(result));
          await ns.rtnl.addrDel(e.k.ifName, leaseCidr(old)).catch(() => undefined);
        }
        this.deps.log.info(`DHCP: ${e.k.ifName} moved from ${old.address} to ${result.address}`, { endpoint: e.k.endpointId });
      }
      e.k = { ...e.k, lease: result };
      e.retryAt = 0;
      await this.deps.onLease(e.k.endpointId, result);
      this.arm(e);
    } catch (err) {
      this.deps.log.warn(`DHCP ${mode} of ${e.k.lease.address}: ${(err as Error).message}`, { endpoint: e.k.endpointId });
      this.arm(e);
    } finally {
      ns?.close();
    }
  }

  /** The address is no longer ours: off the interface, and the endpoint forgets it. */
  private async expire(e: Entry, why: string, open?: KeeperNs | null): Promise<void> {
    this.forget(e.k.endpointId);
    const cidr = leaseCidr(e.k.lease);
    let ns = open ?? null;
    try {
      ns ??= await this.deps.openNs(e.k.nsPath);
      await ns.rtnl.addrDel(e.k.ifName, cidr);
    } catch {
      // The interface or its namespace is gone already: nothing holds the address.
    } finally {
      if (!open) ns?.close();
    }
    this.deps.log.warn(`DHCP: ${why}: ${cidr} removed from ${e.k.ifName}`, { endpoint: e.k.endpointId });
    try {
      await this.deps.onLease(e.k.endpointId, null);
    } catch (err) {
      this.deps.log.warn(`DHCP: recording the end of the lease of ${e.k.lease.address} failed: ${(err as Error).message}`, { endpoint: e.k.endpointId });
    }
  }
}
