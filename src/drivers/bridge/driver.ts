// The bridge driver: one Linux bridge per network, one veth pair per endpoint
// (host end enslaved to the bridge, the other end inside the sandbox).
import { forbidden, invalid } from '../../core/errors.ts';
import type { EndpointRecord, NetworkRecord } from '../../core/model.ts';
import { shortId } from '../../core/ids.ts';
import type { Netns } from '../../netlink/index.ts';
import type { DriverContext, NetworkDriver } from '../driver.ts';
import { parseBridgeOptions } from './options.ts';

/** The predefined network's device; Docker's is docker0. */
export const DEFAULT_BRIDGE_DEVICE = 'cnm0';

const isMissing = (e: unknown): boolean => ['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL'].includes((e as { code?: string }).code ?? '');

async function ensureAddr(ns: Netns, dev: string, cidr: string, noDad: boolean): Promise<void> {
  const have = await ns.rtnl.addrList(dev);
  if (have.some((a) => a.cidr === cidr)) return;
  await ns.rtnl.addrAdd(dev, cidr, { noDad });
}

export const bridgeDriver: NetworkDriver = {
  name: 'bridge',
  capabilities: { ownNamespace: true, endpoints: true, singleton: false, combinable: true, dns: true },

  prepareNetwork(net, others) {
    const dflt = net.predefined ? DEFAULT_BRIDGE_DEVICE : `br-${shortId(net.id)}`;
    const opts = parseBridgeOptions(net, dflt);
    const clash = others.find((o) => o.driver === 'bridge' && o.driverState.bridge === opts.bridgeName);
    if (clash) throw forbidden(`bridge name "${opts.bridgeName}" is already used by network ${clash.name}`);
    if ((opts.gatewayModeV4 === 'isolated' || opts.gatewayModeV6 === 'isolated') && !net.internal) {
      throw invalid("gateway mode 'isolated' can only be used for an internal network");
    }
    // The bridge holds the gateway address. A /32 or /128 has no room for
    // one next to an endpoint (the kernel is handed an empty address).
    if (net.ipv4 && !net.ipv4.gateway && !opts.inhibitIpv4 && opts.gatewayModeV4 !== 'isolated') {
      throw invalid(`invalid subnet ${net.ipv4.subnet}: no room for a gateway and an endpoint; expected a prefix of /31 or shorter`);
    }
    if (net.ipv6 && !net.ipv6.gateway && opts.gatewayModeV6 !== 'isolated') {
      throw invalid(`invalid subnet ${net.ipv6.subnet}: no room for a gateway and an endpoint; expected a prefix of /127 or shorter`);
    }
    net.driverState.bridge = opts.bridgeName;
  },

  async createNetwork(ctx: DriverContext, net: NetworkRecord, copts) {
    const opts = parseBridgeOptions(net, net.driverState.bridge ?? '');
    const name = opts.bridgeName;
    const rtnl = ctx.hostNs.rtnl;
    const fresh = copts?.fresh ?? false;
    const link = await rtnl.linkGet(name);
    if (!link) await rtnl.linkAdd({ kind: 'bridge', name, ...(opts.mtu ? { mtu: opts.mtu } : {}) });
    else if (link.kind !== 'bridge') throw forbidden(`device "${name}" exists and is not a bridge`);
    try {
      // A new bridge has no addresses to check; an adopted one (restart, or a
      // bridge the user named) is read back first.
      const add = fresh && !link
        ? (cidr: string, noDad: boolean) => rtnl.addrAdd(name, cidr, { noDad })
        : (cidr: string, noDad: boolean) => ensureAddr(ctx.hostNs, name, cidr, noDad);
      // The bridge carries the gateway addresses; sandboxes route through them.
      // Gateway mode "isolated": the bridge has no address, the host is unreachable.
      if (net.ipv4 && !opts.inhibitIpv4 && opts.gatewayModeV4 !== 'isolated') await add(gatewayCidr(net.ipv4.gateway, net.ipv4.subnet), false);
      if (net.ipv6 && opts.gatewayModeV6 !== 'isolated') await add(gatewayCidr(net.ipv6.gateway, net.ipv6.subnet), true);
      await rtnl.linkSet(name, { up: true });
    } catch (e) {
      // A bridge made here goes again, with the addresses it got: left
      // behind, it would hold a gateway address that the next network is
      // given too. One that was there before is the user's and stays.
      if (!link) await rtnl.linkDel(name).catch(() => undefined);
      throw e;
    }
  },

  async deleteNetwork(ctx, net) {
    const name = net.driverState.bridge;
    if (!name) return;
    try {
      await ctx.hostNs.rtnl.linkDel(name);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  },

  async join(ctx, net, ep, sandboxNs, jopts) {
    const opts = parseBridgeOptions(net, net.driverState.bridge ?? '');
    const host = ctx.hostNs.rtnl;
    const inner = sandboxNs.rtnl;
    const fresh = jopts?.fresh ?? false;
    const existing = fresh ? null : await host.linkGet(ep.hostIfName);
    const peer = fresh ? null : await inner.linkGet(ep.ifName);
    if (existing && !peer) await host.linkDel(ep.hostIfName);
    if (!existing || !peer) {
      // The peer is created directly in the sandbox under its final name:
      // one request instead of create, move and rename.
      await host.linkAdd({
        kind: 'veth', name: ep.hostIfName, ...(opts.mtu ? { mtu: opts.mtu } : {}),
        peer: { name: ep.ifName, netns: sandboxNs, mac: ep.mac, ...(opts.mtu ? { mtu: opts.mtu } : {}) },
      });
    }
    // Host end and sandbox end are configured concurrently: they live in
    // different namespaces, so their requests travel on different sockets.
    const add = fresh
      ? (cidr: string, noDad: boolean) => inner.addrAdd(ep.ifName, cidr, { noDad })
      : (cidr: string, noDad: boolean) => ensureAddr(sandboxNs, ep.ifName, cidr, noDad);
    await Promise.all([
      (async () => {
        await host.linkSet(ep.hostIfName, { master: opts.bridgeName, up: true });
        // Hairpin, as Docker without its userland proxy: a sandbox reaching
        // its own published port through a host address is bridged back out
        // of the port its packet came in by.
        await host.bridgePortSet(ep.hostIfName, { hairpin: true });
      })(),
      (async () => {
        if (ep.ipv4) await add(ep.ipv4, false);
        if (ep.ipv6) await add(ep.ipv6, true);
        await inner.linkSet(ep.ifName, { up: true });
      })(),
    ]);
  },

  intact(net, ep, view) {
    const host = view.hostLinks.get(ep.hostIfName);
    const inner = view.sandboxLinks.get(ep.ifName);
    if (!host || !inner || !host.up || !inner.up || host.master === null) return false;
    if (view.hostByIndex.get(host.master)?.name !== net.driverState.bridge) return false;
    const have = new Set(view.sandboxAddrs.filter((a) => a.dev === ep.ifName).map((a) => a.cidr));
    return (!ep.ipv4 || have.has(ep.ipv4)) && (!ep.ipv6 || have.has(ep.ipv6));
  },

  async leave(ctx, _net, ep) {
    // Deleting one end of a veth pair deletes both.
    try {
      await ctx.hostNs.rtnl.linkDel(ep.hostIfName);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  },

  ownedLinks(net, eps) {
    return [net.driverState.bridge ?? '', ...eps.map((e) => e.hostIfName)].filter(Boolean);
  },
};

/** "172.18.0.1" + "172.18.0.0/16" -> "172.18.0.1/16" */
export function gatewayCidr(gateway: string, subnet: string): string {
  return `${gateway}/${subnet.split('/')[1]}`;
}

/** Host end names: "veth" + 7 hex of the endpoint ID, as Docker's look. */
export function hostIfNameFor(endpointId: string): string {
  return `veth${endpointId.slice(0, 7)}`;
}

/** Leave is best effort for a sandbox namespace that is already gone. */
export function isMissingLinkError(e: unknown): boolean {
  return isMissing(e);
}

export type { EndpointRecord };
