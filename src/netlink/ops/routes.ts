// Routes (RTM_*ROUTE), unicast only.
import {
  AF_INET, AF_INET6, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN, RT_TABLE_UNSPEC, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC, RTA_PRIORITY, RTA_TABLE, RTM_DELROUTE,
  RTM_GETROUTE, RTM_NEWROUTE, RTN_UNICAST, RTNH_F_ONLINK, RTPROT_BOOT,
} from '../constants.ts';
import { attr, attrU32, u32 } from '../codec/attributes.ts';
import { decodeRt, encodeRt } from '../codec/rtmsg.ts';
import { formatCidr, formatIp, isNetwork } from '../address.ts';
import type { Cidr, Ip } from '../address.ts';
import * as v from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { Family, Route } from '../types.ts';
import type { OpContext } from './context.ts';
import { linkIndex, linkNames } from './lookup.ts';

type Mode = 'add' | 'replace' | 'del';

function describe(r: Route): string {
  const parts = [`route ${String(r?.dst)}`];
  if (r?.gateway) parts.push(`via ${r.gateway}`);
  if (r?.dev !== undefined) parts.push(`dev ${v.refText(r.dev)}`);
  if (r?.table !== undefined) parts.push(`table ${r.table}`);
  return parts.join(' ');
}

interface Checked { family: Family; dst: Cidr | null; gateway?: Ip; src?: Ip; table: number }

export function checkRoute(ctx: Ctx, r: Route): Checked {
  if (!r || typeof r !== 'object') v.fail(ctx, 'INVALID_VALUE', 'a route needs at least { dst }');
  let dst: Cidr | null = null;
  if (r.dst !== 'default') {
    dst = v.cidr(ctx, r.dst, 'destination');
    if (!isNetwork(dst)) v.fail(ctx, 'INVALID_CIDR', `destination ${r.dst} has host bits set; expected a network address`);
  }
  const gateway = r.gateway === undefined ? undefined : v.ip(ctx, r.gateway, 'gateway');
  const src = r.src === undefined ? undefined : v.ip(ctx, r.src, 'source');
  if (r.family !== undefined) v.oneOf(ctx, String(r.family), 'family', ['4', '6']);
  const explicit = r.family === undefined ? undefined : ({ family: r.family, bytes: Buffer.alloc(0) } as Ip);
  const fam = v.sameFamily(ctx, [['family', explicit], ['destination', dst ?? undefined], ['gateway', gateway], ['source', src]]) ?? 4;
  if (r.dev !== undefined) v.linkRef(ctx, r.dev, 'device');
  if (r.dev === undefined && gateway === undefined) v.fail(ctx, 'INVALID_VALUE', 'a route needs a gateway or a device');
  if (r.onlink && r.dev === undefined) v.fail(ctx, 'INVALID_VALUE', 'an onlink route needs a device');
  const table = r.table === undefined ? RT_TABLE_MAIN : v.int(ctx, r.table, 'table', 1, 0xffffffff);
  if (r.metric !== undefined) v.int(ctx, r.metric, 'metric', 0, 0xffffffff);
  const out: Checked = { family: fam, dst, table };
  if (gateway) out.gateway = gateway;
  if (src) out.src = src;
  return out;
}

async function modify(o: OpContext, r: Route, mode: Mode): Promise<void> {
  const ctx: Ctx = { op: mode === 'del' ? 'deleting' : mode === 'add' ? 'adding' : 'replacing', object: describe(r) };
  const c = checkRoute(ctx, r);
  const attrs: Buffer[] = [attrU32(RTA_TABLE, c.table)];
  if (c.dst && c.dst.prefix > 0) attrs.push(attr(RTA_DST, c.dst.bytes));
  if (c.gateway) attrs.push(attr(RTA_GATEWAY, c.gateway.bytes));
  if (c.src) attrs.push(attr(RTA_PREFSRC, c.src.bytes));
  if (r.metric !== undefined) attrs.push(attrU32(RTA_PRIORITY, r.metric));
  if (r.dev !== undefined) attrs.push(attrU32(RTA_OIF, await linkIndex(o, r.dev, ctx, 'device')));
  // As `ip route`: a route without gateway is scope link; a delete matches any
  // scope (NOWHERE) and protocol; table ids over 255 live only in RTA_TABLE.
  const del = mode === 'del';
  const scope = del ? RT_SCOPE_NOWHERE : c.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  const payload = encodeRt({
    family: c.family === 4 ? AF_INET : AF_INET6, dstLen: c.dst?.prefix ?? 0,
    table: c.table < 256 ? c.table : RT_TABLE_UNSPEC, protocol: del ? 0 : RTPROT_BOOT, scope,
    type: del ? 0 : RTN_UNICAST, flags: r.onlink ? RTNH_F_ONLINK : 0,
  }, attrs);
  const flags = mode === 'add' ? NLM_F_CREATE | NLM_F_EXCL : mode === 'replace' ? NLM_F_CREATE | NLM_F_REPLACE : 0;
  await o.send({ type: del ? RTM_DELROUTE : RTM_NEWROUTE, flags, payload, ...ctx });
}

export const routeAdd = (o: OpContext, r: Route): Promise<void> => modify(o, r, 'add');
export const routeReplace = (o: OpContext, r: Route): Promise<void> => modify(o, r, 'replace');
export const routeDel = (o: OpContext, r: Route): Promise<void> => modify(o, r, 'del');

/**
 * Lists routes of one table (main by default). `devNames: false` leaves
 * `dev` as "if<index>": resolving names dumps every link, which on a host
 * with thousands of veths costs far more than the route dump itself.
 */
export async function routeList(o: OpContext, filter: { family?: Family; table?: number; devNames?: boolean } = {}): Promise<Route[]> {
  const ctx: Ctx = { op: 'listing', object: `routes in ${o.sock.where}` };
  const table = filter.table === undefined ? RT_TABLE_MAIN : v.int(ctx, filter.table, 'table', 1, 0xffffffff);
  const families = filter.family === undefined ? [AF_INET, AF_INET6] : [filter.family === 4 ? AF_INET : AF_INET6];
  const names = filter.devNames === false ? new Map<number, string>() : await linkNames(o);
  const out: Route[] = [];
  for (const family of families) {
    // The table in the request: with strict dump checking (the addon's
    // socket) the kernel dumps that table only, not the local table's two
    // routes per address of every bridge. Tables above 255 go in RTA_TABLE.
    const payload = table <= 255 ? encodeRt({ family, table }) : encodeRt({ family }, [attrU32(RTA_TABLE, table)]);
    // A table that does not exist is answered ENOENT: it holds no routes.
    const msgs = await o.sock.run({ type: RTM_GETROUTE, dump: true, payload, ...ctx })
      .catch((e: unknown) => { if ((e as { code?: string }).code === 'ENOENT') return []; throw e; });
    for (const m of msgs) {
      const r = routeOf(m.payload, table, names);
      if (r) out.push(r);
    }
  }
  return out;
}

/**
 * One route message (a dump's reply or a notification) as a Route; null
 * when it is no unicast route of `table`. Devices stay "if<index>" unless
 * `names` knows them.
 */
export function routeOf(payload: Buffer, table: number, names: ReadonlyMap<number, string>): Route | null {
  const { hdr, attrs } = decodeRt(payload);
  const t = u32(attrs.get(RTA_TABLE)) ?? hdr.table;
  if (hdr.type !== RTN_UNICAST || t !== table) return null;
  const dst = attrs.get(RTA_DST);
  const r: Route = { dst: dst ? formatCidr(dst, hdr.dstLen) : 'default', family: hdr.family === AF_INET ? 4 : 6, table: t };
  const gw = attrs.get(RTA_GATEWAY);
  if (gw) r.gateway = formatIp(gw);
  const oif = u32(attrs.get(RTA_OIF));
  if (oif !== undefined) r.dev = names.get(oif) ?? `if${oif}`;
  if (hdr.flags & RTNH_F_ONLINK) r.onlink = true;
  const metric = u32(attrs.get(RTA_PRIORITY));
  if (metric !== undefined) r.metric = metric;
  const src = attrs.get(RTA_PREFSRC);
  if (src) r.src = formatIp(src);
  return r;
}
