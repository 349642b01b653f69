// The firewall follows the controller: a bridge network gets its chains and
// map entries, an endpoint its anti-spoofing entries and published ports.
// During start-up reconcile the hooks only collect; the whole state is then
// installed in one transaction by init().
import type { Logger } from '../core/context.ts';
import type { ControllerHooks } from '../core/hooks.ts';
import type { EndpointRecord, NetworkRecord } from '../core/model.ts';
import { parseBridgeOptions } from '../drivers/bridge/options.ts';
import type { EndpointFw, Firewall, FirewallState, NetworkFw } from '../firewall/index.ts';

const addr = (cidr?: string): string | undefined => cidr?.split('/')[0];

export function networkFw(net: NetworkRecord): NetworkFw | null {
  if (net.driver !== 'bridge' || !net.driverState.bridge) return null;
  const o = parseBridgeOptions(net, net.driverState.bridge);
  const fw: NetworkFw = {
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

export function endpointFw(ep: EndpointRecord): EndpointFw {
  return {
    id: ep.id,
    networkId: ep.networkId,
    hostIface: ep.hostIfName,
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

export function firewallHooks(fw: Firewall, log: Logger): FirewallHooks {
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
      const n = networkFw(net);
      if (!n) return;
      bridgeNets.add(net.id);
      if (!live) pending.networks.push(n);
      else await fw.addNetwork(n);
    },
    async networkRemoved(net) {
      if (!bridgeNets.delete(net.id)) return;
      if (live) await fw.removeNetwork(net.id);
    },
    async endpointAdded(ep) {
      if (!bridgeNets.has(ep.networkId)) return;
      if (!live) pending.endpoints.push(endpointFw(ep));
      else await fw.addEndpoint(endpointFw(ep));
    },
    async endpointRemoved(ep) {
      if (!bridgeNets.has(ep.networkId) || !live) return;
      await fw.removeEndpoint(ep.id);
    },
  };
}
