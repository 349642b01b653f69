// An in-memory kernel for unit tests of the core and the drivers: network
// namespaces holding links (with per-namespace indexes), addresses, routes
// and sysctls, behind the same NetnsHandle / NetnsProvider types as the real
// Netns, so tsc catches any drift between the two. It models what the core
// relies on:
// - deleting one end of a veth deletes the other (in whatever namespace);
// - deleting a bridge frees its ports; addresses, routes and per-interface
//   sysctls vanish with their link, and with a move to another namespace;
// - a namespace whose path was removed lives until its last handle closes,
//   then takes its links with it (and so the host ends of its veths);
// - names are unique per namespace (EEXIST), an up link cannot be renamed
//   (EBUSY), a missing link is ENODEV, a missing address EADDRNOTAVAIL.
// Connected (prefix) routes are not modelled: only routes added by calls.
// Every call counts in the world's Faults and fails (EIO) when it is the
// chosen one; a failed call changes nothing.
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NetlinkError } from '../../src/netlink/index.ts';
import type {
  Address, BatchOps, BridgePortFlags, Family, Link, LinkChange, LinkRef, LinkSpec, NetnsHandle, NetnsProvider, Route, RouteWatch, RtnlOps,
} from '../../src/netlink/index.ts';
import { Faults } from './faults.ts';

const IFNAMSIZ = 16;
const MAIN_TABLE = 254;

interface FLink {
  ns: NsState;
  index: number;
  name: string;
  kind: string | null;
  mtu: number;
  mac: string;
  /** Set by a call (addr_assign_type NET_ADDR_SET), not random. */
  macSet?: boolean;
  up: boolean;
  master: FLink | null;
  alias?: string;
  group?: number;
  peer?: FLink;
  parent?: FLink;
  bridgePort?: Required<BridgePortFlags>;
}
interface FAddr { link: FLink; family: Family; cidr: string }
interface FRoute { dst: string; family: Family; table: number; gateway?: string; link?: FLink; metric?: number }

class NsState {
  readonly path: string;
  readonly id: number;
  mounted = true;
  handles = 0;
  dead = false;
  nextIndex = 1;
  readonly links = new Map<number, FLink>();
  addrs: FAddr[] = [];
  routes: FRoute[] = [];
  readonly sysctls = new Map<string, string>();

  constructor(path: string, id: number) {
    this.path = path;
    this.id = id;
  }

  byRef(ref: LinkRef): FLink | undefined {
    if (typeof ref === 'number') return this.links.get(ref);
    for (const l of this.links.values()) if (l.name === ref) return l;
    return undefined;
  }

  named(name: string): FLink | undefined {
    return this.byRef(name);
  }
}

let macSeq = 0;
const nextMac = (): string => `02:fa:${[0, 0, 0, 0].map((_, i) => ((++macSeq >> (8 * (3 - i))) & 0xff).toString(16).padStart(2, '0')).join(':')}`;

const fail = (code: string, op: string, object: string, detail?: string): never => {
  throw new NetlinkError({ code: code as `E${string}`, op, object, ...(detail ? { detail } : {}) });
};

/** IPv4 a.b.c.d -> number, for "is the gateway in this subnet". */
function v4(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

function covers(cidr: string, ip: string): boolean {
  const [addr = '', len = '32'] = cidr.split('/');
  if (addr.includes(':') || ip.includes(':')) return addr.includes(':') === ip.includes(':');
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((v4(addr) & mask) >>> 0) === ((v4(ip) & mask) >>> 0);
}

function checkName(op: string, name: unknown): string {
  if (typeof name !== 'string' || !name || Buffer.byteLength(name) >= IFNAMSIZ || /[/\s:]/.test(name)) {
    throw new NetlinkError({ code: 'INVALID_NAME', op, object: `link ${JSON.stringify(name)}`, detail: 'expected 1-15 bytes, no "/", ":" or space' });
  }
  return name;
}

/** A namespace's kernel objects as data, without indexes (they differ between runs). */
export interface NsSnapshot {
  /** mac: 'random' when the kernel chose it (it differs each time a link is made). */
  links: { name: string; kind: string | null; up: boolean; mtu: number; mac: string; alias: string | null; master: string | null; peer: string | null; bridgePort: Required<BridgePortFlags> | null }[];
  addrs: string[];
  routes: string[];
  sysctls: string[];
}

export class FakeKernel {
  readonly faults: Faults;
  private readonly spaces = new Set<NsState>();
  private nsSeq = 0;

  constructor(faults: Faults = new Faults()) {
    this.faults = faults;
  }

  /** Counts one call; the chosen one fails with EIO. */
  hit(what: string): void {
    this.faults.hit(`netlink ${what}`, (m) => new NetlinkError({ code: 'EIO', op: 'injected', object: what, detail: m }));
  }

  /** A new namespace at `path` with lo (down, as the kernel makes it). */
  addNamespace(path: string): NsState {
    if (this.mountedAt(path)) fail('EEXIST', 'creating', `namespace "${path}"`);
    const ns = new NsState(path, ++this.nsSeq);
    this.spaces.add(ns);
    this.newLink(ns, { name: 'lo', kind: null, mtu: 65536, mac: '00:00:00:00:00:00', up: false, master: null });
    return ns;
  }

  mountedAt(path: string): NsState | undefined {
    for (const ns of this.spaces) if (ns.mounted && ns.path === path) return ns;
    return undefined;
  }

  /** A handle on the namespace mounted at `path` (a test's way in; counts no call). */
  handle(path: string): FakeNetns {
    const ns = this.mountedAt(path) ?? fail('ENOENT', 'opening', `namespace "${path}"`);
    return new FakeNetns(this, ns);
  }

  /** Unmounts the path; the namespace ends when no handle holds it. */
  unmount(path: string): void {
    const ns = this.mountedAt(path) ?? fail('ENOENT', 'removing', `namespace "${path}"`);
    ns.mounted = false;
    this.maybeDestroy(ns);
  }

  maybeDestroy(ns: NsState): void {
    if (ns.mounted || ns.handles > 0 || ns.dead) return;
    ns.dead = true;
    // default_device_exit: virtual links die with their namespace (a veth
    // takes its peer in the other namespace along).
    for (const l of [...ns.links.values()]) if (l.ns === ns && ns.links.has(l.index)) this.destroyLink(l);
    this.spaces.delete(ns);
  }

  newLink(ns: NsState, l: Omit<FLink, 'ns' | 'index'>): FLink {
    const link: FLink = { ...l, ns, index: ns.nextIndex++ };
    ns.links.set(link.index, link);
    return link;
  }

  /** Removes a link and everything that hangs on it. */
  destroyLink(l: FLink): void {
    const ns = l.ns;
    if (!ns.links.delete(l.index)) return;
    this.detachState(l);
    if (l.kind === 'bridge') {
      for (const p of ns.links.values()) if (p.master === l) { p.master = null; delete p.bridgePort; }
    }
    // macvlan/ipvlan children go with their parent.
    for (const s of this.spaces) for (const c of [...s.links.values()]) if (c.parent === l) this.destroyLink(c);
    if (l.peer) {
      const p = l.peer;
      delete l.peer;
      delete p.peer;
      this.destroyLink(p);
    }
  }

  /** Addresses, routes and per-interface sysctls of a link: gone when it leaves its namespace. */
  private detachState(l: FLink): void {
    const ns = l.ns;
    ns.addrs = ns.addrs.filter((a) => a.link !== l);
    ns.routes = ns.routes.filter((r) => r.link !== l);
    for (const k of [...ns.sysctls.keys()]) if (k.includes(`/conf/${l.name}/`)) ns.sysctls.delete(k);
  }

  /** Moves a link into another namespace: a new index there, no addresses, no master. */
  moveLink(l: FLink, to: NsState): void {
    if (to.named(l.name)) fail('EEXIST', 'changing', `link "${l.name}"`, `a link "${l.name}" exists in ${to.path}`);
    this.detachState(l);
    l.ns.links.delete(l.index);
    if (l.kind === 'bridge') for (const p of l.ns.links.values()) if (p.master === l) { p.master = null; delete p.bridgePort; }
    l.master = null;
    delete l.bridgePort;
    l.up = false;
    l.ns = to;
    l.index = to.nextIndex++;
    to.links.set(l.index, l);
  }

  toLink(l: FLink): Link {
    const out: Link = { index: l.index, name: l.name, kind: l.kind, mtu: l.mtu, mac: l.mac, up: l.up, master: l.master?.index ?? null, operState: l.up ? 'up' : 'down' };
    if (l.alias !== undefined) out.alias = l.alias;
    if (l.group) out.group = l.group;
    if (l.peer) {
      out.peerIndex = l.peer.index;
      if (l.peer.ns !== l.ns) out.linkNetnsId = l.peer.ns.id;
    }
    if (l.parent) out.parentIndex = l.parent.index;
    if (l.bridgePort) out.bridgePort = { ...l.bridgePort };
    return out;
  }

  /** Every live namespace's objects, keyed by path (an unmounted one still alive: "path (unmounted)"). */
  snapshot(): Record<string, NsSnapshot> {
    const out: Record<string, NsSnapshot> = {};
    const spaces = [...this.spaces].sort((a, b) => a.path.localeCompare(b.path) || a.id - b.id);
    for (const ns of spaces) {
      const links = [...ns.links.values()].map((l) => ({
        name: l.name, kind: l.kind, up: l.up, mtu: l.mtu, mac: l.macSet ? l.mac : 'random', alias: l.alias ?? null,
        master: l.master?.name ?? null, peer: l.peer ? `${l.peer.ns.path}:${l.peer.name}` : null, bridgePort: l.bridgePort ?? null,
      })).sort((a, b) => a.name.localeCompare(b.name));
      out[ns.mounted ? ns.path : `${ns.path} (unmounted)`] = {
        links,
        addrs: ns.addrs.map((a) => `${a.link.name} ${a.cidr}`).sort(),
        routes: ns.routes.map((r) => `${r.table} ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.link ? ` dev ${r.link.name}` : ''}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`).sort(),
        sysctls: [...ns.sysctls].map(([k, v]) => `${k}=${v}`).sort(),
      };
    }
    return out;
  }

  /** The namespace state behind a handle the fake made. */
  stateOf(h: NetnsHandle): NsState {
    if (!(h instanceof FakeNetns)) throw new Error('the fake kernel takes only its own namespace handles');
    return h.state;
  }
}

export class FakeRtnl implements RtnlOps {
  readonly #k: FakeKernel;
  readonly #h: FakeNetns;

  constructor(k: FakeKernel, h: FakeNetns) {
    this.#k = k;
    this.#h = h;
  }

  get #ns(): NsState {
    if (this.#h.closed) throw new NetlinkError({ code: 'CLOSED', op: 'using', object: `namespace "${this.#h.path}"`, detail: 'the handle is closed' });
    return this.#h.state;
  }

  #link(op: string, ref: LinkRef): FLink {
    return this.#ns.byRef(ref) ?? fail('ENODEV', op, `link ${JSON.stringify(ref)}`);
  }

  async linkAdd(spec: LinkSpec): Promise<Link> {
    const ns = this.#ns;
    const op = 'creating';
    checkName(op, spec.name);
    this.#k.hit(`${ns.path} linkAdd ${spec.name} (${spec.kind})`);
    const home = (spec.kind === 'macvlan' || spec.kind === 'ipvlan') && spec.netns ? this.#k.stateOf(spec.netns) : ns;
    if (home.named(spec.name)) fail('EEXIST', op, `link "${spec.name}"`);
    const base = { name: spec.name, kind: spec.kind as string, mtu: spec.mtu ?? 1500, mac: spec.mac ?? nextMac(), macSet: spec.mac !== undefined, up: spec.up ?? false, master: null };
    if (spec.kind === 'veth') {
      const peerNs = spec.peer.netns ? this.#k.stateOf(spec.peer.netns) : ns;
      checkName(op, spec.peer.name);
      if (peerNs.named(spec.peer.name) || (peerNs === ns && spec.peer.name === spec.name)) fail('EEXIST', op, `link "${spec.peer.name}"`);
      const a = this.#k.newLink(ns, { ...base });
      const b = this.#k.newLink(peerNs, { ...base, name: spec.peer.name, mtu: spec.peer.mtu ?? base.mtu, mac: spec.peer.mac ?? nextMac(), macSet: spec.peer.mac !== undefined, up: spec.peer.up ?? false });
      a.peer = b;
      b.peer = a;
      if (spec.alias) a.alias = spec.alias;
      if (spec.master !== undefined) {
        // The kernel plugs it in within the creating message, or makes nothing.
        const m = ns.byRef(spec.master);
        if (!m || m.kind !== 'bridge') {
          this.#k.destroyLink(a);
          return fail('EINVAL', op, `link "${spec.name}"`, `master ${JSON.stringify(spec.master)} is not a bridge here`);
        }
        a.master = m;
        a.bridgePort = { hairpin: false, learning: true, isolated: false, neighSuppress: false };
      }
      return this.#k.toLink(a);
    }
    let parent: FLink | undefined;
    if (spec.kind === 'macvlan' || spec.kind === 'ipvlan') parent = this.#link(op, spec.parent);
    const l = this.#k.newLink(home, { ...base, ...(parent ? { parent } : {}) });
    if (spec.alias) l.alias = spec.alias;
    return this.#k.toLink(l);
  }

  async linkDel(ref: LinkRef): Promise<void> {
    this.#k.hit(`${this.#ns.path} linkDel ${ref}`);
    const l = this.#link('deleting', ref);
    if (l.name === 'lo') fail('EOPNOTSUPP', 'deleting', 'link "lo"');
    this.#k.destroyLink(l);
  }

  async linkGet(ref: LinkRef): Promise<Link | null> {
    this.#k.hit(`${this.#ns.path} linkGet ${ref}`);
    const l = this.#ns.byRef(ref);
    return l ? this.#k.toLink(l) : null;
  }

  async linkList(): Promise<Link[]> {
    this.#k.hit(`${this.#ns.path} linkList`);
    return [...this.#ns.links.values()].map((l) => this.#k.toLink(l));
  }

  async linkSet(ref: LinkRef, ch: LinkChange): Promise<void> {
    const op = 'changing';
    this.#k.hit(`${this.#ns.path} linkSet ${ref} ${Object.keys(ch).join(',')}`);
    const l = this.#link(op, ref);
    // Checked before anything changes: the kernel applies a change whole or not at all.
    const to = ch.netns ? this.#k.stateOf(ch.netns) : l.ns;
    if (ch.name !== undefined) {
      checkName(op, ch.name);
      if (ch.name !== l.name && to.named(ch.name)) fail('EEXIST', op, `link "${ch.name}"`);
      if (ch.name !== l.name && l.up && to === l.ns) fail('EBUSY', op, `link "${l.name}"`, 'cannot rename a link that is up');
    }
    if (to !== l.ns && to.named(ch.name ?? l.name)) fail('EEXIST', op, `link "${ch.name ?? l.name}"`);
    let master: FLink | null | undefined;
    if (ch.master !== undefined && ch.master !== null) {
      master = to.byRef(ch.master) ?? fail('ENODEV', op, `master ${JSON.stringify(ch.master)}`);
      if (master.kind !== 'bridge') fail('EOPNOTSUPP', op, `link "${l.name}"`, `${master.name} is not a bridge`);
    } else if (ch.master === null) master = null;
    if (ch.alias !== undefined && Buffer.byteLength(ch.alias) > 255) fail('INVALID_VALUE', op, `link "${l.name}"`, 'alias too long');
    if (to !== l.ns) this.#k.moveLink(l, to);
    if (ch.name !== undefined) {
      for (const k of [...l.ns.sysctls.keys()]) if (k.includes(`/conf/${l.name}/`)) l.ns.sysctls.delete(k);
      l.name = ch.name;
    }
    if (ch.mtu !== undefined) l.mtu = ch.mtu;
    if (ch.mac !== undefined) {
      l.mac = ch.mac.toLowerCase();
      l.macSet = true;
    }
    if (master !== undefined) {
      l.master = master;
      if (master) l.bridgePort ??= { hairpin: false, learning: true, isolated: false, neighSuppress: false };
      else delete l.bridgePort;
    }
    if (ch.alias !== undefined) {
      if (ch.alias === '') delete l.alias;
      else l.alias = ch.alias;
    }
    if (ch.group !== undefined) l.group = ch.group;
    // The kernel keeps it per link, as the sysctl shows it.
    if (ch.addrGenMode !== undefined) l.ns.sysctls.set(`net/ipv6/conf/${l.name}/addr_gen_mode`, ch.addrGenMode === 'eui64' ? '0' : '1');
    if (ch.up !== undefined) l.up = ch.up;
  }

  async linkDelGroup(group: number): Promise<void> {
    this.#k.hit(`${this.#ns.path} linkDelGroup ${group}`);
    if (!Number.isInteger(group) || group < 1) fail('INVALID_VALUE', 'deleting', `links of group ${group}`);
    // A veth goes with its peer: skip a link an earlier deletion already took.
    for (const l of [...this.#ns.links.values()]) if (l.group === group && this.#ns.links.get(l.index) === l) this.#k.destroyLink(l);
  }

  async addrAdd(dev: LinkRef, cidr: string, _opts?: { noDad?: boolean }): Promise<void> {
    const op = 'adding';
    this.#k.hit(`${this.#ns.path} addrAdd ${dev} ${cidr}`);
    const l = this.#link(op, dev);
    if (!/^[0-9a-fA-F:.]+\/\d+$/.test(cidr)) throw new NetlinkError({ code: 'INVALID_CIDR', op, object: `address ${cidr}` });
    if (l.ns.addrs.some((a) => a.link === l && a.cidr === cidr)) fail('EEXIST', op, `address ${cidr} on "${l.name}"`);
    l.ns.addrs.push({ link: l, family: cidr.includes(':') ? 6 : 4, cidr });
  }

  async addrDel(dev: LinkRef, cidr: string): Promise<void> {
    this.#k.hit(`${this.#ns.path} addrDel ${dev} ${cidr}`);
    const l = this.#link('deleting', dev);
    const i = l.ns.addrs.findIndex((a) => a.link === l && a.cidr === cidr);
    if (i < 0) fail('EADDRNOTAVAIL', 'deleting', `address ${cidr} on "${l.name}"`);
    l.ns.addrs.splice(i, 1);
  }

  async linksAndAddrs(): Promise<{ links: Link[]; addrs: Address[] }> {
    return { links: await this.linkList(), addrs: await this.addrList() };
  }

  async addrList(dev?: LinkRef): Promise<Address[]> {
    this.#k.hit(`${this.#ns.path} addrList ${dev ?? ''}`);
    const l = dev === undefined ? undefined : this.#link('listing', dev);
    return this.#ns.addrs.filter((a) => !l || a.link === l).map((a) => ({ dev: a.link.name, family: a.family, cidr: a.cidr }));
  }

  /** The fake has no notifications: each look lists the table. */
  async routeWatch(filter: { families?: Family[]; table?: number } = {}): Promise<RouteWatch> {
    let closed = false;
    let dumps = 0;
    const families = filter.families ?? [4, 6];
    return {
      get dumps() { return dumps; },
      list: async () => {
        dumps++;
        if (closed) throw new NetlinkError({ code: 'CLOSED', op: 'watching', object: `routes in ${this.#ns.path}`, detail: 'the route watch is closed' });
        return (await Promise.all(families.map((family) => this.routeList({ family, devNames: false, ...(filter.table ? { table: filter.table } : {}) })))).flat();
      },
      close: () => { closed = true; },
    };
  }

  async routeList(filter: { family?: Family; table?: number; devNames?: boolean } = {}): Promise<Route[]> {
    this.#k.hit(`${this.#ns.path} routeList`);
    const table = filter.table ?? MAIN_TABLE;
    return this.#ns.routes.filter((r) => r.table === table && (!filter.family || r.family === filter.family)).map((r) => ({
      dst: r.dst, family: r.family, table: r.table,
      ...(r.gateway ? { gateway: r.gateway } : {}),
      ...(r.link ? { dev: filter.devNames === false ? `if${r.link.index}` : r.link.name } : {}),
      ...(r.metric !== undefined ? { metric: r.metric } : {}),
    }));
  }

  async routeReplace(r: Route): Promise<void> {
    const op = 'replacing';
    this.#k.hit(`${this.#ns.path} routeReplace ${r.dst}`);
    const ns = this.#ns;
    const family: Family = r.family ?? (r.dst !== 'default' ? (r.dst.includes(':') ? 6 : 4) : r.gateway?.includes(':') ? 6 : 4);
    const link = r.dev === undefined ? undefined : this.#link(op, r.dev);
    if (link && !link.up) fail('ENETDOWN', op, `route ${r.dst}`, `nexthop device ${link.name} is not up`);
    if (r.gateway && !r.onlink) {
      const reach = ns.addrs.some((a) => (!link || a.link === link) && a.family === family && covers(a.cidr, r.gateway ?? ''));
      if (!reach) fail('ENETUNREACH', op, `route ${r.dst} via ${r.gateway}`);
    }
    const table = r.table ?? MAIN_TABLE;
    const route: FRoute = { dst: r.dst, family, table, ...(r.gateway ? { gateway: r.gateway } : {}), ...(link ? { link } : {}), ...(r.metric !== undefined ? { metric: r.metric } : {}) };
    const i = ns.routes.findIndex((x) => x.table === table && x.dst === r.dst && x.family === family && x.metric === r.metric);
    if (i >= 0) ns.routes[i] = route;
    else ns.routes.push(route);
  }

  async routeDel(r: Route): Promise<void> {
    this.#k.hit(`${this.#ns.path} routeDel ${r.dst}`);
    const ns = this.#ns;
    const table = r.table ?? MAIN_TABLE;
    const link = r.dev === undefined ? undefined : ns.byRef(r.dev);
    const i = ns.routes.findIndex((x) => x.table === table && x.dst === r.dst && (!r.family || x.family === r.family)
      && (!r.gateway || x.gateway === r.gateway) && (!link || x.link === link));
    if (i < 0) fail('ESRCH', 'deleting', `route ${r.dst}`);
    ns.routes.splice(i, 1);
  }

  /** Runs the changes in order; as the kernel's batch, a failing one does not stop the next. */
  async batch(build: (b: BatchOps) => void): Promise<void> {
    const steps: Array<{ run: () => Promise<void>; ignore: readonly string[] }> = [];
    const b: BatchOps = {
      linkSet: (link, change, opts) => { steps.push({ run: () => this.linkSet(link, change), ignore: opts?.ignore ?? [] }); return b; },
      addrAdd: (dev, cidr, opts) => { steps.push({ run: () => this.addrAdd(dev, cidr, opts), ignore: [] }); return b; },
      bridgePortSet: (dev, flags) => { steps.push({ run: () => this.bridgePortSet(dev, flags), ignore: [] }); return b; },
    };
    build(b);
    const errors: Error[] = [];
    for (const st of steps) {
      try { await st.run(); } catch (e) { if (!st.ignore.includes((e as { code?: string }).code ?? '')) errors.push(e as Error); }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} of ${steps.length} batched changes failed`);
  }

  async bridgePortSet(dev: LinkRef, flags: BridgePortFlags): Promise<void> {
    this.#k.hit(`${this.#ns.path} bridgePortSet ${dev}`);
    const l = this.#link('changing', dev);
    if (!l.master || !l.bridgePort) fail('EOPNOTSUPP', 'changing', `bridge port "${l.name}"`, 'not a bridge port');
    const bp = l.bridgePort ?? { hairpin: false, learning: true, isolated: false, neighSuppress: false };
    l.bridgePort = { ...bp, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
  }
}

export class FakeNetns implements NetnsHandle {
  readonly path: string;
  readonly rtnl: FakeRtnl;
  readonly state: NsState;
  closed = false;
  readonly #k: FakeKernel;

  constructor(k: FakeKernel, state: NsState) {
    this.#k = k;
    this.state = state;
    this.path = state.path;
    this.rtnl = new FakeRtnl(k, this);
    state.handles++;
  }

  /** A made-up fd: only the fake kernel ever sees it. */
  get fd(): number {
    return 1000 + this.state.id;
  }

  async use<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    return fn(this.fd);
  }

  async sysctlSet(key: string, value: string): Promise<void> {
    this.#k.hit(`${this.path} sysctl ${key}=${value}`);
    // Per-interface keys exist only while the interface does.
    const dev = /\/conf\/([^/]+)\//.exec(key)?.[1];
    if (dev && dev !== 'all' && dev !== 'default' && !this.state.named(dev)) fail('ENOENT', 'setting', `sysctl ${key} in ${this.path}`);
    this.state.sysctls.set(key, value);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.handles--;
    this.#k.maybeDestroy(this.state);
  }
}

/**
 * Sandbox namespaces in the fake kernel. Each mounted namespace also gets
 * an empty file at its path (when the directory exists), as nsfs mounts
 * do, so code that lists the exec root's netns directory sees it.
 */
export class FakeNetnsProvider implements NetnsProvider {
  readonly #k: FakeKernel;

  constructor(k: FakeKernel) {
    this.#k = k;
  }

  async create(path: string): Promise<FakeNetns> {
    this.#k.hit(`create namespace ${path}`);
    const ns = this.#k.addNamespace(path);
    const lo = ns.named('lo');
    if (lo) lo.up = true; // as Netns.create: loopback up
    if (existsSync(dirname(path))) writeFileSync(path, '');
    return new FakeNetns(this.#k, ns);
  }

  async open(path: string): Promise<FakeNetns> {
    this.#k.hit(`open namespace ${path}`);
    return this.#k.handle(path);
  }

  async remove(path: string): Promise<void> {
    this.#k.hit(`remove namespace ${path}`);
    const ns = this.#k.mountedAt(path);
    if (!ns) {
      // A leftover file (a crash between mount and record): unlink it.
      if (existsSync(path)) { unlinkSync(path); return; }
      fail('ENOENT', 'removing', `namespace "${path}"`);
    }
    this.#k.unmount(path);
    if (existsSync(path)) unlinkSync(path);
  }
}
