// Interface names to indexes and back, asked of the kernel each time: a
// cache would go stale when links are renamed or moved between namespaces.
import { AF_UNSPEC, IFLA_EXT_MASK, IFLA_IFNAME, RTEXT_FILTER_SKIP_STATS, RTM_GETLINK } from '../constants.ts';
import { attrStr, attrU32 } from '../codec/attributes.ts';
import { decodeIfInfo, encodeIfInfo } from '../codec/ifinfomsg.ts';
import { decodeLink } from '../codec/link.ts';
import { NetlinkError } from '../errors.ts';
import type { Link } from '../types.ts';
import type { Ctx } from '../validate.ts';
import type { OpContext } from './context.ts';

const skipStats = attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

/** The link called `name`, or null when there is none (ENODEV). */
export async function getLinkMsg(o: OpContext, name: string): Promise<Buffer | null> {
  try {
    const [m] = await o.sock.run({
      type: RTM_GETLINK, payload: encodeIfInfo({ family: AF_UNSPEC }, [attrStr(IFLA_IFNAME, name), skipStats]),
      op: 'reading', object: `link "${name}"`,
    });
    return m ? m.payload : null;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENODEV') return null;
    throw e;
  }
}

/** The index of `name`; ENODEV in the caller's words when it is missing. */
export async function linkIndex(o: OpContext, name: string, ctx: Ctx, role = 'link'): Promise<number> {
  const p = await getLinkMsg(o, name);
  if (!p) throw new NetlinkError({ code: 'ENODEV', op: ctx.op, object: ctx.object, detail: `no ${role} "${name}" in ${o.sock.where}` });
  return decodeIfInfo(p).hdr.index;
}

export async function listLinks(o: OpContext): Promise<Link[]> {
  const msgs = await o.sock.run({
    type: RTM_GETLINK, dump: true, payload: encodeIfInfo({ family: AF_UNSPEC }, [skipStats]),
    op: 'listing', object: `links in ${o.sock.where}`,
  });
  return msgs.map((m) => decodeLink(m.payload));
}

export async function linkNames(o: OpContext): Promise<Map<number, string>> {
  return new Map((await listLinks(o)).map((l) => [l.index, l.name]));
}
