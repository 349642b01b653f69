// A DHCP client for tests and the benchmark, run inside a client namespace
// (nsenter --net=NS node dhcp-load.ts MODE ...): a socket on 0.0.0.0:68
// that sends to the server's address, with the broadcast flag set so the
// replies come back to 255.255.255.255:68 whatever address a client gets.
// Prints one JSON line.
//   dora SERVER N WINDOW [SEED]  N distinct clients, DISCOVER -> REQUEST,
//                                at most WINDOW in flight (perfdhcp-style);
//                                {leases, seconds, rate, ips}
//   decline SERVER               one client binds an address, DECLINEs it; a
//                                second asks for it (option 50): {declined, next}
//   longid SERVER                a client with a 600-byte option 61 binds: {ip}
//   ask SERVER MAC IP            a DISCOVER asking (option 50) for IP: {offered}
//   fuzz SERVER N [SEED]         N random or mutated messages: {sent}
import dgram from 'node:dgram';
import {
  FLAG_BROADCAST, MSG, OPT, decodeDhcp, encodeDhcp, messageType, newMessage, optByte, optIp, readIp,
} from '../../src/dhcp/wire.ts';
import type { DhcpMessage } from '../../src/dhcp/wire.ts';

const [mode = '', server = '', ...rest] = process.argv.slice(2);
const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
await new Promise<void>((r) => sock.bind(68, '0.0.0.0', r));
sock.setBroadcast(true);

let seed = 1;
const rand = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed; };
/** Client i's MAC: its index mixed (as perfdhcp's random MACs are), so servers that hash MACs see no pattern. */
function macOf(i: number): string {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return `02:${(i & 255).toString(16).padStart(2, '0')}:${[(h >>> 24) & 255, (h >>> 16) & 255, (h >>> 8) & 255, h & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}
const send = (m: DhcpMessage): void => { sock.send(encodeDhcp(m), 67, server); };
function msg(type: number, i: number, extra: [number, Buffer][] = []): DhcpMessage {
  const m = newMessage(1, { xid: i, chaddr: macOf(i), flags: FLAG_BROADCAST });
  m.options.set(OPT.MESSAGE_TYPE, optByte(type));
  for (const [k, v] of extra) m.options.set(k, v);
  return m;
}
const replies = new Map<number, (m: DhcpMessage) => void>();
sock.on('message', (b) => {
  const m = decodeDhcp(b);
  if (m && m.op === 2) replies.get(m.xid)?.(m);
});
/** Sends and waits for the reply with this xid (resent each second, 5 tries). */
async function exchange(m: DhcpMessage): Promise<DhcpMessage | null> {
  for (let t = 0; t < 5; t++) {
    const got = await new Promise<DhcpMessage | null>((res) => {
      const timer = setTimeout(() => { replies.delete(m.xid); res(null); }, 1000);
      replies.set(m.xid, (r) => { clearTimeout(timer); replies.delete(m.xid); res(r); });
      send(m);
    });
    if (got) return got;
  }
  return null;
}
/** DISCOVER then REQUEST; a NAK (the offer went to another client meanwhile) starts over, twice at most. */
async function bind(i: number, want?: string, extra: [number, Buffer][] = []): Promise<string | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const ip = await dora(i, want, extra);
    if (ip) return ip;
  }
  return null;
}
async function dora(i: number, want?: string, extra: [number, Buffer][] = []): Promise<string | null> {
  const offer = await exchange(msg(MSG.DISCOVER, i, [...extra, ...(want ? [[OPT.REQUESTED_IP, optIp(want)] as [number, Buffer]] : [])]));
  if (!offer || messageType(offer) !== MSG.OFFER) return null;
  const sid = readIp(offer, OPT.SERVER_ID) ?? server;
  const ack = await exchange(msg(MSG.REQUEST, i, [...extra, [OPT.REQUESTED_IP, optIp(offer.yiaddr)], [OPT.SERVER_ID, optIp(sid)]]));
  return ack && messageType(ack) === MSG.ACK ? ack.yiaddr : null;
}

let out: object = {};
if (mode === 'dora') {
  const n = Number(rest[0] ?? 1000);
  const window = Number(rest[1] ?? 64);
  const base = (Number(rest[2] ?? 1) % 4000) * 1_000_000;
  const ips = new Set<string>();
  let next = 0;
  let leases = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: window }, async () => {
    while (next < n) {
      const ip = await bind(base + next++);
      if (ip) { leases++; ips.add(ip); }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  out = { leases, distinct: ips.size, seconds, rate: leases / seconds };
} else if (mode === 'decline') {
  const ip = await bind(7001);
  if (ip) send(msg(MSG.DECLINE, 7001, [[OPT.REQUESTED_IP, optIp(ip)], [OPT.SERVER_ID, optIp(server)]]));
  await new Promise((r) => setTimeout(r, 300));
  out = { declined: ip, next: await bind(7002, ip ?? undefined) };
} else if (mode === 'longid') {
  // Option 61 of 600 bytes: split over three TLVs (RFC 3396), joined by the server.
  out = { ip: await bind(7100, undefined, [[OPT.CLIENT_ID, Buffer.alloc(600, 0x5a)]]) };
} else if (mode === 'ask') {
  const i = parseInt((rest[0] ?? '').replaceAll(':', '').slice(-8), 16);
  const offer = await exchange(msg(MSG.DISCOVER, i, [[OPT.REQUESTED_IP, optIp(rest[1] ?? '0.0.0.0')]]));
  out = { offered: offer?.yiaddr ?? null };
} else if (mode === 'fuzz') {
  const n = Number(rest[0] ?? 10000);
  seed = Number(rest[1] ?? 42);
  const valid = [MSG.DISCOVER, MSG.REQUEST, MSG.DECLINE, MSG.RELEASE, MSG.INFORM].map((t, k) => encodeDhcp(msg(t, 9000 + k, [[OPT.REQUESTED_IP, optIp(server)], [OPT.SERVER_ID, optIp(server)]])));
  for (let i = 0; i < n; i++) {
    let b: Buffer;
    if (i % 3 === 0) {
      // Random bytes of a random length, sometimes with a valid cookie.
      b = Buffer.alloc(rand() % 700);
      for (let k = 0; k < b.length; k++) b[k] = rand() & 255;
      if (b.length > 240 && i % 2) { b[0] = 1; b.writeUInt32BE(0x63825363, 236); }
    } else {
      // A valid message with a few bytes flipped, cut short or grown.
      b = Buffer.from(valid[rand() % valid.length]!);
      for (let k = 0, flips = 1 + (rand() % 8); k < flips; k++) b[rand() % b.length] = rand() & 255;
      // Option lengths past the end and options cut in half.
      if (i % 5 === 1) b = b.subarray(0, 236 + (rand() % 40));
      if (i % 7 === 2) b[241] = 255;
    }
    sock.send(b, 67, server);
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5));
  }
  out = { sent: n };
}
console.log(JSON.stringify(out));
sock.close();
