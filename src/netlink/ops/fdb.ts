// Forwarding database entries of bridges and VXLAN devices (RTM_*NEIGH with
// family AF_BRIDGE), what `bridge fdb` shows.
import {
  AF_BRIDGE, NDA_DST, NDA_LLADDR, NDA_MASTER, NDA_VNI, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NTF_MASTER, NTF_SELF,
  NUD_NOARP, NUD_PERMANENT, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH,
} from '../constants.ts';
import { attr, attrU32, u32 } from '../codec/attributes.ts';
import { decodeNd, encodeNd } from '../codec/ndmsg.ts';
import { formatIp, formatMac } from '../address.ts';
import * as v from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { Fdb, FdbEntry, LinkRef } from '../types.ts';
import type { OpContext } from './context.ts';
import { linkIndex, linkNames } from './lookup.ts';

async function fdbPayload(o: OpContext, ctx: Ctx, f: Fdb, forAdd: boolean): Promise<Buffer> {
  v.linkRef(ctx, f.dev);
  const attrs = [attr(NDA_LLADDR, v.mac(ctx, f.mac))];
  if (f.dst !== undefined) attrs.push(attr(NDA_DST, v.ip(ctx, f.dst, 'remote').bytes));
  if (f.vni !== undefined) attrs.push(attrU32(NDA_VNI, v.int(ctx, f.vni, 'VNI', 0, 0xffffff)));
  // Like `bridge fdb`: the device's own table (self) unless master is asked.
  let flags = (f.self ? NTF_SELF : 0) | (f.master ? NTF_MASTER : 0);
  if (!flags) flags = NTF_SELF;
  // permanent: never ages, local to this host; static (NOARP): never ages, forwarded.
  const state = !forAdd ? 0 : f.permanent === false ? NUD_NOARP : NUD_PERMANENT;
  const index = await linkIndex(o, f.dev, ctx);
  return encodeNd({ family: AF_BRIDGE, index, state, flags }, attrs);
}

/** append: add another remote for the same MAC (VXLAN flooding lists), where add would say EEXIST. */
export async function fdbAdd(o: OpContext, f: Fdb & { append?: boolean }): Promise<void> {
  const ctx: Ctx = { op: 'adding', object: `fdb entry ${f?.mac} on ${v.refText(f?.dev)}${f?.dst ? ` to ${f.dst}` : ''}` };
  const payload = await fdbPayload(o, ctx, f, true);
  await o.send({ type: RTM_NEWNEIGH, flags: NLM_F_CREATE | (f.append ? NLM_F_APPEND : NLM_F_EXCL), payload, ...ctx });
}

export async function fdbDel(o: OpContext, f: Fdb): Promise<void> {
  const ctx: Ctx = { op: 'deleting', object: `fdb entry ${f?.mac} on ${v.refText(f?.dev)}${f?.dst ? ` to ${f.dst}` : ''}` };
  const payload = await fdbPayload(o, ctx, f, false);
  await o.send({ type: RTM_DELNEIGH, payload, ...ctx });
}

export async function fdbList(o: OpContext, dev?: LinkRef): Promise<FdbEntry[]> {
  const ctx: Ctx = { op: 'listing', object: dev === undefined ? `fdb in ${o.sock.where}` : `fdb of ${v.refText(dev)}` };
  const names = await linkNames(o);
  let only: number | undefined;
  if (dev !== undefined) only = await linkIndex(o, v.linkRef(ctx, dev), ctx);
  const msgs = await o.sock.run({ type: RTM_GETNEIGH, dump: true, payload: encodeNd({ family: AF_BRIDGE }), ...ctx });
  const out: FdbEntry[] = [];
  for (const m of msgs) {
    const { hdr, attrs } = decodeNd(m.payload);
    if (hdr.family !== AF_BRIDGE || (only !== undefined && hdr.index !== only)) continue;
    // The bridge's own entries come without NTF_MASTER but name their bridge
    // in NDA_MASTER (what `bridge fdb` prints as "master br0").
    const br = u32(attrs.get(NDA_MASTER));
    const e: FdbEntry = {
      dev: names.get(hdr.index) ?? `if${hdr.index}`, mac: formatMac(attrs.get(NDA_LLADDR)),
      self: (hdr.flags & NTF_SELF) !== 0, master: (hdr.flags & NTF_MASTER) !== 0 || !!br, permanent: (hdr.state & NUD_PERMANENT) !== 0,
    };
    const dst = attrs.get(NDA_DST);
    if (dst) e.dst = formatIp(dst);
    const vni = u32(attrs.get(NDA_VNI));
    if (vni !== undefined) e.vni = vni;
    if (br) e.bridge = names.get(br) ?? `if${br}`;
    out.push(e);
  }
  return out;
}
