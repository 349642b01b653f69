// The bridge driver: one Linux bridge per network, one veth pair per endpoint
// (host end enslaved to the bridge, the other end inside the sandbox).
import { forbidden, invalid } from '../../model/errors.ts';
import { randomMac, shortId } from '../../model/ids.ts';
import type { Link, LinkSpec, NetnsHandle } from '../../netlink/index.ts';
import type { DriverContext, EndpointInfo, NetworkDriver, NetworkFirewall, NetworkInfo } from '../driver.ts';
import { linkMark } from '../link-mark.ts';
import { doom, liveLink, moveAside } from '../reap.ts';
import { OPT, parseBridgeOptions } from './options.ts';

/** The predefined network's device; Docker's is docker0. */
export const DEFAULT_BRIDGE_DEVICE = 'cnm0';

const isMissing = (e: unknown): boolean => ['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL'].includes((e as { code?: string }).code ?? '');

async function ensureAddr(ns: NetnsHandle, dev: string, cidr: string, noDad: boolean): Promise<void> {
  const have = await ns.rtnl.addrList(dev);
  if (have.some((a) => a.cidr === cidr)) return;
  await ns.rtnl.addrAdd(dev, cidr, { noDad });
}

/**
 * Whether cnm made this bridge: it carries this network's mark, or (made
 * before cnm marked its links) it carries no alias at all and has the name
 * cnm derives for the network. A bridge the user named and made is theirs.
 */
function madeByCnm(link: Link, net: NetworkInfo, mark: string): boolean {
  if (link.alias !== undefined) return link.alias === mark;
  return net.predefined || !net.options[OPT.name];
}

const gatewayCidrs = (net: NetworkInfo, opts: ReturnType<typeof parseBridgeOptions>): string[] => [
  ...(net.ipv4 && !opts.inhibitIpv4 && opts.gatewayModeV4 !== 'isolated' ? [gatewayCidr(net.ipv4.gateway, net.ipv4.subnet)] : []),
  ...(net.ipv6 && opts.gatewayModeV6 !== 'isolated' ? [gatewayCidr(net.ipv6.gateway, net.ipv6.subnet)] : []),
];

/** Sets a per-link sysctl; a link without it (no IPv6 in the kernel, or an MTU below IPv6's 1280) has nothing to set. */
async function linkSysctl(ns: NetnsHandle, key: string, value: string): Promise<void> {
  try {
    await ns.sysctlSet(key, value);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

/**
 * The sandbox's link-local address is derived from its MAC (EUI-64), whatever
 * the namespace's default (net.core.devconf_inherit_init_net may carry the
 * host's stable-privacy or random mode in): anti-spoofing allows exactly
 * that address (firewall/endpoint-rules.ts). Set before the link goes up,
 * when the kernel generates it.
 */
const eui64LinkLocal = (ns: NetnsHandle, ifName: string): Promise<void> => linkSysctl(ns, `net/ipv6/conf/${ifName}/addr_gen_mode`, '0');

/**
 * Bridge indexes by name, per host namespace: a new veth is born plugged
 * into its bridge by index, without a lookup first. A bridge made again
 * gets a new index; a stale one fails the create (which then leaves
 * nothing), and the name is looked up again.
 */
const bridgeIndexes = new WeakMap<NetnsHandle, Map<string, number>>();
const indexesOf = (ns: NetnsHandle): Map<string, number> => {
  let m = bridgeIndexes.get(ns);
  if (!m) bridgeIndexes.set(ns, m = new Map());
  return m;
};

/**
 * A new endpoint's kernel objects: the veth pair, born with its peer in
 * the sandbox under its final name and its host end in the bridge; then,
 * at once on the two namespaces' sockets, the host end's IPv6 off (a
 * sysctl) and its mark, up flag and hairpin in one sendmsg, and the
 * sandbox end's link-local mode, addresses and up flag in another.
 */
async function joinFresh(ctx: DriverContext, ep: EndpointInfo, sandbox: Parameters<NetworkDriver['join']>[3], opts: ReturnType<typeof parseBridgeOptions>, hostIfName: string): Promise<void> {
  const sandboxNs = sandbox.ns;
  const indexes = indexesOf(ctx.hostNs);
  const add = (master: string | number) => ctx.hostNs.rtnl.linkAdd({
    kind: 'veth', name: hostIfName, master, ...(opts.mtu ? { mtu: opts.mtu } : {}),
    peer: { name: ep.ifName, netns: sandboxNs, mac: ep.mac, ...(opts.mtu ? { mtu: opts.mtu } : {}) },
  });
  const create = async (): Promise<Link> => {
    const known = indexes.get(opts.bridgeName);
    if (known !== undefined) {
      try {
        return await add(known);
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST') throw e;
        indexes.delete(opts.bridgeName);
      }
    }
    return add(opts.bridgeName);
  };
  let link: Link;
  try {
    link = await create();
  } catch (e) {
    // A reconnect right after a disconnect: the old sandbox end still
    // holds the name while its pair waits for the reaper. The core gave
    // this endpoint a name none of the sandbox's endpoints has, so a
    // link holding it is stale: moved aside once.
    if ((e as { code?: string }).code !== 'EEXIST' || sandbox.ifNames.includes(ep.ifName) || !await moveAside(sandboxNs, ep.ifName)) throw e;
    link = await create();
  }
  const peer = link.peerIndex ?? ep.ifName;
  await Promise.all([
    // Hairpin, as Docker without its userland proxy: a sandbox reaching its
    // own published port through a host address is bridged back out of the
    // port its packet came in by.
    (async () => {
      await noIpv6(ctx.hostNs, hostIfName);
      await ctx.hostNs.rtnl.batch((b) => b.linkSet(link.index, { alias: linkMark(ctx.owner, ep.id), up: true }).bridgePortSet(link.index, { hairpin: true }));
    })(),
    sandboxNs.rtnl.batch((b) => {
      // EUI-64 link-local before the link goes up (see eui64LinkLocal); a
      // kernel without IPv6, or a link whose MTU is below IPv6's 1280, has
      // none to make and refuses the setting.
      b.linkSet(peer, { addrGenMode: 'eui64' }, { ignore: ['EAFNOSUPPORT'] });
      if (ep.ipv4) b.addrAdd(peer, ep.ipv4, { noDad: false });
      if (ep.ipv6) b.addrAdd(peer, ep.ipv6, { noDad: true });
      b.linkSet(peer, { up: true });
    }),
  ]);
}

/** A network's bridge as it is made: with the MAC that keeps it from moving (see createNetwork). */
const bridgeSpec = (net: NetworkInfo, opts: ReturnType<typeof parseBridgeOptions>): LinkSpec => ({
  kind: 'bridge', name: opts.bridgeName, mac: net.driverState.mac ?? randomMac(), ...(opts.mtu ? { mtu: opts.mtu } : {}),
});

/**
 * A new network's bridge in two round trips (three without IPv6): made (up
 * at once when it carries IPv6; see noIpv6), then its gateway addresses and
 * its mark in one sendmsg. False when the name is taken (by a bridge that
 * waits for the reaper, say): the general path sorts that out.
 */
async function createFresh(ctx: DriverContext, net: NetworkInfo, opts: ReturnType<typeof parseBridgeOptions>, mark: string): Promise<boolean> {
  const rtnl = ctx.hostNs.rtnl;
  const name = opts.bridgeName;
  const v6 = bridgeIpv6(net);
  let made: Link;
  try {
    made = await rtnl.linkAdd({ ...bridgeSpec(net, opts), up: v6 });
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') return false;
    throw e;
  }
  try {
    if (!v6) await noIpv6(ctx.hostNs, name);
    await rtnl.batch((b) => {
      for (const cidr of gatewayCidrs(net, opts)) b.addrAdd(made.index, cidr, { noDad: cidr.includes(':') });
      b.linkSet(made.index, { alias: mark, ...(v6 ? {} : { up: true }) });
    });
  } catch (e) {
    await rtnl.linkDel(made.index).catch(() => undefined);
    throw e;
  }
  indexesOf(ctx.hostNs).set(name, made.index);
  return true;
}

/**
 * No IPv6 on a link cnm makes where IPv6 only costs: the host end of a veth
 * (a bridge port), and the bridge of a network without an IPv6 subnet. Each
 * such link gets a link-local address, its DAD and MLD reports, and routes
 * in the local table, and the kernel walks those routes at every link
 * change: with 6000 endpoints a link going up or down took 15.6 ms, 1.6 ms
 * without; a thousand IPv4-only bridges with IPv6 made every new network
 * 1.7 ms slower. An IPv4-only network's bridge with IPv6 would also give
 * its sandboxes a way to the host (its link-local address) that the
 * network does not have. Set before the link goes up; bridged IPv6 between
 * sandboxes is untouched.
 */
const noIpv6 = (ns: NetnsHandle, ifName: string): Promise<void> => linkSysctl(ns, `net/ipv6/conf/${ifName}/disable_ipv6`, '1');

/** Whether a network's bridge has IPv6: only with an IPv6 subnet (see noIpv6). */
const bridgeIpv6 = (net: NetworkInfo): boolean => net.ipv6 !== undefined;

/** The host end of an endpoint's veth (kept in its driver state). */
// Records from before the name was kept in the driver state had 7 digits.
const hostIf = (ep: EndpointInfo): string => ep.driverState.hostIfName ?? `veth${ep.id.slice(0, 7)}`;

export const bridgeDriver: NetworkDriver = {
  name: 'bridge',
  capabilities: { scope: 'local', ownNamespace: true, endpoints: true, singleton: false, combinable: true, portPublishing: true, dns: true },

  async validateNetwork(net, others) {
    const dflt = net.predefined ? DEFAULT_BRIDGE_DEVICE : `br-${shortId(net.id)}`;
    const opts = parseBridgeOptions(net, dflt);
    const clash = others.find((o) => o.driver === 'bridge' && o.driverState.bridge === opts.bridgeName);
    if (clash) throw forbidden(`bridge name "${opts.bridgeName}" is already used by network ${clash.name}`);
    if ((opts.gatewayModeV4 === 'isolated' || opts.gatewayModeV6 === 'isolated') && !net.internal) {
      throw invalid("gateway mode 'isolated' can only be used for an internal network");
    }
    // The DHCP server answers from the bridge's IPv4 address (its server
    // identifier) with addresses of the IPv4 subnet: it needs both. An
    // internal network may have one: clients get no router, but the address,
    // the mask and the embedded DNS (on the gateway, reachable there).
    if (opts.dhcp && (!net.ipv4 || opts.inhibitIpv4 || opts.gatewayModeV4 === 'isolated')) {
      throw invalid(`option ${OPT.dhcp}=true needs an IPv4 subnet with the gateway address on the bridge`
        + ` (not IPv6-only, not ${OPT.inhibitIpv4}, not gateway mode isolated)`);
    }
    if (!opts.dhcp && net.options[OPT.dhcpLease] !== undefined) {
      throw invalid(`option ${OPT.dhcpLease} needs ${OPT.dhcp}=true`);
    }
    // The bridge holds the gateway address. A /32 or /128 has no room for
    // one next to an endpoint (the kernel is handed an empty address).
    if (net.ipv4 && !net.ipv4.gateway && !opts.inhibitIpv4 && opts.gatewayModeV4 !== 'isolated') {
      throw invalid(`invalid subnet ${net.ipv4.subnet}: no room for a gateway and an endpoint; expected a prefix of /31 or shorter`);
    }
    if (net.ipv6 && !net.ipv6.gateway && opts.gatewayModeV6 !== 'isolated') {
      throw invalid(`invalid subnet ${net.ipv6.subnet}: no room for a gateway and an endpoint; expected a prefix of /127 or shorter`);
    }
    // The MAC a bridge cnm creates gets, kept with the network: a bridge
    // made again (restart, an undone rm) keeps the sandboxes' gateway MAC.
    return { bridge: opts.bridgeName, mac: randomMac() };
  },

  async createNetwork(ctx: DriverContext, net: NetworkInfo, copts) {
    const opts = parseBridgeOptions(net, net.driverState.bridge ?? '');
    const name = opts.bridgeName;
    const rtnl = ctx.hostNs.rtnl;
    const fresh = copts?.fresh ?? false;
    const mark = linkMark(ctx.owner, net.id);
    if (fresh && await createFresh(ctx, net, opts, mark)) return;
    // A bridge of a removed network may still wait for the reaper under this name.
    const link = await liveLink(ctx.hostNs, name);
    // A bridge without an address of its own takes the lowest MAC of its
    // ports (br_stp_recalculate_bridge_id), so its MAC, the sandboxes'
    // gateway MAC, would move whenever a port joins or leaves, and sandboxes
    // would send to the old one until their neighbour entry expires. A MAC
    // set at creation (addr_assign_type NET_ADDR_SET) never moves: Docker
    // does the same.
    if (!link) indexesOf(ctx.hostNs).set(name, (await rtnl.linkAdd(bridgeSpec(net, opts))).index);
    else if (link.kind !== 'bridge') throw forbidden(`device "${name}" exists and is not a bridge`);
    else indexesOf(ctx.hostNs).set(name, link.index);
    const ours = !link || madeByCnm(link, net, mark);
    try {
      if (!link && !bridgeIpv6(net)) await noIpv6(ctx.hostNs, name);
      // A new bridge has no addresses to check; an adopted one (restart, or a
      // bridge the user named) is read back first.
      const add = fresh && !link
        ? (cidr: string, noDad: boolean) => rtnl.addrAdd(name, cidr, { noDad })
        : (cidr: string, noDad: boolean) => ensureAddr(ctx.hostNs, name, cidr, noDad);
      // The bridge carries the gateway addresses; sandboxes route through them.
      // Gateway mode "isolated": the bridge has no address, the host is unreachable.
      for (const cidr of gatewayCidrs(net, opts)) await add(cidr, cidr.includes(':'));
      // Ours gets its mark (with the up flag: one message). One cnm made
      // before it marked its links also gets its MAC fixed: setting its
      // current MAC makes it NET_ADDR_SET without changing it (netlink does
      // not report addr_assign_type, so every unmarked one is fixed once).
      // The user's bridge is only brought up.
      const fix = link && ours && link.alias === undefined ? { mac: link.mac } : {};
      await rtnl.linkSet(name, { up: true, ...(ours ? { alias: mark, ...fix } : {}) });
    } catch (e) {
      // A bridge made here goes again, with the addresses it got: left
      // behind, it would hold a gateway address that the next network is
      // given too. One that was there before stays.
      if (!link) await rtnl.linkDel(name).catch(() => undefined);
      throw e;
    }
  },

  async deleteNetwork(ctx, net) {
    const name = net.driverState.bridge;
    if (!name) return;
    const rtnl = ctx.hostNs.rtnl;
    const link = await rtnl.linkGet(name);
    if (!link || link.kind !== 'bridge') return;
    if (madeByCnm(link, net, linkMark(ctx.owner, net.id))) {
      // Down at once (its routes go, it carries nothing), deleted by the
      // reaper off the request's path; a new network may take its name or
      // its subnet right away.
      await doom(ctx.hostNs, name);
      indexesOf(ctx.hostNs).delete(name);
      ctx.reap();
      return;
    }
    // The user's bridge stays, as in Docker, with its ports and its own
    // addresses; only the gateway addresses cnm added go.
    const opts = parseBridgeOptions(net, name);
    for (const cidr of gatewayCidrs(net, opts)) {
      try {
        await rtnl.addrDel(name, cidr);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    }
  },

  async createEndpoint(net, ep, sandbox) {
    const opts = parseBridgeOptions(net, net.driverState.bridge ?? '');
    for (const k of Object.keys(ep.driverOpts)) {
      // Docker's bridge takes no endpoint options it would act on; an
      // unknown one is most likely a typo.
      if (!k.startsWith('com.docker.network.endpoint.')) throw invalid(`unknown endpoint driver option "${k}" for the bridge driver`);
    }
    return { ifName: pickIfName(sandbox.ifNames, opts.ifacePrefix), driverState: { hostIfName: hostIfNameFor(ep.id) }, expect: joinInfo(net, opts) };
  },

  async join(ctx, net, ep, sandbox, jopts) {
    const sandboxNs = sandbox.ns;
    const opts = parseBridgeOptions(net, net.driverState.bridge ?? '');
    const hostIfName = hostIf(ep);
    const host = ctx.hostNs.rtnl;
    const inner = sandboxNs.rtnl;
    const fresh = jopts?.fresh ?? false;
    if (fresh) {
      await joinFresh(ctx, ep, sandbox, opts, hostIfName);
      return { iface: { name: ep.ifName }, ...joinInfo(net, opts) };
    }
    const existing = await host.linkGet(hostIfName);
    const peer = await sandboxNs.rtnl.linkGet(ep.ifName);
    if (existing && !peer) await host.linkDel(hostIfName);
    if (!existing || !peer) {
      // The peer is created directly in the sandbox under its final name:
      // one request instead of create, move and rename.
      const add = () => host.linkAdd({
        kind: 'veth', name: hostIfName, ...(opts.mtu ? { mtu: opts.mtu } : {}),
        peer: { name: ep.ifName, netns: sandboxNs, mac: ep.mac, ...(opts.mtu ? { mtu: opts.mtu } : {}) },
      });
      try {
        await add();
      } catch (e) {
        // A reconnect right after a disconnect: the old sandbox end still
        // holds the name while its pair waits for the reaper. The core gave
        // this endpoint a name none of the sandbox's endpoints has, so a
        // link holding it is stale: moved aside once.
        if ((e as { code?: string }).code !== 'EEXIST' || sandbox.ifNames.includes(ep.ifName) || !await moveAside(sandboxNs, ep.ifName)) throw e;
        await add();
      }
    }
    // A kept link (restart, repair) is completed: what it has is read back first.
    const add = (cidr: string, noDad: boolean): Promise<void> => ensureAddr(sandboxNs, ep.ifName, cidr, noDad);
    await Promise.all([
      (async () => {
        if (!existing || !peer) await noIpv6(ctx.hostNs, hostIfName);
        // The mark rides on the message that plugs the port in.
        // A host end kept from before (restart, or an undone disconnect that
        // doomed it) leaves the reaper's group.
        await host.linkSet(hostIfName, { master: opts.bridgeName, up: true, alias: linkMark(ctx.owner, ep.id), ...(existing ? { group: 0 } : {}) });
        // Hairpin, as Docker without its userland proxy: a sandbox reaching
        // its own published port through a host address is bridged back out
        // of the port its packet came in by.
        await host.bridgePortSet(hostIfName, { hairpin: true });
      })(),
      (async () => {
        await Promise.all([
          eui64LinkLocal(sandboxNs, ep.ifName),
          (async () => {
            if (ep.ipv4) await add(ep.ipv4, false);
            if (ep.ipv6) await add(ep.ipv6, true);
          })(),
        ]);
        await inner.linkSet(ep.ifName, { up: true });
      })(),
    ]);
    return { iface: { name: ep.ifName }, ...joinInfo(net, opts) };
  },

  networkIntact(ctx, net, view) {
    const name = net.driverState.bridge;
    const link = name ? view.hostLinks.get(name) : undefined;
    if (!name || !link || link.kind !== 'bridge' || !link.up || link.group) return false;
    // Only a bridge that carries this network's mark: a user's bridge, or
    // one made before marks, goes through createNetwork.
    if (link.alias !== linkMark(ctx.owner, net.id)) return false;
    const opts = parseBridgeOptions(net, name);
    if (opts.mtu && link.mtu !== opts.mtu) return false;
    const have = new Set(view.hostAddrs.filter((a) => a.dev === name).map((a) => a.cidr));
    if (!gatewayCidrs(net, opts).every((c) => have.has(c))) return false;
    indexesOf(ctx.hostNs).set(name, link.index);
    return true;
  },

  intact(net, ep, view, owner) {
    const host = view.hostLinks.get(hostIf(ep));
    const inner = view.sandboxLinks.get(ep.ifName);
    if (!host || !inner || !host.up || !inner.up || host.master === null) return false;
    if (host.alias !== linkMark(owner, ep.id)) return false; // made before marks: join marks it
    if (view.hostByIndex.get(host.master)?.name !== net.driverState.bridge) return false;
    const have = new Set(view.sandboxAddrs.filter((a) => a.dev === ep.ifName).map((a) => a.cidr));
    return (!ep.ipv4 || have.has(ep.ipv4)) && (!ep.ipv6 || have.has(ep.ipv6));
  },

  async leave(ctx, _net, ep) {
    // One request: the host end goes down, so the bridge port forwards
    // nothing and the sandbox end loses its carrier. Deleting the pair (one
    // end takes the other) is the reaper's job, off the request's path; a
    // reconnect that wants the sandbox end's name moves it aside (join).
    await doom(ctx.hostNs, hostIf(ep));
    ctx.reap();
  },

  ownedLinks(net, eps) {
    return [net.driverState.bridge ?? '', ...eps.map(hostIf)].filter(Boolean);
  },

  requiredLinks(net) {
    return net.driverState.bridge ? [net.driverState.bridge] : [];
  },

  firewall(net) {
    return net.driverState.bridge ? networkFirewall(net, parseBridgeOptions(net, net.driverState.bridge)) : null;
  },

  hostInterface: hostIf,

  defaultHostIp(net) {
    const v = net.options[OPT.hostBindingV4] ?? '';
    return v === '0.0.0.0' ? '' : v;
  },

  checkAttachment(net, att) {
    // Docker: static addresses and aliases on user-defined networks only.
    if (!net.predefined) return;
    if (att.ipv4Address || att.ipv6Address) throw invalid('user specified IP address is supported on user defined networks only');
    if (att.aliases.length) throw invalid('network-scoped alias is supported only for containers in user defined networks');
  },
};

/**
 * The gateway is the bridge's address, unless the network is internal (no
 * way out) or the gateway mode is isolated (the bridge has none); the
 * embedded DNS serves user-defined networks only, as Docker's does.
 */
function joinInfo(net: NetworkInfo, opts: ReturnType<typeof parseBridgeOptions>): { gateway: { ipv4: string | null; ipv6: string | null }; routes: []; dns: boolean } {
  const v4 = !net.internal && !opts.inhibitIpv4 && opts.gatewayModeV4 !== 'isolated' ? net.ipv4?.gateway ?? null : null;
  const v6 = !net.internal && opts.gatewayModeV6 !== 'isolated' ? net.ipv6?.gateway ?? null : null;
  return { gateway: { ipv4: v4, ipv6: v6 }, routes: [], dns: !net.predefined };
}

function networkFirewall(net: NetworkInfo, o: ReturnType<typeof parseBridgeOptions>): NetworkFirewall {
  const fw: NetworkFirewall = {
    id: net.id,
    bridge: o.bridgeName,
    icc: o.icc,
    masquerade: o.masquerade,
    internal: net.internal,
    gatewayModeV4: o.gatewayModeV4,
    gatewayModeV6: o.gatewayModeV6,
    antiSpoof: o.antiSpoof,
  };
  if (net.ipv4) fw.v4 = { subnet: net.ipv4.subnet, ...(o.gatewayModeV4 === 'isolated' ? {} : { gateway: net.ipv4.gateway }) };
  if (net.ipv6) fw.v6 = { subnet: net.ipv6.subnet, ...(o.gatewayModeV6 === 'isolated' ? {} : { gateway: net.ipv6.gateway }) };
  if (o.hostIpv4) fw.hostIpv4 = o.hostIpv4;
  return fw;
}

/** The lowest free <prefix>N inside the sandbox (eth0, eth1, ...). */
function pickIfName(used: readonly string[], prefix: string): string {
  for (let i = 0; ; i++) {
    const n = `${prefix}${i}`;
    if (!used.includes(n)) return n;
  }
}

/** "172.18.0.1" + "172.18.0.0/16" -> "172.18.0.1/16" */
export function gatewayCidr(gateway: string, subnet: string): string {
  return `${gateway}/${subnet.split('/')[1]}`;
}

/**
 * The host end's name: `veth` and 11 hex digits of the endpoint id, all
 * that IFNAMSIZ leaves (44 bits: two of 10,000 endpoints clash about once
 * in 3 million, where Docker's 7 digits clash in ~17% of such hosts; a
 * clash fails the connect with EEXIST). Endpoints made before this kept
 * their 7 digits in their driver state.
 */
export function hostIfNameFor(endpointId: string): string {
  return `veth${endpointId.slice(0, 11)}`;
}

/** Leave is best effort for a sandbox namespace that is already gone. */
export function isMissingLinkError(e: unknown): boolean {
  return isMissing(e);
}

