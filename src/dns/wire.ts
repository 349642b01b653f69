// The hot path of the resolver: a hand-written parser for one-question
// queries and a builder that writes answers straight into one buffer. The
// question is copied byte for byte from the query (clients that randomise
// case, "0x20", compare it) and answers point back at it with a compression
// pointer, so a typical A answer is one allocation and a few writes.
// The tests check it against dns-packet (a full codec, a dev dependency only).
import {
  CLASS_IN, EDNS_MAX_UDP_SIZE, EDNS_OUR_UDP_SIZE, FLAG_AA, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, HEADER_LEN,
  OPCODE_MASK, QTYPE_OPT, RCODE_BADVERS, RCODE_FORMERR, RCODE_NOTIMP, UDP_CLASSIC_MAX,
} from './constants.ts';
import type { RecordSet } from './name-table.ts';

export interface ParsedQuery {
  id: number;
  flags: number;
  /** Lowercase, no trailing dot ('' for the root). */
  qname: string;
  /** The name had bytes that make a text form ambiguous ('.' inside a label): never one of ours. */
  oddName: boolean;
  qtype: number;
  qclass: number;
  /** Offset just past the question: bytes 12..questionEnd are echoed in answers. */
  questionEnd: number;
  edns: boolean;
  /** The client's advertised UDP payload size (512 without EDNS). */
  udpSize: number;
  ednsVersion: number;
  /** Set when the query cannot be answered normally: FORMERR, NOTIMP or BADVERS. */
  rcode: number;
}

// One scratch buffer for building name text: names are at most 255 bytes.
const nameScratch = Buffer.allocUnsafe(256);

/**
 * Parses a query. Returns null when the packet must be dropped without an
 * answer: shorter than a header (no ID to answer to) or a response (QR set;
 * answering responses invites loops between servers).
 */
export function parseQuery(buf: Buffer): ParsedQuery | null {
  if (buf.length < HEADER_LEN) return null;
  const flags = buf.readUInt16BE(2);
  if (flags & FLAG_QR) return null;
  const q: ParsedQuery = {
    id: buf.readUInt16BE(0), flags, qname: '', oddName: false, qtype: 0, qclass: 0,
    questionEnd: HEADER_LEN, edns: false, udpSize: UDP_CLASSIC_MAX, ednsVersion: 0, rcode: 0,
  };
  if ((flags & OPCODE_MASK) !== 0) { q.rcode = RCODE_NOTIMP; return q; }
  const qdcount = buf.readUInt16BE(4);
  if (qdcount !== 1) { q.rcode = RCODE_FORMERR; return q; }
  // Question name: labels only (a compression pointer in the first name of a
  // message could only point into the header).
  let off = HEADER_LEN;
  let n = 0;
  for (;;) {
    if (off >= buf.length) { q.rcode = RCODE_FORMERR; return q; }
    const len = buf[off] ?? 0;
    if (len === 0) { off++; break; }
    if (len > 63 || off + 1 + len > buf.length || n + len + 1 > 255) { q.rcode = RCODE_FORMERR; return q; }
    if (n > 0) nameScratch[n++] = 0x2e;
    for (let i = off + 1, end = off + 1 + len; i < end; i++) {
      let c = buf[i] ?? 0;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      else if (c === 0x2e) q.oddName = true;
      nameScratch[n++] = c;
    }
    off += 1 + len;
  }
  if (off + 4 > buf.length) { q.rcode = RCODE_FORMERR; return q; }
  q.qname = nameScratch.toString('latin1', 0, n);
  q.qtype = buf.readUInt16BE(off);
  q.qclass = buf.readUInt16BE(off + 2);
  off += 4;
  q.questionEnd = off;
  // Skip answer and authority records (not expected in a query) to find an OPT record.
  const other = buf.readUInt16BE(6) + buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  for (let i = 0; i < other + arcount; i++) {
    const nameEnd = skipName(buf, off);
    if (nameEnd < 0 || nameEnd + 10 > buf.length) { q.rcode = RCODE_FORMERR; return q; }
    const type = buf.readUInt16BE(nameEnd);
    const rdlen = buf.readUInt16BE(nameEnd + 8);
    if (nameEnd + 10 + rdlen > buf.length) { q.rcode = RCODE_FORMERR; return q; }
    if (i >= other && type === QTYPE_OPT) {
      // RFC 6891 6.1.1: one OPT only, owner the root.
      if (q.edns || nameEnd !== off + 1) { q.rcode = RCODE_FORMERR; return q; }
      q.edns = true;
      q.udpSize = Math.max(UDP_CLASSIC_MAX, buf.readUInt16BE(nameEnd + 2));
      q.ednsVersion = buf[nameEnd + 5] ?? 0;
      if (q.ednsVersion !== 0) q.rcode = RCODE_BADVERS;
    }
    off = nameEnd + 10 + rdlen;
  }
  return q;
}

/** Offset past a (possibly compressed) name at `off`, or -1 when malformed. */
function skipName(buf: Buffer, off: number): number {
  for (let hops = 0; hops < 128; hops++) {
    if (off >= buf.length) return -1;
    const len = buf[off] ?? 0;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1;
    if (len > 63) return -1;
    off += 1 + len;
  }
  return -1;
}

/** Wire form of a name, uncompressed. */
export function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const out = Buffer.alloc(labels.reduce((s, l) => s + 1 + Buffer.byteLength(l), 1));
  let off = 0;
  for (const l of labels) {
    off = out.writeUInt8(Buffer.byteLength(l), off);
    off += out.write(l, off);
  }
  return out;
}

/** The most a UDP answer to this query may hold. */
export function udpLimit(q: ParsedQuery): number {
  return q.edns ? Math.min(q.udpSize, EDNS_MAX_UDP_SIZE) : UDP_CLASSIC_MAX;
}

const OPT_LEN = 11;
const RR_FIXED = 12; // pointer(2) type(2) class(2) ttl(4) rdlength(2)

/**
 * Builds the response to `q`: the question echoed, the records of `set`
 * starting at `start` (round robin), an OPT record when the client sent one.
 * When the result exceeds `limit` the answers are left out and TC is set, so
 * the client asks again over TCP (RFC 1035 4.2.1, RFC 7766).
 */
export function buildResponse(
  query: Buffer, q: ParsedQuery, rcode: number, opts: { aa?: boolean; set?: RecordSet | null; start?: number; ttl?: number; limit?: number } = {},
): Buffer {
  const set = opts.set ?? null;
  const qlen = q.rcode === RCODE_FORMERR || q.rcode === RCODE_NOTIMP ? 0 : q.questionEnd - HEADER_LEN;
  const edns = q.edns && q.rcode !== RCODE_FORMERR;
  let size = HEADER_LEN + qlen + (edns ? OPT_LEN : 0);
  let ancount = 0;
  if (set) {
    for (const r of set.rdata) size += RR_FIXED + r.length;
    ancount = set.rdata.length;
  }
  let tc = 0;
  if (opts.limit !== undefined && size > opts.limit) {
    tc = FLAG_TC;
    size = HEADER_LEN + qlen + (edns ? OPT_LEN : 0);
    ancount = 0;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(FLAG_QR | (q.flags & (OPCODE_MASK | FLAG_RD)) | FLAG_RA | (opts.aa ? FLAG_AA : 0) | tc | (rcode & 0xf), 2);
  out.writeUInt16BE(qlen ? 1 : 0, 4);
  out.writeUInt16BE(ancount, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  let off = HEADER_LEN;
  if (qlen) off += query.copy(out, off, HEADER_LEN, q.questionEnd);
  if (set && ancount) {
    const n = set.rdata.length;
    const ttl = opts.ttl ?? 0;
    for (let i = 0; i < n; i++) {
      const r = set.rdata[((opts.start ?? 0) + i) % n] as Buffer;
      out.writeUInt16BE(0xc00c, off); // pointer to the question name at offset 12
      out.writeUInt16BE(set.type, off + 2);
      out.writeUInt16BE(CLASS_IN, off + 4);
      out.writeUInt32BE(ttl, off + 6);
      out.writeUInt16BE(r.length, off + 10);
      off += RR_FIXED + r.copy(out, off + RR_FIXED);
    }
  }
  if (edns) writeOpt(out, off, rcode);
  return out;
}

function writeOpt(out: Buffer, off: number, rcode: number): void {
  out[off] = 0; // root owner
  out.writeUInt16BE(QTYPE_OPT, off + 1);
  out.writeUInt16BE(EDNS_OUR_UDP_SIZE, off + 3);
  out[off + 5] = rcode >> 4; // extended rcode, upper 8 bits (BADVERS = 16 -> 1)
  out[off + 6] = 0; // version 0
  out.writeUInt16BE(0, off + 7); // DO clear: we do not validate DNSSEC
  out.writeUInt16BE(0, off + 9);
}

/**
 * Adapts an upstream response for the client: its ID back, and when it does
 * not fit the client's UDP limit, a truncated copy (header, question, TC).
 */
export function relayResponse(resp: Buffer, query: Buffer, q: ParsedQuery, limit: number): Buffer {
  resp.writeUInt16BE(q.id, 0);
  if (resp.length <= limit) return resp;
  const qlen = q.questionEnd - HEADER_LEN;
  const out = Buffer.allocUnsafe(HEADER_LEN + qlen);
  resp.copy(out, 0, 0, 4);
  out.writeUInt16BE(out.readUInt16BE(2) | FLAG_TC, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  query.copy(out, HEADER_LEN, HEADER_LEN, q.questionEnd);
  return out;
}
