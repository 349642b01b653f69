// A table's unicast routes kept current from the kernel's route
// notifications, so that a look at them costs a non-blocking read of what
// changed instead of a dump: on a host with a thousand bridges, dumping and
// decoding the main table took 1-2 ms at every network create.
//
// The kernel does not announce every route it removes: a link going down
// or away takes its routes silently (IPv4's fib_sync_down_dev and flush,
// IPv6's cleanup with skip_notify), and so does an IPv4 address leaving (the
// routes that used it as source, or all of the device's when it was the
// last). So the watch also hears link and address changes: a link down or
// gone drops its IPv4 routes as the kernel does, and anything it cannot
// follow exactly (an IPv6 route on such a link, a route over several
// devices, a route tied to a removed address) makes the next look dump.
import { IFA_ADDRESS, IFA_LOCAL, IFF_UP, NLM_F_REPLACE, RT_TABLE_MAIN, RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_NEWLINK, RTM_NEWROUTE } from '../constants.ts';
import { formatIp } from '../address.ts';
import { decodeIfAddr } from '../codec/ifaddrmsg.ts';
import { decodeMessages } from '../codec/nlmsghdr.ts';
import { NetlinkError, fromNative } from '../errors.ts';
import { native } from '../native.ts';
import * as v from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { Family, Route } from '../types.ts';
import type { OpContext } from './context.ts';
import { routeList, routeOf } from './routes.ts';

// The multicast groups (RTMGRP_*): links, and each family's addresses and routes.
const RTMGRP_LINK = 0x1;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV4_ROUTE = 0x40;
const RTMGRP_IPV6_IFADDR = 0x100;
const RTMGRP_IPV6_ROUTE = 0x400;
// Losses in a row a look reads past before it gives up (each drain reads
// everything queued, so only a flood of changes gets here).
const MAX_LOSSES = 8;
const NO_NAMES: ReadonlyMap<number, string> = new Map();

export interface RouteWatch {
  /** The table's unicast routes of the watched families now; devices as "if<index>". */
  list(): Promise<Route[]>;
  /** How many dumps the looks so far made (the first look's included). */
  readonly dumps: number;
  /** Closes the watching socket; list() then fails with CLOSED. */
  close(): void;
}

// A route's identity, with its device and gateway: two routes that differ
// only there (an appended one, ECMP) are two entries, and deleting one
// leaves the other.
const keyOf = (r: Route): string => `${r.family} ${r.dst} ${r.metric ?? ''} ${r.dev ?? ''} ${r.gateway ?? ''}`;
// What a replace takes the place of: the same destination and metric.
const slotOf = (r: Route): string => `${r.family} ${r.dst} ${r.metric ?? ''} `;

export async function routeWatch(o: OpContext, filter: { families?: Family[]; table?: number } = {}): Promise<RouteWatch> {
  const ctx: Ctx = { op: 'watching', object: `routes in ${o.sock.where}` };
  const table = filter.table === undefined ? RT_TABLE_MAIN : v.int(ctx, filter.table, 'table', 1, 0xffffffff);
  const families = filter.families ?? [4, 6];
  for (const f of families) v.oneOf(ctx, String(f), 'family', ['4', '6']);
  const groups = RTMGRP_LINK
    | (families.includes(4) ? RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_IFADDR : 0)
    | (families.includes(6) ? RTMGRP_IPV6_ROUTE | RTMGRP_IPV6_IFADDR : 0);
  let fd: number;
  try {
    fd = await o.withNs((nsFd) => native.openRtnl(nsFd, groups));
  } catch (e) {
    throw fromNative(e, ctx.op, ctx.object);
  }
  let routes: Map<string, Route> | null = null;
  let closed = false;
  let dumps = 0;

  /** What changed since the last drain; null when the kernel dropped some. */
  const drain = (): Buffer | null => {
    try {
      return native.drain(fd);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOBUFS') return null;
      throw fromNative(e, ctx.op, ctx.object);
    }
  };
  /** Applies what changed; false when the routes can no longer be known without a dump. */
  const apply = (have: Map<string, Route>, buf: Buffer): boolean => {
    for (const m of decodeMessages(buf)) {
      if (m.type === RTM_NEWROUTE || m.type === RTM_DELROUTE) {
        const r = routeOf(m.payload, table, NO_NAMES);
        if (!r?.family || !families.includes(r.family)) continue;
        const key = keyOf(r);
        if (m.type === RTM_DELROUTE) {
          have.delete(key);
          continue;
        }
        if (m.flags & NLM_F_REPLACE) {
          const slot = slotOf(r);
          for (const k of have.keys()) if (k.startsWith(slot)) have.delete(k);
        }
        have.set(key, r);
      } else if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
        // struct ifinfomsg: the index at 4, the flags at 8. A link that is
        // up keeps its routes; one down or gone has none left.
        if (m.payload.length < 12 || (m.type === RTM_NEWLINK && m.payload.readUInt32LE(8) & IFF_UP)) continue;
        const dev = `if${m.payload.readInt32LE(4)}`;
        for (const [k, r] of have) {
          if (r.dev === undefined || (r.dev === dev && r.family === 6)) return false;
          if (r.dev === dev) have.delete(k);
        }
      } else if (m.type === RTM_DELADDR) {
        const { hdr, attrs } = decodeIfAddr(m.payload);
        const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
        const addr = raw ? formatIp(raw) : undefined;
        const dev = `if${hdr.index}`;
        for (const r of have.values()) if (r.dev === dev || (addr !== undefined && r.src === addr)) return false;
      }
    }
    return true;
  };

  return {
    async list(): Promise<Route[]> {
      if (closed) throw new NetlinkError({ code: 'CLOSED', ...ctx, detail: 'the route watch is closed' });
      if (routes) {
        const changes = drain();
        if (changes && apply(routes, changes)) return [...routes.values()];
        routes = null;
      }
      // The first look, notifications were lost, or a change the watch
      // cannot follow: what is queued now predates the dump, which is the
      // truth; what comes during it is applied at the next look (a change
      // seen twice lands the same).
      for (let losses = 0; drain() === null; losses++) {
        if (losses >= MAX_LOSSES) throw new NetlinkError({ code: 'ENOBUFS', ...ctx, detail: 'route changes keep overflowing the watch' });
      }
      dumps++;
      const fresh = new Map<string, Route>();
      for (const f of families) for (const r of await routeList(o, { family: f, table, devNames: false })) fresh.set(keyOf(r), r);
      if (closed) throw new NetlinkError({ code: 'CLOSED', ...ctx, detail: 'the route watch is closed' });
      routes = fresh;
      return [...fresh.values()];
    },
    get dumps(): number {
      return dumps;
    },
    close(): void {
      if (closed) return;
      closed = true;
      native.close(fd);
    },
  };
}
