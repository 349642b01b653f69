// The firewall follows the controller: a network whose driver describes it
// to the firewall (bridge) gets its chains and
// map entries, an endpoint its anti-spoofing entries and published ports.
// During start-up reconcile the hooks only collect; the whole state is then
// installed in one transaction by init().
import type { Logger } from '../core/context.ts';
import type { ControllerHooks } from '../core/hooks.ts';
import type { EndpointRecord, NetworkRecord } from '../model/records.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { EndpointFw, Firewall, FirewallState, NetworkFw } from '../firewall/index.ts';
import { servesDns } from './dns-hooks.ts';

const addr = (cidr?: string): string | undefined => cidr?.split('/')[0];

/**
 * The firewall filters networks whose driver describes them (bridge).
 * `dnsPort`: the embedded DNS's port, for networks it listens on (their
 * gateway; dns-hooks.ts servesDns).
 */
export function networkFw(drivers: DriverRegistry, net: NetworkRecord, dnsPort?: number): NetworkFw | null {
  const n = drivers.get(net.driver).firewall?.(net) ?? null;
  if (!n || dnsPort === undefined || !servesDns(drivers, net)) return n;
  return { ...n, dnsPort };
}

export function endpointFw(drivers: DriverRegistry, net: NetworkRecord, ep: EndpointRecord): EndpointFw {
  return {
    id: ep.id,
    networkId: ep.networkId,
    hostIface: drivers.get(net.driver).hostInterface?.(ep) ?? '',
    mac: ep.mac,
    ...(ep.ipv4 ? { ipv4: addr(ep.ipv4) } : {}),
    ...(ep.ipv6 ? { ipv6: addr(ep.ipv6) } : {}),
    ports: ep.ports ?? [],
  };
}

export interface FirewallHooks extends ControllerHooks {
  /** Installs everything collected so far and goes live. */
  start(): Promise<void>;
}

export function firewallHooks(fw: Firewall, drivers: DriverRegistry, log: Logger, dnsPort?: number): FirewallHooks {
  let live = false;
  const pending: FirewallState = { networks: [], endpoints: [] };
  const bridgeNets = new Set<string>();
  return {
    async start() {
      await fw.init(pending);
      live = true;
      log.info('firewall ready', { networks: pending.networks.length, endpoints: pending.endpoints.length });
    },
    async networkAdded(net) {
      const n = networkFw(drivers, net, dnsPort);
      if (!n) return;
      bridgeNets.add(net.id);
      if (!live) pending.networks.push(n);
      else await fw.addNetwork(n);
    },
    async networkRemoved(net) {
      if (!bridgeNets.has(net.id)) return;
      // Forgotten only once removed: a failed removal is retried by the next rm.
      if (live) await fw.removeNetwork(net.id);
      bridgeNets.delete(net.id);
    },
    async endpointAdded(ep, net) {
      if (!bridgeNets.has(ep.networkId)) return;
      if (!live) pending.endpoints.push(endpointFw(drivers, net, ep));
      else await fw.addEndpoint(endpointFw(drivers, net, ep));
    },
    async endpointRemoved(ep) {
      if (!bridgeNets.has(ep.networkId) || !live) return;
      await fw.removeEndpoint(ep.id);
    },
  };
}
