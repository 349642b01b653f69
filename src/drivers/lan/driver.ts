// The macvlan and ipvlan drivers: containers sit directly on a physical (or
// VLAN, or dummy) link's network. Each endpoint is a macvlan/ipvlan child of
// the network's parent, created straight inside the sandbox under its final
// name; nothing of an endpoint lives on the host. Docker's behaviour is the
// reference (libnetwork drivers/macvlan and drivers/ipvlan): options, error
// texts, the dummy parent of a network without one, 802.1Q parents made on
// demand, gateways per mode.
//
// The kernel never passes traffic between a child and its parent, so the
// host cannot reach these containers (nor they the host's resolver on the
// gateway): the embedded DNS listens inside their sandboxes, and
// cnm.macvlan.host_shim gives the host a macvlan leg of its own.
import { forbidden, invalid } from '../../model/errors.ts';
import type { Link, NetnsHandle } from '../../netlink/index.ts';
import type { DriverContext, EndpointInfo, JoinResult, JoinRoute, NetworkDriver, NetworkInfo } from '../driver.ts';
import { linkMark } from '../link-mark.ts';
import { moveAside } from '../reap.ts';
import { LAN_OPT, parseLanOptions, shimName } from './options.ts';
import type { LanKind, LanOptions } from './options.ts';

const isMissing = (e: unknown): boolean => ['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL'].includes((e as { code?: string }).code ?? '');

/** The mark of a parent link cnm made: shared by every network on it, so it names the parent, not a network. */
const parentMark = (owner: string, parent: string): string => `cnm:${owner}:parent:${parent}`.slice(0, 127);

const opts = (kind: LanKind, net: NetworkInfo): LanOptions => parseLanOptions(kind, net);

const v4Int = (ip: string): number => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);
function v4Contains(cidr: string, ip: string): boolean {
  const [base, len] = cidr.split('/');
  const bits = Number(len);
  const size = 2 ** (32 - bits);
  const start = Math.floor(v4Int(base!) / size) * size;
  const x = v4Int(ip);
  return x >= start && x < start + size;
}

/** The parent of each other network of either driver, with its mode. */
function parentUsers(others: readonly NetworkInfo[], parent: string): Array<{ net: NetworkInfo; kind: LanKind; o: LanOptions }> {
  const out: Array<{ net: NetworkInfo; kind: LanKind; o: LanOptions }> = [];
  for (const n of others) {
    if (n.driver !== 'macvlan' && n.driver !== 'ipvlan') continue;
    const o = parseLanOptions(n.driver, n);
    if (o.parent === parent) out.push({ net: n, kind: n.driver, o });
  }
  return out;
}

function checkParentSharing(kind: LanKind, o: LanOptions, others: readonly NetworkInfo[]): void {
  for (const u of parentUsers(others, o.parent)) {
    // One ipvlan network per parent (all Docker versions); the kernel also
    // refuses macvlan and ipvlan children on one link.
    if (kind === 'ipvlan' || u.kind === 'ipvlan') {
      throw forbidden(`network ${u.net.name} is already using parent interface ${o.parent}`);
    }
    // macvlan (Docker 27+): networks share a parent, except in passthru
    // mode, where the one child takes the parent over.
    if (o.macvlanMode === 'passthru') {
      throw forbidden(`cannot use mode passthru, macvlan network ${u.net.name} is already using parent interface ${o.parent}`);
    }
    if (u.o.macvlanMode === 'passthru') {
      throw forbidden(`macvlan network ${u.net.name} is already using parent interface ${o.parent} in mode passthru`);
    }
  }
}

/** The host shim's address may not be one IPAM could hand to a container. */
function checkShim(net: NetworkInfo, shim: string): void {
  const v4 = net.ipv4;
  if (!v4) throw invalid(`option ${LAN_OPT.hostShim} needs an IPv4 subnet on the network`);
  const pool = v4.ipRange ?? v4.subnet;
  if (!v4Contains(pool, shim)) return;
  if (shim === v4.gateway || Object.values(v4.auxAddresses ?? {}).includes(shim)) return;
  throw invalid(`host shim address ${shim} lies in the range containers get addresses from (${pool}): reserve it with --aux-address shim=${shim}, or choose an address outside it`);
}

/** Makes the parent exist: the user's must be there; a VLAN or dummy parent cnm makes (marked). */
async function ensureParent(ctx: DriverContext, o: LanOptions): Promise<Link> {
  const rtnl = ctx.hostNs.rtnl;
  const have = await rtnl.linkGet(o.parent);
  if (have) {
    if (o.parentKind === 'dummy' && have.kind !== 'dummy') throw forbidden(`device "${o.parent}" exists and is not a dummy link`);
    return have;
  }
  if (o.parentKind === 'link') throw invalid(`-o parent interface was not found on the host: ${o.parent}`);
  const kernelLacks = (what: string, mod: string) => (e: unknown): never => {
    // An unknown link kind whose module cannot load: EOPNOTSUPP.
    if ((e as { code?: string }).code === 'EOPNOTSUPP') throw invalid(`cannot create the parent interface ${o.parent}: this kernel has no ${what} links (module ${mod})`);
    throw e;
  };
  if (o.parentKind === 'vlan') {
    const master = o.vlan!.master;
    if (!(await rtnl.linkGet(master))) throw invalid(`-o parent interface was not found on the host: ${master}`);
    await rtnl.linkAdd({ kind: 'vlan', name: o.parent, parent: master, vlanId: o.vlan!.id, alias: parentMark(ctx.owner, o.parent) })
      .catch(kernelLacks('802.1Q VLAN', '8021q'));
  } else {
    await rtnl.linkAdd({ kind: 'dummy', name: o.parent, alias: parentMark(ctx.owner, o.parent) }).catch(kernelLacks('dummy', 'dummy'));
  }
  await rtnl.linkSet(o.parent, { up: true });
  const made = await rtnl.linkGet(o.parent);
  if (!made) throw invalid(`parent interface ${o.parent} vanished right after creation`);
  return made;
}

/** Deletes a parent cnm made when no other network uses it. The user's links stay. */
async function releaseParent(ctx: DriverContext, net: NetworkInfo, o: LanOptions): Promise<void> {
  if (o.parentKind === 'link') return;
  const others = ctx.networks().filter((n) => n.id !== net.id);
  if (parentUsers(others, o.parent).length) return;
  const rtnl = ctx.hostNs.rtnl;
  const link = await rtnl.linkGet(o.parent);
  if (!link || link.alias !== parentMark(ctx.owner, o.parent)) return;
  await rtnl.linkDel(o.parent).catch((e: unknown) => { if (!isMissing(e)) throw e; });
}

/**
 * The host's leg on a macvlan network (no peer offers this): a bridge-mode
 * macvlan on the parent with the shim address, and a route to the range the
 * containers get addresses from through it. The kernel then switches
 * host <-> container traffic between the two macvlan children.
 */
async function ensureShim(ctx: DriverContext, net: NetworkInfo, o: LanOptions): Promise<void> {
  if (!o.hostShim || !net.ipv4) return;
  const rtnl = ctx.hostNs.rtnl;
  const name = shimName(net.id);
  const link = await rtnl.linkGet(name);
  if (!link) await rtnl.linkAdd({ kind: 'macvlan', name, parent: o.parent, mode: 'bridge', alias: linkMark(ctx.owner, net.id) });
  const cidr = `${o.hostShim}/32`;
  if (!(await rtnl.addrList(name)).some((a) => a.cidr === cidr)) await rtnl.addrAdd(name, cidr, { noDad: true });
  await rtnl.linkSet(name, { up: true });
  await rtnl.routeReplace({ dst: net.ipv4.ipRange ?? net.ipv4.subnet, dev: name });
}

async function dropShim(ctx: DriverContext, net: NetworkInfo): Promise<void> {
  const link = await ctx.hostNs.rtnl.linkGet(shimName(net.id));
  // Its address and route go with it.
  if (link && link.alias === linkMark(ctx.owner, net.id)) await ctx.hostNs.rtnl.linkDel(link.index).catch((e: unknown) => { if (!isMissing(e)) throw e; });
}

/** Default gateway and routes, as Docker's drivers give them. */
function joinInfo(kind: LanKind, net: NetworkInfo, o: LanOptions, ep: Pick<EndpointInfo, 'ipv4' | 'ipv6'>): Omit<JoinResult, 'iface'> {
  // ipvlan l3/l3s routes, it does not switch: no gateway, and the default
  // routes go straight out of the interface (the parent's next hop answers).
  if (kind === 'ipvlan' && o.ipvlanMode !== 'l2') {
    const routes: JoinRoute[] = net.internal ? [] : [
      ...(ep.ipv4 ? [{ dst: '0.0.0.0/0' }] : []),
      ...(ep.ipv6 ? [{ dst: '::/0' }] : []),
    ];
    return { gateway: { ipv4: null, ipv6: null }, routes, dns: true };
  }
  const gw = net.internal ? { ipv4: null, ipv6: null } : { ipv4: net.ipv4?.gateway ?? null, ipv6: net.ipv6?.gateway ?? null };
  return { gateway: gw, routes: [], dns: true };
}

/** Join on a `dhcp` IPAM network: the address, gateway and DNS servers are the LAN DHCP server's lease. */
async function dhcpJoin(ctx: DriverContext, net: NetworkInfo, ep: EndpointInfo, ns: NetnsHandle): Promise<Omit<JoinResult, 'iface'>> {
  if (!ctx.dhcp) throw invalid('the dhcp IPAM driver is not available in this daemon');
  const lease = await ctx.dhcp.acquire({ ns, ifName: ep.ifName, network: net, endpoint: ep });
  return {
    gateway: { ipv4: net.internal ? null : lease.gateway, ipv6: null }, routes: [], dns: true,
    addresses: { ipv4: `${lease.address}/${lease.prefix}` }, dnsServers: lease.dns, lease,
  };
}

function pickIfName(used: readonly string[], prefix: string): string {
  for (let i = 0; ; i++) if (!used.includes(`${prefix}${i}`)) return `${prefix}${i}`;
}

async function ensureAddr(ns: NetnsHandle, dev: string, cidr: string, noDad: boolean, fresh: boolean): Promise<void> {
  if (!fresh && (await ns.rtnl.addrList(dev)).some((a) => a.cidr === cidr)) return;
  await ns.rtnl.addrAdd(dev, cidr, { noDad });
}

function lanDriver(kind: LanKind): NetworkDriver {
  return {
    name: kind,
    capabilities: {
      scope: 'local', ownNamespace: true, endpoints: true, singleton: false, combinable: true,
      portPublishing: false, dns: true, dnsInSandbox: true,
    },

    async validateNetwork(net, others) {
      const o = opts(kind, net);
      checkParentSharing(kind, o, others);
      if (o.hostShim) {
        if (kind !== 'macvlan') throw invalid(`option ${LAN_OPT.hostShim} is for macvlan networks`);
        if (o.parentKind === 'dummy') throw invalid(`option ${LAN_OPT.hostShim} needs -o parent: a network without one is internal`);
        checkShim(net, o.hostShim);
      }
      return { parent: o.parent };
    },

    implicitInternal(net) {
      return !net.options[LAN_OPT.parent];
    },

    async createNetwork(ctx, net) {
      const o = opts(kind, net);
      const made = o.parentKind !== 'link' && !(await ctx.hostNs.rtnl.linkGet(o.parent));
      await ensureParent(ctx, o);
      try {
        await ensureShim(ctx, net, o);
      } catch (e) {
        await dropShim(ctx, net).catch(() => undefined);
        if (made) await releaseParent(ctx, net, o).catch(() => undefined);
        throw e;
      }
    },

    async deleteNetwork(ctx, net) {
      const o = opts(kind, net);
      await dropShim(ctx, net);
      await releaseParent(ctx, net, o);
    },

    async createEndpoint(net, ep, sandbox) {
      for (const k of Object.keys(ep.driverOpts)) {
        if (!k.startsWith('com.docker.network.endpoint.')) throw invalid(`unknown endpoint driver option "${k}" for the ${kind} driver`);
      }
      const o = opts(kind, net);
      const prefix = net.options['com.docker.network.container_iface_prefix'] || 'eth';
      return { ifName: pickIfName(sandbox.ifNames, prefix), driverState: {}, expect: joinInfo(kind, net, o, ep) };
    },

    async join(ctx, net, ep, sandbox, jopts) {
      const o = opts(kind, net);
      const fresh = jopts?.fresh ?? false;
      const inner = sandbox.ns.rtnl;
      const have = fresh ? null : await inner.linkGet(ep.ifName);
      if (have && have.kind !== kind) await inner.linkDel(ep.ifName);
      if (!have || have.kind !== kind) {
        // A parent the network needs but that went away (a VLAN link
        // deleted by hand, a restart): made again as at network create.
        if (o.parentKind !== 'link' && !(await ctx.hostNs.rtnl.linkGet(o.parent))) await ensureParent(ctx, o);
        // Made beside the parent and born in the sandbox under its final name.
        const add = () => ctx.hostNs.rtnl.linkAdd(kind === 'macvlan'
          ? { kind, name: ep.ifName, parent: o.parent, mode: o.macvlanMode, mac: ep.mac, netns: sandbox.ns }
          : { kind, name: ep.ifName, parent: o.parent, mode: o.ipvlanMode, flag: o.ipvlanFlag, netns: sandbox.ns });
        try {
          try {
            await add();
          } catch (e) {
            // Right after a disconnect from a bridge network the old veth's
            // sandbox end may still hold the name while its pair waits for
            // the reaper (the core chose the name as free): moved aside once.
            if ((e as { code?: string }).code !== 'EEXIST' || sandbox.ifNames.includes(ep.ifName) || !await moveAside(sandbox.ns, ep.ifName)) throw e;
            await add();
          }
        } catch (e) {
          if ((e as { code?: string }).code === 'ENODEV') throw invalid(`the requested parent interface ${o.parent} was not found on the host`);
          throw invalid(`failed to create the ${kind} port: ${(e as Error).message}`);
        }
      }
      if (ep.ipv4) await ensureAddr(sandbox.ns, ep.ifName, ep.ipv4, false, fresh || !have);
      if (ep.ipv6) await ensureAddr(sandbox.ns, ep.ifName, ep.ipv6, true, fresh || !have);
      await inner.linkSet(ep.ifName, { up: true });
      if (net.ipamDriver === 'dhcp') return { iface: { name: ep.ifName }, ...await dhcpJoin(ctx, net, ep, sandbox.ns) };
      return { iface: { name: ep.ifName }, ...joinInfo(kind, net, o, ep) };
    },

    async leave(ctx, net, ep, ns) {
      if (net.ipamDriver === 'dhcp') await ctx.dhcp?.release({ ns, ifName: ep.ifName, network: net, endpoint: ep });
      // A child lives only in the sandbox: gone with its namespace. Else it
      // is deleted now: taking a macvlan child down costs the kernel as much
      // as deleting it (10-20 ms, unlike a veth end), so the reaper would
      // save nothing here.
      if (!ns) return;
      try {
        await ns.rtnl.linkDel(ep.ifName);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    },

    intact(_net, ep, view) {
      const inner = view.sandboxLinks.get(ep.ifName);
      if (!inner || !inner.up || inner.kind !== kind) return false;
      const have = new Set(view.sandboxAddrs.filter((a) => a.dev === ep.ifName).map((a) => a.cidr));
      return (!ep.ipv4 || have.has(ep.ipv4)) && (!ep.ipv6 || have.has(ep.ipv6));
    },

    ownedLinks(net) {
      const o = opts(kind, net);
      return [...(o.parentKind === 'link' ? [] : [o.parent]), ...(o.hostShim ? [shimName(net.id)] : [])];
    },

    requiredLinks(net) {
      const o = opts(kind, net);
      return [o.parent, ...(o.hostShim ? [shimName(net.id)] : [])];
    },
  };
}

export const macvlanDriver = lanDriver('macvlan');
export const ipvlanDriver = lanDriver('ipvlan');
