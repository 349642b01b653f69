// The embedded DNS follows the controller: a user-defined network's gateway
// address gets a listener, every endpoint on such a network its names, and a
// sandbox's resolv.conf points at the gateway of its first such network.
//
// Drivers whose endpoints cannot reach the host (capabilities.dnsInSandbox:
// macvlan and ipvlan children never talk to their parent) get the resolver
// inside the sandbox instead: a listener on 127.0.0.11:53 in its namespace,
// open while the sandbox has such an endpoint, answering as that sandbox
// (same names, scoping and upstreams as the gateway listeners).
import { closeSync } from 'node:fs';
import type { ControllerHooks } from '../core/hooks.ts';
import { Netns } from '../netlink/index.ts';
import { shortId } from '../model/ids.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/records.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { Resolver } from '../dns/index.ts';
import type { Logger } from '../core/context.ts';

/** Where a sandbox's own listener binds, inside its namespace: Docker's address. */
export const SANDBOX_RESOLVER = '127.0.0.11';

/** Bound UDP and TCP sockets on `address`:`port` in the sandbox's namespace (fds the DNS server takes over). */
export type SandboxSockets = (sbx: SandboxRecord, address: string, port: number) => Promise<{ udp: number; tcp: number }>;

/**
 * The kernel's SandboxSockets: opened through the sandbox's namespace file
 * (its process's namespace if the file is gone). The sockets keep that
 * namespace for life; the handle is closed at once. 127.0.0.11 is in
 * 127.0.0.0/8, on lo, which the sandbox's namespace has up from its start.
 */
export const kernelSandboxSockets: SandboxSockets = async (sbx, address, port) => {
  const ns = await Netns.open(sbx.netnsPath).catch((e: unknown) => {
    if (!sbx.pid) throw e;
    return Netns.open(`/proc/${sbx.pid}/ns/net`);
  });
  try {
    const udp = await ns.socket(4, 'udp', address, port);
    try {
      return { udp, tcp: await ns.socket(4, 'tcp', address, port) };
    } catch (e) {
      closeSync(udp);
      throw e;
    }
  } finally {
    ns.close();
  }
};

/** Docker: user-defined networks only (not the default bridge). */
export function servesDns(drivers: DriverRegistry, net: NetworkRecord): boolean {
  return !net.predefined && drivers.get(net.driver).capabilities.dns;
}

const gatewaysOf = (net: NetworkRecord): string[] => [net.ipv4?.gateway, net.ipv6?.gateway].filter((g): g is string => !!g);
/** A listener serves the sandboxes of its own network only. */
const subnetsOf = (net: NetworkRecord): string[] => [net.ipv4?.subnet, net.ipv6?.subnet].filter((s): s is string => !!s);
const addr = (cidr?: string): string | undefined => cidr?.split('/')[0];

/** `sandboxSockets`: how to make sockets in a sandbox's namespace; without it no sandbox gets a listener of its own. */
export function dnsHooks(dns: Resolver, drivers: DriverRegistry, log: Logger, sandboxSockets?: SandboxSockets): ControllerHooks {
  const endpointsBySandbox = new Map<string, Set<string>>();
  /** Sandbox -> its endpoints served by a listener inside it. */
  const inSandbox = new Map<string, Set<string>>();
  const servedInside = (ep: EndpointRecord, net: NetworkRecord): boolean =>
    ep.dns && servesDns(drivers, net) && drivers.get(net.driver).capabilities.dnsInSandbox === true;
  const openInside = async (sbx: SandboxRecord): Promise<void> => {
    if (!sandboxSockets) return;
    const port = dns.server.port;
    try {
      const fds = await sandboxSockets(sbx, SANDBOX_RESOLVER, port);
      await dns.server.addSandbox(sbx.id, { ...fds, address: SANDBOX_RESOLVER, port });
    } catch (e) {
      // Like a gateway listener that cannot bind: the network still works by address.
      log.warn(`dns: cannot listen on ${SANDBOX_RESOLVER} in the namespace of ${sbx.name}: ${(e as Error).message}`);
    }
  };
  /** An endpoint's names: container name, hostname, aliases, short ID. */
  const addToTable = (ep: EndpointRecord, net: NetworkRecord, sbx: SandboxRecord): void => {
    const names = [sbx.name, sbx.hostname, ...ep.aliases, shortId(sbx.id)];
    dns.table.addEndpoint({
      endpointId: ep.id,
      sandboxId: sbx.id,
      networkId: net.id,
      networkName: net.name,
      names: [...new Set(names.filter(Boolean))],
      ...(ep.ipv4 ? { ipv4: addr(ep.ipv4) } : {}),
      ...(ep.ipv6 ? { ipv6: addr(ep.ipv6) } : {}),
      internal: net.internal,
    });
  };
  return {
    async networkAdded(net) {
      // Drivers served inside the sandbox have no gateway on this host to listen on.
      if (!servesDns(drivers, net) || drivers.get(net.driver).capabilities.dnsInSandbox) return;
      for (const gw of gatewaysOf(net)) {
        try {
          await dns.server.addAddress(gw, { subnets: subnetsOf(net) });
        } catch (e) {
          // A network without a working resolver still works by address.
          log.warn(`dns: cannot listen on ${gw} for ${net.name}: ${(e as Error).message}`);
        }
      }
    },
    async networkRemoved(net) {
      if (!servesDns(drivers, net) || drivers.get(net.driver).capabilities.dnsInSandbox) return;
      for (const gw of gatewaysOf(net)) await dns.server.removeAddress(gw).catch(() => undefined);
    },
    async endpointAdded(ep: EndpointRecord, net: NetworkRecord, sbx: SandboxRecord) {
      // The driver's join said whether the embedded DNS serves the endpoint.
      if (!ep.dns || !servesDns(drivers, net)) return;
      addToTable(ep, net, sbx);
      // With the embedded DNS, --dns servers become the sandbox's upstreams.
      if (sbx.dns.length) dns.upstreams.setSandboxServers(sbx.id, sbx.dns);
      // Else the DNS servers of a DHCP lease (the dhcp IPAM driver), as a DHCP client would use them.
      else if (ep.dhcpLease?.dns.length) dns.upstreams.setSandboxServers(sbx.id, ep.dhcpLease.dns);
      // Else the servers the driver's join brought (a CNI result's dns).
      else if (ep.dnsServers?.length) dns.upstreams.setSandboxServers(sbx.id, ep.dnsServers);
      const set = endpointsBySandbox.get(sbx.id) ?? new Set();
      set.add(ep.id);
      endpointsBySandbox.set(sbx.id, set);
      if (servedInside(ep, net)) {
        const inside = inSandbox.get(sbx.id) ?? new Set();
        inSandbox.set(sbx.id, inside);
        inside.add(ep.id);
        // The first such endpoint opens the listener; reconcile re-adds
        // endpoints at daemon start, which opens it again.
        if (inside.size === 1) await openInside(sbx);
      }
    },
    async endpointRemoved(ep) {
      dns.table.removeEndpoint(ep.id);
      const set = endpointsBySandbox.get(ep.sandboxId);
      set?.delete(ep.id);
      if (set && set.size === 0) {
        endpointsBySandbox.delete(ep.sandboxId);
        dns.upstreams.setSandboxServers(ep.sandboxId, null);
      }
      const inside = inSandbox.get(ep.sandboxId);
      if (inside?.delete(ep.id) && inside.size === 0) {
        inSandbox.delete(ep.sandboxId);
        // Its sockets would keep the namespace alive after the sandbox.
        await dns.server.removeSandbox(ep.sandboxId);
      }
    },
    sandboxRenamed(sbx, eps) {
      // The old name goes with the old entry; the new entry has the new one.
      for (const { ep, net } of eps) {
        if (!ep.dns || !servesDns(drivers, net)) continue;
        dns.table.removeEndpoint(ep.id);
        addToTable(ep, net, sbx);
      }
    },
    resolverFor(_sbx, eps) {
      // A sandbox with a listener inside uses it, even when a bridge network
      // comes first: loopback needs no route, and that listener answers for
      // all the sandbox's networks (as a gateway listener does too).
      if (sandboxSockets && eps.some(({ ep, net }) => servedInside(ep, net))) return SANDBOX_RESOLVER;
      for (const { ep, net } of eps) {
        if (ep.dns && servesDns(drivers, net)) return net.ipv4?.gateway ?? net.ipv6?.gateway ?? null;
      }
      return null;
    },
  };
}
