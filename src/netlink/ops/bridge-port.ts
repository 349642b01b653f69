// Per-port settings of a bridge (IFLA_BRPORT_*), set through the port's
// IFLA_INFO_SLAVE_DATA, as `ip link set dev X type bridge_slave ...` does.
import {
  AF_UNSPEC, IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING, IFLA_BRPORT_MODE, IFLA_BRPORT_NEIGH_SUPPRESS, RTM_NEWLINK,
} from '../constants.ts';
import { attrU8 } from '../codec/attributes.ts';
import { encodeIfInfo } from '../codec/ifinfomsg.ts';
import { encodeSlaveInfo } from '../codec/linkinfo.ts';
import { decodeLink } from '../codec/link.ts';
import { NetlinkError } from '../errors.ts';
import * as v from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { BridgePortFlags, LinkRef } from '../types.ts';
import type { OpContext } from './context.ts';
import { getLinkMsg, linkIndex } from './lookup.ts';

const ATTRS: Record<keyof BridgePortFlags, number> = {
  hairpin: IFLA_BRPORT_MODE, learning: IFLA_BRPORT_LEARNING, isolated: IFLA_BRPORT_ISOLATED, neighSuppress: IFLA_BRPORT_NEIGH_SUPPRESS,
};

export async function bridgePortSet(o: OpContext, dev: LinkRef, flags: BridgePortFlags): Promise<void> {
  const ctx: Ctx = { op: 'changing', object: `bridge port ${v.refText(dev)}` };
  v.linkRef(ctx, dev);
  const data: Buffer[] = [];
  for (const [k, val] of Object.entries(flags ?? {})) {
    const t = ATTRS[k as keyof BridgePortFlags];
    if (t === undefined) v.fail(ctx, 'INVALID_VALUE', `unknown bridge port flag ${JSON.stringify(k)}; expected ${Object.keys(ATTRS).join(', ')}`);
    if (val === undefined) continue;
    if (typeof val !== 'boolean') v.fail(ctx, 'INVALID_VALUE', `${k} ${JSON.stringify(val)} must be true or false`);
    data.push(attrU8(t, val ? 1 : 0));
  }
  if (data.length === 0) return;
  const index = await linkIndex(o, dev, ctx);
  // Slave data goes through RTM_NEWLINK (changelink); RTM_SETLINK ignores it.
  // EOPNOTSUPP from the kernel means the link is no bridge port.
  await o.send({ type: RTM_NEWLINK, payload: encodeIfInfo({ family: AF_UNSPEC, index }, [encodeSlaveInfo('bridge', data)]), ...ctx });
}

export async function bridgePortGet(o: OpContext, dev: LinkRef): Promise<Required<BridgePortFlags>> {
  const ctx: Ctx = { op: 'reading', object: `bridge port ${v.refText(dev)}` };
  v.linkRef(ctx, dev);
  const p = await getLinkMsg(o, dev);
  if (!p) throw new NetlinkError({ code: 'ENODEV', ...ctx, detail: `no link ${v.refText(dev)} in ${o.sock.where}` });
  const f = decodeLink(p).bridgePort;
  if (!f) throw new NetlinkError({ code: 'EOPNOTSUPP', ...ctx, detail: `${v.refText(dev)} is not a port of a bridge` });
  return { hairpin: f.hairpin ?? false, learning: f.learning ?? false, isolated: f.isolated ?? false, neighSuppress: f.neighSuppress ?? false };
}
