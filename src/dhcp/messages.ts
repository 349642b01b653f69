// The client's side of RFC 2131: the requests it sends in each state (§4.3.2,
// §4.4) and the lease it reads from an ACK. Pure: no sockets, no clock.
import {
  BOOTREQUEST, FLAG_BROADCAST, MSG, OPT, maskToPrefix, messageType, newMessage, optByte, optIp, optU16,
  readIp, readIps, readU32,
} from './wire.ts';
import type { DhcpMessage } from './wire.ts';
import type { DhcpLeaseRecord } from '../model/records.ts';

/** What the client holds after an ACK. Times in seconds; obtainedAt in ms since the epoch. */
export type Lease = DhcpLeaseRecord;

/** Who is asking: the client id (option 61, whole, type byte first) and the interface's MAC. */
export interface ClientIdentity {
  clientId: Buffer;
  mac: string;
}

// RFC 2132 §9.14: the option is 2..255 bytes; a type byte and at most 254 of id.
const CLIENT_ID_MAX = 254;

/**
 * The client id cnm sends: type 0 (not a hardware address, RFC 2132 §9.14)
 * and "<sandboxId>/<networkId>", trimmed to fit. The sandbox id survives a
 * container restart (unlike its random MAC), so the server hands the same
 * address back; ids are 64 hex characters, so trimming each to 64 keeps the
 * whole under 254 bytes. The CNI plugin uses type 0 + "<container>/<net>/<if>".
 */
export function clientIdFor(sandboxId: string, networkId: string): Buffer {
  const text = `${sandboxId.slice(0, 64)}/${networkId.slice(0, 64)}`.slice(0, CLIENT_ID_MAX);
  return Buffer.concat([Buffer.from([0]), Buffer.from(text, 'latin1')]);
}

// Asked in every request: mask, routers, DNS, lease time, T1, T2.
const PARAMS = Buffer.from([OPT.SUBNET_MASK, OPT.ROUTERS, OPT.DNS_SERVERS, OPT.LEASE_TIME, OPT.RENEWAL_T1, OPT.REBINDING_T2]);
// Option 57: our buffer takes any reply the link can carry (RFC 2132 §9.10; 576 is the minimum).
const MAX_MESSAGE = 1500;

function base(type: number, who: ClientIdentity, xid: number, fields: Partial<DhcpMessage> = {}): DhcpMessage {
  const m = newMessage(BOOTREQUEST, { xid, chaddr: who.mac, ...fields });
  m.options.set(OPT.MESSAGE_TYPE, optByte(type));
  m.options.set(OPT.CLIENT_ID, who.clientId);
  return m;
}

function asking(m: DhcpMessage): DhcpMessage {
  m.options.set(OPT.PARAM_REQUEST, PARAMS);
  m.options.set(OPT.MAX_SIZE, optU16(MAX_MESSAGE));
  return m;
}

/**
 * DISCOVER, broadcast from 0.0.0.0. The BROADCAST flag asks for broadcast
 * replies: until the ACK the interface has no address, so a unicast to
 * yiaddr would be dropped by our own stack (RFC 2131 §4.1).
 */
export function discover(who: ClientIdentity, xid: number, secs: number, wanted?: string): DhcpMessage {
  const m = asking(base(MSG.DISCOVER, who, xid, { secs, flags: FLAG_BROADCAST }));
  if (wanted) m.options.set(OPT.REQUESTED_IP, optIp(wanted));
  return m;
}

/** REQUEST in SELECTING: the offer's server id and address, ciaddr 0 (RFC 2131 §4.3.2). */
export function requestSelecting(who: ClientIdentity, xid: number, secs: number, offer: DhcpMessage): DhcpMessage {
  const m = asking(base(MSG.REQUEST, who, xid, { secs, flags: FLAG_BROADCAST }));
  m.options.set(OPT.REQUESTED_IP, optIp(offer.yiaddr));
  m.options.set(OPT.SERVER_ID, offer.options.get(OPT.SERVER_ID)!);
  return m;
}

/**
 * REQUEST in RENEWING (unicast to the server) or REBINDING (broadcast):
 * ciaddr carries the address, no server id and no requested address
 * (RFC 2131 §4.3.2 table 4). The address is ours, so replies may be unicast.
 */
export function requestExtend(who: ClientIdentity, xid: number, address: string): DhcpMessage {
  return asking(base(MSG.REQUEST, who, xid, { ciaddr: address }));
}

/** RELEASE, unicast to the server: ciaddr and the server id (RFC 2131 §4.4.6). */
export function release(who: ClientIdentity, xid: number, lease: Pick<Lease, 'address' | 'serverId'>): DhcpMessage {
  const m = base(MSG.RELEASE, who, xid, { ciaddr: lease.address });
  m.options.set(OPT.SERVER_ID, optIp(lease.serverId));
  return m;
}

/** A reply meant for this exchange: our xid and our hardware address. */
export function isReplyTo(m: DhcpMessage, xid: number, mac: string): boolean {
  return m.op === 2 && m.xid === xid && m.chaddr.toLowerCase() === mac.toLowerCase();
}

/** An OFFER we can use: an address and a server id (which REQUEST must repeat). */
export function usableOffer(m: DhcpMessage): boolean {
  return messageType(m) === MSG.OFFER && m.yiaddr !== '0.0.0.0' && readIp(m, OPT.SERVER_ID) !== undefined;
}

// RFC 2131 §4.4.5: T1 defaults to half the lease, T2 to 0.875 of it.
const T1_SHARE = 0.5;
const T2_SHARE = 0.875;
// RFC 2132 §9.2: 0xffffffff is an infinite lease.
export const INFINITE = 0xffffffff;

/**
 * The lease an ACK grants; null when it lacks what a lease needs (an
 * address, a lease time). A missing mask falls back to the class-less
 * guess /24 (servers always send it in practice); `fallbackServer`: the
 * server id when the ACK to a RENEWING request omits it.
 */
export function leaseFromAck(ack: DhcpMessage, now: number, fallbackServer?: string): Lease | null {
  if (messageType(ack) !== MSG.ACK || ack.yiaddr === '0.0.0.0') return null;
  const leaseTime = readU32(ack, OPT.LEASE_TIME);
  const serverId = readIp(ack, OPT.SERVER_ID) ?? fallbackServer;
  if (leaseTime === undefined || !serverId) return null;
  const mask = readIp(ack, OPT.SUBNET_MASK);
  const prefix = mask ? maskToPrefix(mask) ?? 24 : 24;
  let t1 = readU32(ack, OPT.RENEWAL_T1) ?? Math.floor(leaseTime * T1_SHARE);
  let t2 = readU32(ack, OPT.REBINDING_T2) ?? Math.floor(leaseTime * T2_SHARE);
  // Keep 0 < T1 < T2 <= lease whatever the server sent (RFC 2131 §4.4.5 ordering).
  if (leaseTime !== INFINITE) {
    if (t2 <= 0 || t2 > leaseTime) t2 = Math.floor(leaseTime * T2_SHARE);
    if (t1 <= 0 || t1 >= t2) t1 = Math.floor(leaseTime * T1_SHARE);
    if (t1 >= t2) t1 = Math.floor(t2 / 2);
  }
  return {
    address: ack.yiaddr,
    prefix,
    gateway: readIps(ack, OPT.ROUTERS)[0] ?? null,
    dns: readIps(ack, OPT.DNS_SERVERS),
    serverId,
    leaseTime,
    t1,
    t2,
    obtainedAt: now,
  };
}

export type LeasePhase = 'bound' | 'renewing' | 'rebinding' | 'expired';

/** Where a lease stands at `now` (ms), and when its next phase starts (ms, null: never). */
export function leasePhase(l: Lease, now: number): { phase: LeasePhase; next: number | null } {
  if (l.leaseTime === INFINITE) return { phase: 'bound', next: null };
  const at = (s: number): number => l.obtainedAt + s * 1000;
  if (now < at(l.t1)) return { phase: 'bound', next: at(l.t1) };
  if (now < at(l.t2)) return { phase: 'renewing', next: at(l.t2) };
  if (now < at(l.leaseTime)) return { phase: 'rebinding', next: at(l.leaseTime) };
  return { phase: 'expired', next: null };
}

/** The address as a CIDR for the interface. */
export const leaseCidr = (l: Pick<Lease, 'address' | 'prefix'>): string => `${l.address}/${l.prefix}`;
