// struct nlmsghdr: u32 length, u16 type, u16 flags, u32 sequence, u32 port id,
// then the payload padded to 4 bytes; and the NLMSG_ERROR payload.
import { NLMSG_HDRLEN, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG } from '../constants.ts';
import { align4, parseAttrs, str } from './attributes.ts';

export interface NlMsg { type: number; flags: number; seq: number; pid: number; payload: Buffer }

export function encodeMessage(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const len = NLMSG_HDRLEN + payload.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(0, 12); // port id 0: the kernel fills in ours
  payload.copy(b, NLMSG_HDRLEN);
  return b;
}

/** Splits a buffer of concatenated messages (what one recv or the addon returns). */
export function decodeMessages(buf: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** struct nlmsgerr: a negative errno (0 = ack), the request's header (or all
 *  of it unless capped), then with extended acks a message in words. */
export interface NlError { errno: number; message?: string }

export function decodeError(msg: NlMsg): NlError {
  const p = msg.payload;
  const errno = p.length >= 4 ? 0 - p.readInt32LE(0) : 0; // 0 - x: no -0 for an ack
  if (!(msg.flags & NLM_F_ACK_TLVS) || p.length < 4 + NLMSG_HDRLEN) return { errno };
  const echoed = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(p.readUInt32LE(4));
  const text = str(parseAttrs(p, 4 + echoed).get(NLMSGERR_ATTR_MSG));
  return text ? { errno, message: text } : { errno };
}
