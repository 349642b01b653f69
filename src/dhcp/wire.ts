// DHCPv4 messages (RFC 2131 §2, options RFC 2132): the BOOTP header, the
// magic cookie and the option TLVs, to and from plain objects. Decoding
// never throws: anything malformed is null, so a server or client can drop
// it (the fuzz tests feed it random bytes). Options are kept raw by code;
// the helpers below read and write the few whose meaning cnm uses.

/** BOOTP op. */
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;

/** Option 53 values. */
export const MSG = {
  DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8,
} as const;
export type MessageType = (typeof MSG)[keyof typeof MSG];
export const MSG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MSG).map(([k, v]) => [v, k]));

/** Option codes cnm reads or writes. */
export const OPT = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTERS: 3,
  DNS_SERVERS: 6,
  HOST_NAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_REQUEST: 55,
  MESSAGE: 56,
  MAX_SIZE: 57,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** The flags bit asking the server to broadcast its reply (RFC 2131 §2, figure 2). */
export const FLAG_BROADCAST = 0x8000;

const HEADER = 236;
const COOKIE = 0x63825363;
/** The smallest BOOTP message (RFC 951): replies are padded to it, as most servers do. */
const MIN_MESSAGE = 300;

export interface DhcpMessage {
  op: 1 | 2;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The client's hardware address, `hlen` bytes (a MAC as aa:bb:..). */
  chaddr: string;
  sname: string;
  file: string;
  /** Raw option values by code (PAD and END are not kept). */
  options: Map<number, Buffer>;
}

const ipText = (b: Buffer, at: number): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

function ipBytes(ip: string): Buffer {
  const parts = ip.split('.');
  const out = Buffer.alloc(4);
  if (parts.length !== 4) throw new RangeError(`invalid IPv4 address "${ip}"`);
  parts.forEach((p, i) => {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new RangeError(`invalid IPv4 address "${ip}"`);
    out[i] = n;
  });
  return out;
}

const cString = (b: Buffer): string => {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('latin1');
};

/** Appends the TLVs in `area` to `into`; false when they are malformed. */
function readOptions(area: Buffer, into: Map<number, Buffer>, seen: { overload: number }): boolean {
  let i = 0;
  while (i < area.length) {
    const code = area[i]!;
    if (code === OPT.PAD) { i++; continue; }
    if (code === OPT.END) return true;
    if (i + 1 >= area.length) return false;
    const len = area[i + 1]!;
    if (i + 2 + len > area.length) return false;
    const value = area.subarray(i + 2, i + 2 + len);
    // RFC 3396: an option split over several instances is their concatenation.
    const prev = into.get(code);
    into.set(code, prev ? Buffer.concat([prev, value]) : Buffer.from(value));
    if (code === OPT.OVERLOAD && len === 1) seen.overload = value[0]!;
    i += 2 + len;
  }
  // An options area without END is tolerated in sname/file, not in the main area.
  return true;
}

/** Parses one message; null when it is not a well-formed DHCP message. */
export function decodeDhcp(buf: Buffer): DhcpMessage | null {
  if (buf.length < HEADER + 4) return null;
  const op = buf[0];
  if (op !== BOOTREQUEST && op !== BOOTREPLY) return null;
  const hlen = buf[2]!;
  if (hlen > 16) return null;
  if (buf.readUInt32BE(HEADER) !== COOKIE) return null;
  const options = new Map<number, Buffer>();
  const seen = { overload: 0 };
  if (!readOptions(buf.subarray(HEADER + 4), options, seen)) return null;
  // Option 52: the file and sname fields carry more options (RFC 2132 §9.3).
  if (seen.overload & 1 && !readOptions(buf.subarray(108, 236), options, seen)) return null;
  if (seen.overload & 2 && !readOptions(buf.subarray(44, 108), options, seen)) return null;
  const type = options.get(OPT.MESSAGE_TYPE);
  if (!type || type.length !== 1 || type[0]! < MSG.DISCOVER || type[0]! > MSG.INFORM) return null;
  const mac = [...buf.subarray(28, 28 + hlen)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  return {
    op,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: ipText(buf, 12),
    yiaddr: ipText(buf, 16),
    siaddr: ipText(buf, 20),
    giaddr: ipText(buf, 24),
    chaddr: mac,
    sname: seen.overload & 2 ? '' : cString(buf.subarray(44, 108)),
    file: seen.overload & 1 ? '' : cString(buf.subarray(108, 236)),
    options,
  };
}

/** Serialises a message; option values longer than 255 bytes are split (RFC 3396). */
export function encodeDhcp(m: DhcpMessage): Buffer {
  const head = Buffer.alloc(HEADER + 4);
  head[0] = m.op;
  head[1] = m.htype;
  head[2] = m.hlen;
  head[3] = m.hops;
  head.writeUInt32BE(m.xid >>> 0, 4);
  head.writeUInt16BE(m.secs, 8);
  head.writeUInt16BE(m.flags, 10);
  ipBytes(m.ciaddr).copy(head, 12);
  ipBytes(m.yiaddr).copy(head, 16);
  ipBytes(m.siaddr).copy(head, 20);
  ipBytes(m.giaddr).copy(head, 24);
  macBytes(m.chaddr).copy(head, 28);
  head.write(m.sname.slice(0, 63), 44, 'latin1');
  head.write(m.file.slice(0, 127), 108, 'latin1');
  head.writeUInt32BE(COOKIE, HEADER);
  const parts: Buffer[] = [head];
  // The message type first: some clients look for it there.
  const codes = [...m.options.keys()].sort((a, b) => (a === OPT.MESSAGE_TYPE ? -1 : b === OPT.MESSAGE_TYPE ? 1 : 0));
  for (const code of codes) {
    if (code === OPT.PAD || code === OPT.END) continue;
    const v = m.options.get(code)!;
    for (let at = 0; at === 0 || at < v.length; at += 255) {
      const chunk = v.subarray(at, at + 255);
      parts.push(Buffer.from([code, chunk.length]), chunk);
    }
  }
  parts.push(Buffer.from([OPT.END]));
  const out = Buffer.concat(parts);
  return out.length >= MIN_MESSAGE ? out : Buffer.concat([out, Buffer.alloc(MIN_MESSAGE - out.length)]);
}

/** A MAC (aa:bb:cc:dd:ee:ff) as bytes; at most 16. */
export function macBytes(mac: string): Buffer {
  if (mac === '') return Buffer.alloc(0);
  const parts = mac.split(':');
  if (parts.length > 16 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`invalid hardware address "${mac}"`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

// Option values.
export const optIp = (ip: string): Buffer => ipBytes(ip);
export const optIps = (ips: readonly string[]): Buffer => Buffer.concat(ips.map(ipBytes));
export const optU32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
export const optU16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
export const optByte = (n: number): Buffer => Buffer.from([n]);
export const optText = (s: string): Buffer => Buffer.from(s, 'latin1');

/** The message type (option 53); decodeDhcp guarantees it is there. */
export const messageType = (m: DhcpMessage): MessageType => m.options.get(OPT.MESSAGE_TYPE)![0] as MessageType;

/** An IPv4 option of exactly 4 bytes, else undefined. */
export function readIp(m: DhcpMessage, code: number): string | undefined {
  const v = m.options.get(code);
  return v && v.length === 4 ? ipText(v, 0) : undefined;
}

/** A list of IPv4 addresses (routers, DNS servers): whole 4-byte groups only. */
export function readIps(m: DhcpMessage, code: number): string[] {
  const v = m.options.get(code);
  if (!v || v.length % 4 !== 0) return [];
  const out: string[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(ipText(v, i));
  return out;
}

/** A 32-bit unsigned option (lease time, T1, T2), else undefined. */
export function readU32(m: DhcpMessage, code: number): number | undefined {
  const v = m.options.get(code);
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

/** A text option (host name, domain), NULs trimmed, else undefined. */
export function readText(m: DhcpMessage, code: number): string | undefined {
  const v = m.options.get(code);
  return v && v.length ? cString(v) : undefined;
}

/** Prefix length to dotted mask (option 1). */
export function prefixToMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Dotted mask to prefix length; null when the mask is not contiguous. */
export function maskToPrefix(mask: string): number | null {
  const n = ipBytes(mask).readUInt32BE(0);
  const inv = ~n >>> 0;
  if ((inv & (inv + 1)) !== 0) return null;
  return 32 - Math.log2(inv + 1);
}

/**
 * Who a client is: option 61 when it sends one (hex), else its hardware
 * address (RFC 2131 §4.2: "client identifier ... or chaddr").
 */
export function clientKey(m: DhcpMessage): string {
  const id = m.options.get(OPT.CLIENT_ID);
  return id && id.length >= 2 ? `id:${id.toString('hex')}` : `hw:${m.htype}:${m.chaddr}`;
}

/** An empty message to fill in. */
export function newMessage(op: 1 | 2, fields: Partial<DhcpMessage> = {}): DhcpMessage {
  return {
    op, htype: 1, hlen: 6, hops: 0, xid: 0, secs: 0, flags: 0,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: '', sname: '', file: '', options: new Map(), ...fields,
  };
}
