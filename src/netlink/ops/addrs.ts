// Interface addresses (RTM_*ADDR).
import {
  AF_INET, AF_INET6, AF_UNSPEC, IFA_ADDRESS, IFA_BROADCAST, IFA_F_NODAD, IFA_LOCAL, NLM_F_CREATE, NLM_F_EXCL,
  RT_SCOPE_HOST, RT_SCOPE_UNIVERSE, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR,
} from '../constants.ts';
import { attr } from '../codec/attributes.ts';
import { decodeIfAddr, encodeIfAddr } from '../codec/ifaddrmsg.ts';
import { broadcast4, formatCidr } from '../address.ts';
import type { Cidr } from '../address.ts';
import * as v from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { Address, Link, LinkRef } from '../types.ts';
import type { OpContext } from './context.ts';
import { linkIndex, listLinks, namesFor } from './lookup.ts';

function addrPayload(c: Cidr, index: number, flags: number, withBroadcast: boolean): Buffer {
  // 127/8 is host scope, as `ip addr add` picks it; IPv6 scopes the kernel derives itself.
  const scope = c.family === 4 && c.bytes[0] === 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  const attrs = [attr(IFA_LOCAL, c.bytes), attr(IFA_ADDRESS, c.bytes)];
  // IPv4 broadcast is not derived by the kernel; Docker (vishvananda/netlink) sets it too.
  if (withBroadcast && c.family === 4 && c.prefix < 31) attrs.push(attr(IFA_BROADCAST, broadcast4(c)));
  return encodeIfAddr({ family: c.family === 4 ? AF_INET : AF_INET6, prefixLen: c.prefix, flags, scope, index }, attrs);
}

export async function addrAdd(o: OpContext, dev: LinkRef, cidr: string, opts: { noDad?: boolean } = {}): Promise<void> {
  const ctx: Ctx = { op: 'adding', object: `address ${cidr} on ${v.refText(dev)}` };
  v.linkRef(ctx, dev);
  const c = v.cidr(ctx, cidr, 'address');
  // NODAD: use an IPv6 address at once instead of after duplicate detection (~1-2 s tentative).
  const flags = opts.noDad ? IFA_F_NODAD : 0;
  const index = await linkIndex(o, dev, ctx);
  await o.send({ type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL, payload: addrPayload(c, index, flags, true), ...ctx });
}

export async function addrDel(o: OpContext, dev: LinkRef, cidr: string): Promise<void> {
  const ctx: Ctx = { op: 'deleting', object: `address ${cidr} on ${v.refText(dev)}` };
  v.linkRef(ctx, dev);
  const c = v.cidr(ctx, cidr, 'address');
  const index = await linkIndex(o, dev, ctx);
  await o.send({ type: RTM_DELADDR, payload: addrPayload(c, index, 0, false), ...ctx });
}

export async function addrList(o: OpContext, dev?: LinkRef): Promise<Address[]> {
  const ctx: Ctx = { op: 'listing', object: dev === undefined ? `addresses in ${o.sock.where}` : `addresses of ${v.refText(dev)}` };
  const names = await namesFor(o, ctx, dev);
  // One device's: the kernel filters by index (strict dump checking, see the
  // addon's socket), so checking one bridge's addresses costs the same with
  // 10 or 10,000 veths in the namespace. The names map filters too (a kernel
  // that ignores the index dumps all).
  const index = dev === undefined ? 0 : [...names.keys()][0] ?? 0;
  return dumpAddrs(o, ctx, index, names);
}

/**
 * Every link and every address of the namespace, the addresses named from
 * the same link dump: two dumps where a link list and an address list
 * would take three (naming addresses takes a link dump of its own).
 */
export async function linksAndAddrs(o: OpContext): Promise<{ links: Link[]; addrs: Address[] }> {
  const links = await listLinks(o);
  const ctx: Ctx = { op: 'listing', object: `addresses in ${o.sock.where}` };
  return { links, addrs: await dumpAddrs(o, ctx, 0, new Map(links.map((l) => [l.index, l.name]))) };
}

async function dumpAddrs(o: OpContext, ctx: Ctx, index: number, names: ReadonlyMap<number, string>): Promise<Address[]> {
  const msgs = await o.sock.run({ type: RTM_GETADDR, dump: true, payload: encodeIfAddr({ family: AF_UNSPEC, index }), ...ctx });
  const out: Address[] = [];
  for (const m of msgs) {
    const { hdr, attrs } = decodeIfAddr(m.payload);
    const name = names.get(hdr.index);
    if (name === undefined) continue;
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
    const bytes = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
    if (!bytes || (hdr.family !== AF_INET && hdr.family !== AF_INET6)) continue;
    out.push({ dev: name, family: hdr.family === AF_INET ? 4 : 6, cidr: formatCidr(bytes, hdr.prefixLen) });
  }
  return out;
}
