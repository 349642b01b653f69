// The embedded DNS follows the controller: a user-defined network's gateway
// address gets a listener, every endpoint on such a network its names, and a
// sandbox's resolv.conf points at the gateway of its first such network.
import type { ControllerHooks } from '../core/hooks.ts';
import { shortId } from '../model/ids.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/records.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { Resolver } from '../dns/index.ts';
import type { Logger } from '../core/context.ts';

/** Docker: user-defined networks only (not the default bridge). */
function servesDns(drivers: DriverRegistry, net: NetworkRecord): boolean {
  return !net.predefined && drivers.get(net.driver).capabilities.dns;
}

const gatewaysOf = (net: NetworkRecord): string[] => [net.ipv4?.gateway, net.ipv6?.gateway].filter((g): g is string => !!g);
/** A listener serves the sandboxes of its own network only. */
const subnetsOf = (net: NetworkRecord): string[] => [net.ipv4?.subnet, net.ipv6?.subnet].filter((s): s is string => !!s);
const addr = (cidr?: string): string | undefined => cidr?.split('/')[0];

export function dnsHooks(dns: Resolver, drivers: DriverRegistry, log: Logger): ControllerHooks {
  const endpointsBySandbox = new Map<string, Set<string>>();
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
      if (!servesDns(drivers, net)) return;
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
      if (!servesDns(drivers, net)) return;
      for (const gw of gatewaysOf(net)) await dns.server.removeAddress(gw).catch(() => undefined);
    },
    endpointAdded(ep: EndpointRecord, net: NetworkRecord, sbx: SandboxRecord) {
      // The driver's join said whether the embedded DNS serves the endpoint.
      if (!ep.dns || !servesDns(drivers, net)) return;
      addToTable(ep, net, sbx);
      // With the embedded DNS, --dns servers become the sandbox's upstreams.
      if (sbx.dns.length) dns.upstreams.setSandboxServers(sbx.id, sbx.dns);
      // Else the DNS servers of a DHCP lease (the dhcp IPAM driver), as a DHCP client would use them.
      else if (ep.dhcpLease?.dns.length) dns.upstreams.setSandboxServers(sbx.id, ep.dhcpLease.dns);
      const set = endpointsBySandbox.get(sbx.id) ?? new Set();
      set.add(ep.id);
      endpointsBySandbox.set(sbx.id, set);
    },
    endpointRemoved(ep) {
      dns.table.removeEndpoint(ep.id);
      const set = endpointsBySandbox.get(ep.sandboxId);
      set?.delete(ep.id);
      if (set && set.size === 0) {
        endpointsBySandbox.delete(ep.sandboxId);
        dns.upstreams.setSandboxServers(ep.sandboxId, null);
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
      for (const { ep, net } of eps) {
        if (ep.dns && servesDns(drivers, net)) return net.ipv4?.gateway ?? net.ipv6?.gateway ?? null;
      }
      return null;
    },
  };
}
