// A DHCPv4 client for one interface inside a namespace (RFC 2131 §4.4):
// acquire runs DORA, extend renews (unicast to the server, RENEWING) or
// rebinds (broadcast, REBINDING), release gives the address back. Each call
// opens port 68 on the interface for its own exchange and closes it after,
// so nothing stays open between the lease keeper's timers.
//
// Timeout: acquire gives up after 10 s (DEFAULT_TIMEOUT_MS) in all, sending
// each request again after 1, 2 and 4 s (then every 4 s): a connect to a LAN
// without a DHCP server fails in bounded time instead of RFC 2131's minutes
// of backoff (the CNI dhcp daemon also stops at 10 s by default).
import { randomInt } from 'node:crypto';
import { CnmError } from '../model/errors.ts';
import {
  discover, isReplyTo, leaseFromAck, release, requestExtend, requestSelecting, usableOffer,
} from './messages.ts';
import type { ClientIdentity, Lease } from './messages.ts';
import { BROADCAST, DhcpPort } from './transport.ts';
import type { SocketSource } from './transport.ts';
import { MSG, OPT, messageType, readIp, readText } from './wire.ts';
import type { DhcpMessage } from './wire.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const RETRANSMIT_MS: readonly number[] = [1000, 2000, 4000];

export interface ExchangeOptions {
  /** The whole call's limit, all retransmissions included. */
  timeoutMs?: number;
  /** Waits between transmissions; the last one repeats. */
  retransmitMs?: readonly number[];
}

const newXid = (): number => randomInt(0, 0x100000000);

/**
 * Sends what `build` makes (again after each retransmit wait) until `accept`
 * takes a reply or the deadline passes; null then. `build` gets the seconds
 * since the exchange began (the `secs` field, RFC 2131 §2).
 */
function exchange(
  port: DhcpPort, build: (secs: number) => DhcpMessage, to: string, accept: (m: DhcpMessage) => boolean,
  deadline: number, schedule: readonly number[], started: number,
): Promise<DhcpMessage | null> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    const finish = (m: DhcpMessage | null): void => {
      clearTimeout(timer);
      port.onMessage(() => undefined);
      resolve(m);
    };
    port.onMessage((m) => { if (accept(m)) finish(m); });
    const transmit = (): void => {
      const now = Date.now();
      if (now >= deadline) { finish(null); return; }
      // A refused send (no route yet, buffer full) is one lost datagram: the next retransmit covers it.
      port.send(build(Math.min(0xffff, Math.floor((now - started) / 1000))), to);
      const wait = schedule[Math.min(sent, schedule.length - 1)] ?? 1000;
      sent++;
      timer = setTimeout(transmit, Math.min(wait, deadline - now));
    };
    transmit();
  });
}

const nakText = (m: DhcpMessage): string => {
  const why = readText(m, OPT.MESSAGE);
  return why ? ` ("${why}")` : '';
};

/**
 * DORA on `ifName` (which must be up): DISCOVER, the first usable OFFER,
 * REQUEST (SELECTING), ACK. A NAK starts over while time remains. `wanted`:
 * an address to ask for (option 50), e.g. the one held before.
 */
export async function acquire(ns: SocketSource, ifName: string, who: ClientIdentity, opts: ExchangeOptions & { wanted?: string } = {}): Promise<Lease> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const schedule = opts.retransmitMs ?? RETRANSMIT_MS;
  const started = Date.now();
  const deadline = started + timeoutMs;
  const port = await DhcpPort.open(ns, ifName);
  let lastNak = '';
  try {
    while (Date.now() < deadline) {
      const xid = newXid();
      const offer = await exchange(port, (secs) => discover(who, xid, secs, opts.wanted), BROADCAST,
        (m) => isReplyTo(m, xid, who.mac) && usableOffer(m), deadline, schedule, started);
      if (!offer) break;
      const serverId = readIp(offer, OPT.SERVER_ID);
      const answer = await exchange(port, (secs) => requestSelecting(who, xid, secs, offer), BROADCAST,
        (m) => isReplyTo(m, xid, who.mac) && (messageType(m) === MSG.ACK || messageType(m) === MSG.NAK)
          && (readIp(m, OPT.SERVER_ID) ?? serverId) === serverId,
        deadline, schedule, started);
      if (!answer) break;
      if (messageType(answer) === MSG.NAK) { lastNak = `; the server ${serverId} refused the offered address${nakText(answer)}`; continue; }
      const lease = leaseFromAck(answer, Date.now(), serverId);
      if (lease) return lease;
      lastNak = `; the ACK from ${serverId} carried no lease time`;
    }
  } finally {
    port.close();
  }
  throw new CnmError('UNAVAILABLE',
    `DHCP: no lease for ${ifName} within ${timeoutMs / 1000} s: no DHCP server answered${lastNak} (requests resent after ${schedule.join(', ')} ms)`);
}

/** The outcome of a renewal: the new lease, 'nak' (the address is no longer ours), or null (no answer). */
export type ExtendResult = Lease | 'nak' | null;

/**
 * RENEWING ('renew': unicast to the server that granted the lease) or
 * REBINDING ('rebind': broadcast to any server), with ciaddr = the address
 * (RFC 2131 §4.4.5). The interface must still hold the address.
 */
export async function extend(ns: SocketSource, ifName: string, who: ClientIdentity, lease: Lease, mode: 'renew' | 'rebind', opts: ExchangeOptions = {}): Promise<ExtendResult> {
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const port = await DhcpPort.open(ns, ifName);
  try {
    const xid = newXid();
    const answer = await exchange(port, () => requestExtend(who, xid, lease.address), mode === 'renew' ? lease.serverId : BROADCAST,
      (m) => isReplyTo(m, xid, who.mac) && (messageType(m) === MSG.ACK || messageType(m) === MSG.NAK),
      deadline, opts.retransmitMs ?? RETRANSMIT_MS, started);
    if (!answer) return null;
    if (messageType(answer) === MSG.NAK) return 'nak';
    return leaseFromAck(answer, Date.now(), lease.serverId);
  } finally {
    port.close();
  }
}

/** RELEASE to the lease's server (RFC 2131 §4.4.6): no answer comes; false when it could not be sent. */
export async function releaseLease(ns: SocketSource, ifName: string, who: ClientIdentity, lease: Pick<Lease, 'address' | 'serverId'>): Promise<boolean> {
  const port = await DhcpPort.open(ns, ifName);
  try {
    return port.send(release(who, newXid(), lease), lease.serverId);
  } finally {
    port.close();
  }
}
