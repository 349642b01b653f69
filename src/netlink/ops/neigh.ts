// ARP / NDP neighbour entries (RTM_*NEIGH with family AF_INET / AF_INET6).
import {
  AF_INET, AF_INET6, AF_UNSPEC, NDA_DST, NDA_LLADDR, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NUD_DELAY, NUD_FAILED,
  NUD_INCOMPLETE, NUD_NOARP, NUD_PERMANENT, NUD_PROBE, NUD_REACHABLE, NUD_STALE, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH,
} from '../constants.ts';
import { attr } from '../codec/attributes.ts';
import { decodeNd, encodeNd } from '../codec/ndmsg.ts';
import { formatIp, formatMac } from '../address.ts';
import * as v from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { LinkRef, Neigh, NeighEntry } from '../types.ts';
import type { OpContext } from './context.ts';
import { linkIndex, namesFor } from './lookup.ts';

const STATES: Array<[number, string]> = [
  [NUD_PERMANENT, 'permanent'], [NUD_NOARP, 'noarp'], [NUD_REACHABLE, 'reachable'], [NUD_STALE, 'stale'],
  [NUD_DELAY, 'delay'], [NUD_PROBE, 'probe'], [NUD_FAILED, 'failed'], [NUD_INCOMPLETE, 'incomplete'],
];
export const nudName = (state: number): string => STATES.find(([bit]) => state & bit)?.[1] ?? 'none';

/** Adds (or with replace: true, sets) a neighbour; permanent unless told otherwise. */
export async function neighAdd(o: OpContext, n: Neigh & { replace?: boolean }): Promise<void> {
  const ctx: Ctx = { op: 'adding', object: `neighbour ${n?.ip} on ${v.refText(n?.dev)}` };
  v.linkRef(ctx, n.dev);
  const ip = v.ip(ctx, n.ip);
  const mac = v.mac(ctx, n.mac);
  const index = await linkIndex(o, n.dev, ctx);
  const state = n.permanent === false ? NUD_REACHABLE : NUD_PERMANENT;
  await o.send({
    type: RTM_NEWNEIGH, flags: NLM_F_CREATE | (n.replace ? NLM_F_REPLACE : NLM_F_EXCL),
    payload: encodeNd({ family: ip.family === 4 ? AF_INET : AF_INET6, index, state }, [attr(NDA_DST, ip.bytes), attr(NDA_LLADDR, mac)]),
    ...ctx,
  });
}

export async function neighDel(o: OpContext, n: { dev: LinkRef; ip: string }): Promise<void> {
  const ctx: Ctx = { op: 'deleting', object: `neighbour ${n?.ip} on ${v.refText(n?.dev)}` };
  v.linkRef(ctx, n.dev);
  const ip = v.ip(ctx, n.ip);
  const index = await linkIndex(o, n.dev, ctx);
  await o.send({
    type: RTM_DELNEIGH, payload: encodeNd({ family: ip.family === 4 ? AF_INET : AF_INET6, index }, [attr(NDA_DST, ip.bytes)]), ...ctx,
  });
}

export async function neighList(o: OpContext, dev?: LinkRef): Promise<NeighEntry[]> {
  const ctx: Ctx = { op: 'listing', object: dev === undefined ? `neighbours in ${o.sock.where}` : `neighbours of ${v.refText(dev)}` };
  if (dev !== undefined) v.linkRef(ctx, dev);
  const names = await namesFor(o, ctx, dev);
  // AF_UNSPEC dumps every family, AF_BRIDGE forwarding entries included: keep IP ones.
  const msgs = await o.sock.run({ type: RTM_GETNEIGH, dump: true, payload: encodeNd({ family: AF_UNSPEC }), ...ctx });
  const out: NeighEntry[] = [];
  for (const m of msgs) {
    const { hdr, attrs } = decodeNd(m.payload);
    const name = names.get(hdr.index);
    const dst = attrs.get(NDA_DST);
    if (name === undefined || !dst || (hdr.family !== AF_INET && hdr.family !== AF_INET6)) continue;
    out.push({ dev: name, ip: formatIp(dst), mac: formatMac(attrs.get(NDA_LLADDR)), permanent: (hdr.state & NUD_PERMANENT) !== 0, state: nudName(hdr.state) });
  }
  return out;
}
