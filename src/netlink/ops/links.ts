// Links: create (every kind), delete, read, change.
import {
  AF_INET6, AF_UNSPEC, IFALIASZ, IFF_UP, IFLA_ADDRESS, IFLA_AF_SPEC, IFLA_GROUP, IFLA_INET6_ADDR_GEN_MODE, IFLA_IFALIAS, IFLA_IFNAME, IFLA_LINK, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD, IPVLAN_FLAGS, IPVLAN_MODES,
  MACVLAN_MODES, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, RTM_DELLINK, RTM_NEWLINK, RTM_SETLINK,
} from '../constants.ts';
import { attr, attrS32, attrStr, attrU32 } from '../codec/attributes.ts';
import { encodeIfInfo } from '../codec/ifinfomsg.ts';
import { decodeLink } from '../codec/link.ts';
import { encodeLinkInfo } from '../codec/linkinfo.ts';
import type { LinkInfoWire } from '../codec/linkinfo.ts';
import { NetlinkError, fromNative } from '../errors.ts';
import { native } from '../native.ts';
import * as v from '../validate.ts';
import type { Ctx } from '../validate.ts';
import type { Link, LinkChange, LinkRef, LinkSpec } from '../types.ts';
import type { OpContext } from './context.ts';
import { getLinkMsg, linkIndex } from './lookup.ts';

const MTU_MIN = 68; // the IPv4 minimum; kinds may ask more (the kernel says so)
const MTU_MAX = 65535;
const KINDS = ['bridge', 'veth', 'vxlan', 'macvlan', 'ipvlan', 'vlan', 'dummy', 'tap'] as const;

/** Checks a spec completely; returns the wire form minus what needs lookups. */
function checkSpec(ctx: Ctx, s: LinkSpec): { common: Buffer[]; info: LinkInfoWire | null; parent?: LinkRef; vxlanDev?: LinkRef; nsFd?: number } {
  v.ifName(ctx, s.name);
  v.oneOf(ctx, s.kind, 'link kind', KINDS);
  if (s.up !== undefined) bool(ctx, s.up, 'up');
  if (s.alias !== undefined) alias(ctx, s.alias);
  const common = [attrStr(IFLA_IFNAME, s.name)];
  if (s.mtu !== undefined) common.push(attrU32(IFLA_MTU, v.int(ctx, s.mtu, 'MTU', MTU_MIN, MTU_MAX)));
  if (s.mac !== undefined) common.push(attr(IFLA_ADDRESS, v.mac(ctx, s.mac)));
  switch (s.kind) {
    case 'bridge':
      return { common, info: { kind: 'bridge' } };
    case 'dummy':
      return { common, info: { kind: 'dummy' } };
    case 'vlan':
      return { common, info: { kind: 'vlan', id: v.int(ctx, s.vlanId, 'VLAN id', 1, 4094) }, parent: v.linkRef(ctx, s.parent, 'parent') };
    case 'tap':
      return { common, info: null };
    case 'veth': {
      const p = s.peer;
      if (!p || typeof p !== 'object') v.fail(ctx, 'INVALID_VALUE', 'a veth needs peer: { name }');
      v.ifName(ctx, p.name, 'peer name');
      const peer: LinkInfoWire & { kind: 'veth' } = { kind: 'veth', peer: { name: p.name } };
      const mtu = p.mtu ?? s.mtu;
      if (mtu !== undefined) peer.peer.mtu = v.int(ctx, mtu, 'peer MTU', MTU_MIN, MTU_MAX);
      if (p.mac !== undefined) peer.peer.mac = v.mac(ctx, p.mac, 'peer MAC address');
      if (p.up !== undefined) bool(ctx, p.up, 'peer up');
      if (p.netns) peer.peer.nsFd = p.netns.fd;
      else if (p.name === s.name) v.fail(ctx, 'INVALID_NAME', `peer name "${p.name}" equals the link's name in the same namespace`);
      return { common, info: peer };
    }
    case 'vxlan': {
      const info: LinkInfoWire & { kind: 'vxlan' } = { kind: 'vxlan', vni: v.int(ctx, s.vni, 'VNI', 0, 0xffffff) };
      if (s.local !== undefined) info.local = v.ip(ctx, s.local, 'local address');
      if (s.group !== undefined) info.group = v.ip(ctx, s.group, 'group/remote address');
      v.sameFamily(ctx, [['local', info.local], ['group', info.group]]);
      if (s.port !== undefined) info.port = v.int(ctx, s.port, 'UDP port', 1, 65535);
      if (s.ttl !== undefined) info.ttl = v.int(ctx, s.ttl, 'TTL', 0, 255);
      // The kernel learns by default; say it either way so the result is explicit.
      info.learning = s.learning ?? true;
      const out: ReturnType<typeof checkSpec> = { common, info };
      if (s.dev !== undefined) out.vxlanDev = v.linkRef(ctx, s.dev, 'underlay device');
      // The kernel keeps the creating namespace as the device's "source"
      // one: its UDP socket lives there, wherever the device itself goes.
      if (s.netns) out.nsFd = s.netns.fd;
      return out;
    }
    case 'macvlan':
    case 'ipvlan': {
      const parent = v.linkRef(ctx, s.parent, 'parent');
      const info: LinkInfoWire = s.kind === 'macvlan'
        ? { kind: 'macvlan', mode: MACVLAN_MODES[v.oneOf(ctx, s.mode, 'macvlan mode', Object.keys(MACVLAN_MODES) as Array<keyof typeof MACVLAN_MODES>)] }
        : {
          kind: 'ipvlan',
          mode: IPVLAN_MODES[v.oneOf(ctx, s.mode, 'ipvlan mode', Object.keys(IPVLAN_MODES) as Array<keyof typeof IPVLAN_MODES>)],
          flags: IPVLAN_FLAGS[v.oneOf(ctx, s.flag ?? 'bridge', 'ipvlan flag', Object.keys(IPVLAN_FLAGS) as Array<keyof typeof IPVLAN_FLAGS>)],
        };
      const out: ReturnType<typeof checkSpec> = { common, info, parent };
      // Created beside its parent, then born in the target namespace.
      if (s.netns) out.nsFd = s.netns.fd;
      return out;
    }
  }
}

/** The kernel takes up to IFALIASZ - 1 bytes; sent without a NUL, as
 *  iproute2 does (dev_set_alias() would keep a NUL as part of the alias). */
function alias(ctx: Ctx, x: unknown): Buffer {
  const b = typeof x === 'string' && !x.includes('\0') ? Buffer.from(x, 'utf8') : null;
  if (!b || b.length >= IFALIASZ) v.fail(ctx, 'INVALID_VALUE', `alias ${JSON.stringify(x)} must be a string of at most ${IFALIASZ - 1} bytes without NUL`);
  return b;
}

function bool(ctx: Ctx, x: unknown, what: string): boolean {
  if (typeof x !== 'boolean') v.fail(ctx, 'INVALID_VALUE', `${what} ${JSON.stringify(x)} must be true or false`);
  return x;
}

function describe(s: LinkSpec): string {
  if (s.kind === 'veth' && s.peer && typeof s.peer === 'object') return `link "${s.name}" (veth, peer "${s.peer.name}")`;
  return `link "${s.name}"${typeof s.kind === 'string' ? ` (${s.kind})` : ''}`;
}

/** Creates the link and returns it as the kernel reports it (index, MAC,
 *  and for a veth the peer's index). */
export async function linkAdd(o: OpContext, s: LinkSpec): Promise<Link> {
  // Another namespace's fd travels in the request: keep it open until done.
  const other = s?.kind === 'veth' ? s.peer?.netns : s?.kind === 'macvlan' || s?.kind === 'ipvlan' || s?.kind === 'vxlan' ? s.netns : undefined;
  return other ? other.use(() => create(o, s)) : create(o, s);
}

async function create(o: OpContext, s: LinkSpec): Promise<Link> {
  const ctx: Ctx = { op: 'creating', object: describe(s) };
  const c = checkSpec(ctx, s);
  if (!c.info) return tapAdd(o, ctx, s);
  const attrs = [...c.common];
  if (c.parent !== undefined) attrs.push(attrU32(IFLA_LINK, await linkIndex(o, c.parent, ctx, 'parent link')));
  if (c.vxlanDev !== undefined && c.info.kind === 'vxlan') c.info.link = await linkIndex(o, c.vxlanDev, ctx, 'underlay device');
  if (c.nsFd !== undefined) attrs.push(attrS32(IFLA_NET_NS_FD, c.nsFd));
  // The kernel plugs the new link into its master after raising it, within this message.
  if (s.master !== undefined) attrs.push(attrU32(IFLA_MASTER, await linkIndex(o, v.linkRef(ctx, s.master, 'master'), ctx, 'master')));
  attrs.push(encodeLinkInfo(c.info));
  // One message creates the whole object (both veth ends, even in two
  // namespaces), so a failure leaves nothing behind.
  const up = s.up ? { flags: IFF_UP, change: IFF_UP } : {};
  // NLM_F_ECHO: the kernel (6.1+) sends the new link back, which saves a
  // lookup for callers that go on by index; older kernels: read it back.
  const echo = await o.sock.run({ type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, payload: encodeIfInfo({ family: AF_UNSPEC, ...up }, attrs), ...ctx });
  // A macvlan/ipvlan/vxlan born in another namespace is announced there, not here.
  const home = (s.kind === 'macvlan' || s.kind === 'ipvlan' || s.kind === 'vxlan') && s.netns ? s.netns.rtnl : null;
  const made = echo.filter((m) => m.type === RTM_NEWLINK).map((m) => decodeLink(m.payload)).findLast((l) => l.name === s.name)
    ?? await (home ? home.linkGet(s.name) : linkGet(o, s.name));
  if (!made) throw new NetlinkError({ code: 'ENODEV', ...ctx, detail: 'the link vanished right after creation' });
  // A veth peer cannot be raised in the creating message: veth_newlink
  // configures it before the two ends are joined, and opening a lone end is
  // ENOTCONN. So raise it now, and delete the pair if that fails.
  // The alias, likewise: RTM_NEWLINK ignores IFLA_IFALIAS (only do_setlink
  // applies it), so it follows in a second message.
  try {
    if (s.kind === 'veth' && s.peer.up) {
      const peerNs = s.peer.netns ? s.peer.netns.rtnl : null;
      if (peerNs) await peerNs.linkSet(s.peer.name, { up: true });
      else await linkSet(o, s.peer.name, { up: true });
    }
    if (s.alias !== undefined) {
      if (home) await home.linkSet(made.index, { alias: s.alias });
      else await linkSet(o, made.index, { alias: s.alias });
      if (s.alias) made.alias = s.alias;
    }
  } catch (e) {
    await (home ? home.linkDel(made.index) : linkDel(o, made.index)).catch(() => undefined);
    throw e;
  }
  return made;
}

async function tapAdd(o: OpContext, ctx: Ctx, s: LinkSpec): Promise<Link> {
  // TUNSETIFF would quietly attach to an existing tap; refuse like RTM_NEWLINK.
  if (await getLinkMsg(o, s.name)) throw new NetlinkError({ code: 'EEXIST', op: ctx.op, object: ctx.object, detail: `a link "${s.name}" already exists in ${o.sock.where}` });
  try {
    await o.withNs((fd) => native.tapCreate(fd, s.name));
  } catch (e) {
    throw fromNative(e, ctx.op, ctx.object);
  }
  const change: LinkChange = {};
  if (s.up) change.up = true;
  if (s.mtu !== undefined) change.mtu = s.mtu;
  if (s.mac !== undefined) change.mac = s.mac;
  if (s.alias !== undefined) change.alias = s.alias;
  try {
    if (Object.keys(change).length) await linkSet(o, s.name, change);
    const made = await linkGet(o, s.name);
    if (!made) throw new NetlinkError({ code: 'ENODEV', ...ctx, detail: 'the tap vanished right after creation' });
    return made;
  } catch (e) {
    await linkDel(o, s.name).catch(() => undefined); // no half-made tap
    throw e;
  }
}

/** RTM_*LINK addressed by index, or by name for the kernel to look up. */
const byRef = (ref: LinkRef, attrs: Buffer[] = [], extra: { flags?: number; change?: number } = {}): Buffer =>
  typeof ref === 'number'
    ? encodeIfInfo({ family: AF_UNSPEC, index: ref, ...extra }, attrs)
    : encodeIfInfo({ family: AF_UNSPEC, ...extra }, [attrStr(IFLA_IFNAME, ref), ...attrs]);

export async function linkDel(o: OpContext, ref: LinkRef): Promise<void> {
  const ctx: Ctx = { op: 'deleting', object: `link ${v.refText(ref)}` };
  v.linkRef(ctx, ref);
  await o.send({ type: RTM_DELLINK, payload: byRef(ref), ...ctx });
}

/**
 * Deletes every link of device group `group` in this namespace in one
 * request (rtnl_group_dellink: one unregister_netdevice_many, so the RCU
 * grace periods a deletion waits for are paid once for all of them). A
 * veth goes with its peer, wherever that is.
 */
export async function linkDelGroup(o: OpContext, group: number): Promise<void> {
  const ctx: Ctx = { op: 'deleting', object: `links of group ${group}` };
  // Group 0 is every link's default: never delete by it.
  v.int(ctx, group, 'group', 1, 0xffffffff);
  await o.send({ type: RTM_DELLINK, payload: encodeIfInfo({ family: AF_UNSPEC }, [attrU32(IFLA_GROUP, group)]), ...ctx });
}

export async function linkGet(o: OpContext, ref: LinkRef): Promise<Link | null> {
  v.linkRef({ op: 'reading', object: `link ${v.refText(ref)}` }, ref);
  const p = await getLinkMsg(o, ref);
  return p ? decodeLink(p) : null;
}

export async function linkSet(o: OpContext, ref: LinkRef, ch: LinkChange): Promise<void> {
  return ch?.netns ? ch.netns.use(() => change(o, ref, ch)) : change(o, ref, ch);
}

async function change(o: OpContext, ref: LinkRef, ch: LinkChange): Promise<void> {
  const ctx: Ctx = { op: 'changing', object: `link ${v.refText(ref)}` };
  v.linkRef(ctx, ref);
  if (!ch || typeof ch !== 'object') v.fail(ctx, 'INVALID_VALUE', 'expected a change object');
  const attrs: Buffer[] = [];
  // The kernel applies a move to another namespace first and a new name
  // before the up flag, so { name, up: true } renames a down link and raises it.
  if (ch.netns) attrs.push(attrS32(IFLA_NET_NS_FD, ch.netns.fd));
  if (ch.name !== undefined) attrs.push(attrStr(IFLA_IFNAME, v.ifName(ctx, ch.name, 'new name')));
  if (ch.mtu !== undefined) attrs.push(attrU32(IFLA_MTU, v.int(ctx, ch.mtu, 'MTU', MTU_MIN, MTU_MAX)));
  if (ch.mac !== undefined) attrs.push(attr(IFLA_ADDRESS, v.mac(ctx, ch.mac)));
  if (ch.alias !== undefined) attrs.push(attr(IFLA_IFALIAS, alias(ctx, ch.alias)));
  if (ch.group !== undefined) attrs.push(attrU32(IFLA_GROUP, v.int(ctx, ch.group, 'group', 0, 0xffffffff)));
  if (ch.addrGenMode !== undefined) {
    const mode = v.oneOf(ctx, ch.addrGenMode, 'addrGenMode', ['eui64', 'none'] as const) === 'eui64' ? 0 : 1;
    attrs.push(attr(IFLA_AF_SPEC, attr(AF_INET6, attr(IFLA_INET6_ADDR_GEN_MODE, Buffer.from([mode])))));
  }
  const master = ch.master === undefined || ch.master === null ? ch.master : v.linkRef(ctx, ch.master, 'master');
  if (ch.up !== undefined) bool(ctx, ch.up, 'up');
  // IFLA_MASTER 0 detaches the link from its bridge.
  if (master !== undefined) attrs.push(attrU32(IFLA_MASTER, master === null ? 0 : await linkIndex(o, master, ctx, 'master')));
  const up = ch.up === undefined ? {} : { flags: ch.up ? IFF_UP : 0, change: IFF_UP };
  // Without a rename the kernel finds the link by IFLA_IFNAME itself (one
  // round trip less); a rename needs the index, IFLA_IFNAME being the new name.
  const target = ch.name !== undefined ? await linkIndex(o, ref, ctx) : ref;
  await o.send({ type: RTM_SETLINK, payload: byRef(target, attrs, up), ...ctx });
}
