// Interface names to indexes and back, asked of the kernel each time: a
// cache would go stale when links are renamed or moved between namespaces.
import { AF_UNSPEC, IFLA_EXT_MASK, IFLA_IFNAME, RTEXT_FILTER_SKIP_STATS, RTM_GETLINK } from '../constants.ts';
import { attrStr, attrU32 } from '../codec/attributes.ts';
import { decodeIfInfo, encodeIfInfo } from '../codec/ifinfomsg.ts';
import { decodeLink } from '../codec/link.ts';
import { NetlinkError } from '../errors.ts';
import type { Link, LinkRef } from '../types.ts';
import { refText } from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { OpContext } from './context.ts';

const skipStats = attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

/** The link `ref` (name or index), or null when there is none (ENODEV). */
export async function getLinkMsg(o: OpContext, ref: LinkRef): Promise<Buffer | null> {
  const payload = typeof ref === 'number'
    ? encodeIfInfo({ family: AF_UNSPEC, index: ref }, [skipStats])
    : encodeIfInfo({ family: AF_UNSPEC }, [attrStr(IFLA_IFNAME, ref), skipStats]);
  try {
    const [m] = await o.sock.run({ type: RTM_GETLINK, payload, op: 'reading', object: `link ${refText(ref)}` });
    return m ? m.payload : null;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENODEV') return null;
    throw e;
  }
}

/** The index of `ref`; ENODEV in the caller's words when it is missing.
 *  An index is taken as is: the kernel answers ENODEV for a stale one. */
export async function linkIndex(o: OpContext, ref: LinkRef, ctx: Ctx, role = 'link'): Promise<number> {
  if (typeof ref === 'number') return ref;
  const p = await getLinkMsg(o, ref);
  if (!p) throw new NetlinkError({ code: 'ENODEV', op: ctx.op, object: ctx.object, detail: `no ${role} ${refText(ref)} in ${o.sock.where}` });
  return decodeIfInfo(p).hdr.index;
}

export async function listLinks(o: OpContext): Promise<Link[]> {
  const msgs = await o.sock.run({
    type: RTM_GETLINK, dump: true, payload: encodeIfInfo({ family: AF_UNSPEC }, [skipStats]),
    op: 'listing', object: `links in ${o.sock.where}`,
  });
  return msgs.map((m) => decodeLink(m.payload, { portFlags: false }));
}

export async function linkNames(o: OpContext): Promise<Map<number, string>> {
  return new Map((await listLinks(o)).map((l) => [l.index, l.name]));
}

/** Index-to-name map for listing: just `dev` when given by name, else all links. */
export async function namesFor(o: OpContext, ctx: Ctx, dev: LinkRef | undefined): Promise<Map<number, string>> {
  if (typeof dev === 'string') return new Map([[await linkIndex(o, dev, ctx), dev]]);
  const all = await linkNames(o);
  if (dev === undefined) return all;
  const name = all.get(dev);
  if (name === undefined) throw new NetlinkError({ code: 'ENODEV', op: ctx.op, object: ctx.object, detail: `no link #${dev} in ${o.sock.where}` });
  return new Map([[dev, name]]);
}
