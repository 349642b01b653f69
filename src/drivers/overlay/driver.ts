// The overlay driver's data plane: one L2 segment per network spanning the
// cluster's hosts over kernel VXLAN (PROTOCOLS §6.4 items 7-8, 12;
// docs/overlay.md "data plane"). Per network, per host:
//
//   namespace <execRoot>/overlay/ovl-<nid[:12]>
//     br0     a bridge, no address (see below)
//     vxlan0  id <VNI> dstport 4789 local <VTEP>, learning off, no l2miss/l3miss,
//             MTU underlay - 50; born there from the host namespace, so its
//             UDP socket lives on the underlay
//     veth<ep[:7]>  one per local endpoint, on br0; the other end is born in
//             the sandbox under its final name, with the endpoint's MAC and
//             addresses
//
// Nothing lands in the host's own namespace: overlapping subnets of
// different overlay networks never meet in its routing table. br0 carries
// no address: Docker puts the gateway address there, but the same address on
// every host's bridge, each with its own MAC, would answer a flooded ARP
// for it from every host; the overlay offers no gateway (external traffic
// leaves through the gwbridge endpoint the cluster code adds) and the
// embedded DNS listens inside each sandbox.
//
// What the cluster code provides: the VNI (net.driverState.vni, claimed in
// the store before createNetwork), this host's VTEP and underlay MTU
// (ctx.cluster) and the remote endpoints (setOverlayPeers, peers.ts).
import { forbidden, invalid } from '../../model/errors.ts';
import { parseIp } from '../../netlink/index.ts';
import type { Link, Netns } from '../../netlink/index.ts';
import type { DriverContext, JoinResult, NetworkDriver, NetworkInfo } from '../driver.ts';
import { ensureOvl, listOvl, openOvl, ovlPath, removeOvl } from './namespace.ts';
import { OVL_BRIDGE, OVL_VXLAN, VXLAN_PORT, ovlPortName, parseOverlayOptions, vniOf, vxlanOverhead } from './options.ts';
import { desiredTables, programPeers } from './peers.ts';
import type { OverlayPeer } from './peers.ts';

export const NO_CLUSTER_MSG = 'overlay networks need a cluster store: start the daemon with --cluster-store etcd://HOST:2379 and --cluster-advertise IP|IFACE';

const isMissing = (e: unknown): boolean => ['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL'].includes((e as { code?: string }).code ?? '');

/** Two spellings of one address ("fd00::1" and "FD00:0::1") are the same VTEP. */
function sameIp(a: string | undefined, b: string): boolean {
  const x = a === undefined ? null : parseIp(a);
  const y = parseIp(b);
  return !!x && !!y && x.bytes.equals(y.bytes);
}

function clusterOf(ctx: DriverContext | undefined): NonNullable<DriverContext['cluster']> {
  if (!ctx?.cluster?.vtep) throw forbidden(NO_CLUSTER_MSG);
  return ctx.cluster;
}

/** The MTU of vxlan0 and the endpoints' veths. */
function mtuOf(ctx: DriverContext, net: NetworkInfo): number {
  const c = clusterOf(ctx);
  return parseOverlayOptions(net).mtu ?? c.mtu - vxlanOverhead(c.vtep);
}

/** Desired peers per network (by path), re-applied when the namespace is rebuilt. */
const peersOf = new Map<string, readonly OverlayPeer[]>();
/** Per-network queue: kernel programming of one network never interleaves. */
const queues = new Map<string, Promise<unknown>>();
function serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => { if (queues.get(key) === tail) queues.delete(key); });
  return run;
}

/** A namespace being torn down holds its VNI for a moment (see removeOvl): wait that long at most. */
const VNI_BUSY_RETRIES = 30;
const VNI_BUSY_PAUSE_MS = 100;

async function addVxlan(ctx: DriverContext, net: NetworkInfo, ns: Netns, o: { vni: number; vtep: string; mtu: number }): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      // Born in the overlay namespace from the host's: the device lives
      // there, its UDP socket on the underlay (the kernel keeps the creating
      // namespace as the device's source one).
      await ctx.hostNs.rtnl.linkAdd({ kind: 'vxlan', name: OVL_VXLAN, vni: o.vni, local: o.vtep, port: VXLAN_PORT, learning: false, mtu: o.mtu, netns: ns });
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      // The kernel keeps one device per VNI and port in a namespace: another
      // network's, or a lost namespace's that is still being torn down.
      if (i >= VNI_BUSY_RETRIES) throw forbidden(`cannot create the VXLAN device of network ${net.name}: VNI ${o.vni} is already in use on this host`);
      await new Promise((r) => setTimeout(r, VNI_BUSY_PAUSE_MS));
    }
  }
}

/** Makes br0 and vxlan0 exist as they should in the network's namespace (idempotent). */
async function build(ctx: DriverContext, net: NetworkInfo, fresh: boolean): Promise<Netns> {
  const c = clusterOf(ctx);
  const vni = vniOf(net);
  const mtu = mtuOf(ctx, net);
  const path = ovlPath(ctx, net.id);
  const { ns, made } = await ensureOvl(path);
  const quick = fresh && made;
  const rtnl = ns.rtnl;
  const links = quick ? new Map<string, Link>() : new Map((await rtnl.linkList()).map((l) => [l.name, l]));
  const br = links.get(OVL_BRIDGE);
  if (!br) await rtnl.linkAdd({ kind: 'bridge', name: OVL_BRIDGE, mtu });
  const vx = links.get(OVL_VXLAN);
  const stale = vx && (vx.kind !== 'vxlan' || vx.vxlan?.vni !== vni || !sameIp(vx.vxlan.local, c.vtep) || vx.vxlan.port !== VXLAN_PORT || vx.vxlan.learning);
  // A VTEP that changed (--cluster-advertise) needs a new device: local is fixed at creation.
  if (stale) await rtnl.linkDel(OVL_VXLAN);
  if (!vx || stale) {
    await addVxlan(ctx, net, ns, { vni, vtep: c.vtep, mtu });
  } else if (vx.mtu !== mtu) {
    await rtnl.linkSet(OVL_VXLAN, { mtu });
  }
  const brIndex = br?.index ?? (await rtnl.linkGet(OVL_BRIDGE))!.index;
  await rtnl.linkSet(OVL_VXLAN, { master: OVL_BRIDGE, up: true });
  // Endpoint ports a rebuilt bridge lost.
  for (const l of links.values()) {
    if (l.kind === 'veth' && l.name.startsWith('veth') && l.master !== brIndex) await rtnl.linkSet(l.index, { master: OVL_BRIDGE, up: true });
  }
  await rtnl.linkSet(OVL_BRIDGE, { up: true });
  // A namespace made again gets the peers it had.
  const peers = peersOf.get(path);
  if (peers && (made || stale || !vx)) await programPeers(ns, peers, c.vtep);
  return ns;
}

/**
 * Programs the network's remote endpoints on this host (peers.ts): the
 * full set each time; entries of peers no longer listed go, the own VTEP's
 * are skipped. Remembered, so a namespace rebuilt later (restart, a
 * namespace removed by hand) gets them again. A network not created on
 * this host yet only remembers them.
 */
export async function setOverlayPeers(ctx: DriverContext, net: NetworkInfo, peers: readonly OverlayPeer[]): Promise<{ added: number; removed: number }> {
  const c = clusterOf(ctx);
  const path = ovlPath(ctx, net.id);
  return serial(path, async () => {
    // Checked before anything is remembered: a bad list changes nothing.
    desiredTables(peers, c.vtep);
    peersOf.set(path, [...peers]);
    const ns = await openOvl(path);
    if (!ns) return { added: 0, removed: 0 };
    try {
      return await programPeers(ns, peers, c.vtep);
    } catch (e) {
      // vxlan0 gone (removed by hand): the next createNetwork or join makes
      // it again and programs the peers remembered above.
      if (isMissing(e)) return { added: 0, removed: 0 };
      throw e;
    }
  });
}

/** The peers setOverlayPeers was last given for the network on this host. */
export function overlayPeers(ctx: DriverContext, net: NetworkInfo): readonly OverlayPeer[] {
  return peersOf.get(ovlPath(ctx, net.id)) ?? [];
}

/** Removes overlay namespaces whose network is not in liveIds (and that hold no endpoint, unless force). */
export async function sweepOverlayNamespaces(ctx: DriverContext, liveIds: readonly string[], opts: { force?: boolean } = {}): Promise<string[]> {
  const live = new Set(liveIds.map((id) => id.slice(0, 12)));
  const removed: string[] = [];
  for (const { path, idPrefix } of await listOvl(ctx)) {
    if (live.has(idPrefix)) continue;
    await serial(path, async () => {
      if (!opts.force) {
        // Endpoints still plugged in: a network the cluster code has not
        // loaded yet, not a leftover. Their sandboxes' links would go too.
        const ns = await openOvl(path);
        if (ns && (await ns.rtnl.linkList()).some((l) => l.kind === 'veth')) return;
      }
      await removeOvl(path);
      peersOf.delete(path);
      removed.push(`overlay namespace ${path}`);
    });
  }
  return removed;
}

/** `cnm doctor`: each network's namespace and devices as build makes them; namespaces of no network. */
export async function checkOverlay(ctx: DriverContext, live: readonly NetworkInfo[]): Promise<string[]> {
  const problems: string[] = [];
  for (const net of live) {
    const path = ovlPath(ctx, net.id);
    const ns = await openOvl(path);
    if (!ns) { problems.push(`network ${net.name}: overlay namespace ${path} is missing`); continue; }
    const links = new Map((await ns.rtnl.linkList()).map((l) => [l.name, l]));
    const br = links.get(OVL_BRIDGE);
    const vx = links.get(OVL_VXLAN);
    if (!br || !br.up) problems.push(`network ${net.name}: ${OVL_BRIDGE} in ${path} is ${br ? 'down' : 'missing'}`);
    if (!vx || !vx.up) { problems.push(`network ${net.name}: ${OVL_VXLAN} in ${path} is ${vx ? 'down' : 'missing'}`); continue; }
    if (br && vx.master !== br.index) problems.push(`network ${net.name}: ${OVL_VXLAN} is not a port of ${OVL_BRIDGE}`);
    const vni = net.driverState.vni;
    if (String(vx.vxlan?.vni) !== vni) problems.push(`network ${net.name}: ${OVL_VXLAN} has VNI ${vx.vxlan?.vni}, the network ${vni ?? 'none'}`);
    if (ctx.cluster && !sameIp(vx.vxlan?.local, ctx.cluster.vtep)) problems.push(`network ${net.name}: ${OVL_VXLAN} sends from ${vx.vxlan?.local ?? 'no address'}, this host's VTEP is ${ctx.cluster.vtep}`);
  }
  const ids = new Set(live.map((n) => n.id.slice(0, 12)));
  for (const { path, idPrefix } of await listOvl(ctx)) {
    if (!ids.has(idPrefix)) problems.push(`overlay namespace ${path} belongs to no network`);
  }
  return problems;
}

const joinInfo = (): Omit<JoinResult, 'iface'> => ({ gateway: { ipv4: null, ipv6: null }, routes: [], dns: true });

function pickIfName(used: readonly string[], prefix: string): string {
  for (let i = 0; ; i++) if (!used.includes(`${prefix}${i}`)) return `${prefix}${i}`;
}

export const overlayDriver: NetworkDriver = {
  name: 'overlay',
  capabilities: {
    scope: 'global', ownNamespace: true, endpoints: true, singleton: false, combinable: true,
    // Published ports go through the gwbridge endpoint the cluster code adds.
    portPublishing: false, dns: true, dnsInSandbox: true,
  },

  async validateNetwork(net, _others, ctx) {
    const o = parseOverlayOptions(net);
    const c = clusterOf(ctx);
    const max = c.mtu - vxlanOverhead(c.vtep);
    if (o.mtu !== undefined && o.mtu > max) {
      throw invalid(`invalid value "${o.mtu}" for option com.docker.network.driver.mtu: the underlay MTU is ${c.mtu}, so an overlay MTU of at most ${max} fits (VXLAN adds ${vxlanOverhead(c.vtep)} bytes)`);
    }
    // The VNI asked for, if any; the cluster code claims it (or another) in
    // the store and sets driverState.vni before createNetwork.
    return { ...net.driverState, ...(o.vni !== undefined ? { vni: String(o.vni) } : {}) };
  },

  async createNetwork(ctx, net, copts) {
    const path = ovlPath(ctx, net.id);
    await serial(path, async () => {
      try {
        await build(ctx, net, copts?.fresh ?? false);
      } catch (e) {
        // A fresh network leaves nothing behind.
        if (copts?.fresh) await removeOvl(path).catch(() => undefined);
        throw e;
      }
    });
  },

  async deleteNetwork(ctx, net) {
    const path = ovlPath(ctx, net.id);
    // Its links (br0, vxlan0, endpoint ports) go with the namespace.
    await serial(path, async () => {
      await removeOvl(path);
      peersOf.delete(path);
    });
  },

  async createEndpoint(net, ep, sandbox) {
    for (const k of Object.keys(ep.driverOpts)) {
      if (!k.startsWith('com.docker.network.endpoint.')) throw invalid(`unknown endpoint driver option "${k}" for the overlay driver`);
    }
    const o = parseOverlayOptions(net);
    return { ifName: pickIfName(sandbox.ifNames, o.ifacePrefix), driverState: { ovlPort: ovlPortName(ep.id) }, expect: joinInfo() };
  },

  async join(ctx, net, ep, sandbox, jopts) {
    const path = ovlPath(ctx, net.id);
    const mtu = mtuOf(ctx, net);
    const fresh = jopts?.fresh ?? false;
    // The namespace as it should be; a missing one (restart, removed by
    // hand) is built again first.
    let ovl = await openOvl(path);
    if (!ovl || !fresh) ovl = await serial(path, () => build(ctx, net, false));
    const port = ovlPortName(ep.id);
    const inner = sandbox.ns.rtnl;
    const have = fresh ? null : await ovl.rtnl.linkGet(port);
    const peer = fresh ? null : await inner.linkGet(ep.ifName);
    // Half a pair cannot be: a lone end is another pair's (or none's).
    if (have && (!peer || peer.kind !== 'veth')) await ovl.rtnl.linkDel(port).catch((e: unknown) => { if (!isMissing(e)) throw e; });
    if (peer && (!have || peer.kind !== 'veth')) await inner.linkDel(ep.ifName).catch((e: unknown) => { if (!isMissing(e)) throw e; });
    const whole = have && peer && peer.kind === 'veth';
    if (!whole) {
      await ovl.rtnl.linkAdd({ kind: 'veth', name: port, mtu, peer: { name: ep.ifName, netns: sandbox.ns, mac: ep.mac, mtu } });
    }
    await ovl.rtnl.linkSet(port, { master: OVL_BRIDGE, up: true });
    const addrs = whole ? new Set((await inner.addrList(ep.ifName)).map((a) => a.cidr)) : new Set<string>();
    if (ep.ipv4 && !addrs.has(ep.ipv4)) await inner.addrAdd(ep.ifName, ep.ipv4);
    if (ep.ipv6 && !addrs.has(ep.ipv6)) await inner.addrAdd(ep.ifName, ep.ipv6, { noDad: true });
    // A gratuitous ARP when the link comes up: a peer on another host that
    // already asked for this address (its entry INCOMPLETE, retried only
    // every second) or still holds an old MAC for it learns the new one at
    // once, over the head-end replication to every VTEP with members.
    if (ep.ipv4) await sandbox.ns.sysctlSet(`net/ipv4/conf/${ep.ifName}/arp_notify`, '1');
    await inner.linkSet(ep.ifName, { up: true });
    return { iface: { name: ep.ifName }, ...joinInfo() };
  },

  async leave(ctx, net, ep, ns) {
    // Deleting one end of a veth pair deletes both; whichever is at hand.
    const ovl = await openOvl(ovlPath(ctx, net.id));
    const del = async (n: { rtnl: { linkDel(l: string): Promise<void> } }, name: string): Promise<void> => {
      try { await n.rtnl.linkDel(name); } catch (e) { if (!isMissing(e)) throw e; }
    };
    if (ovl) await del(ovl, ovlPortName(ep.id));
    if (ns) await del(ns, ep.ifName);
  },

  intact(_net, ep, view) {
    // The sandbox end stands for the pair: its other end dies with it, and
    // with the overlay namespace.
    const inner = view.sandboxLinks.get(ep.ifName);
    if (!inner || !inner.up || inner.kind !== 'veth') return false;
    const have = new Set(view.sandboxAddrs.filter((a) => a.dev === ep.ifName).map((a) => a.cidr));
    return (!ep.ipv4 || have.has(ep.ipv4)) && (!ep.ipv6 || have.has(ep.ipv6));
  },

  async sweep(ctx, live) {
    return sweepOverlayNamespaces(ctx, live.map((n) => n.id));
  },

  async check(ctx, live) {
    return checkOverlay(ctx, live);
  },

  // Nothing of an overlay network lives among the host's links.
  ownedLinks: () => [],
  requiredLinks: () => [],
};

export type { OverlayPeer };
