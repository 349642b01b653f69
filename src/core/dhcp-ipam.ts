// The `dhcp` IPAM driver (as netavark offers it): containers on a macvlan
// or ipvlan l2 network lease their IPv4 address, gateway and DNS servers
// from the LAN's DHCP server at join (the driver asks DriverContext.dhcp).
// The network itself has no subnet: inspect shows IPAM Driver "dhcp" and an
// empty Config, and the core allocates nothing before join.
import { invalid } from '../model/errors.ts';
import type { SubnetConfig } from '../model/records.ts';

export const DHCP_IPAM = 'dhcp';

/** Checks a network create that names the dhcp IPAM driver; throws before anything changes. */
export function checkDhcpNetwork(req: { driver: string; options: Record<string, string>; ipamConfig: SubnetConfig[]; enableIPv4: boolean; enableIPv6: boolean }): void {
  if (req.driver !== 'macvlan' && req.driver !== 'ipvlan') {
    throw invalid(`IPAM driver "dhcp" works with the macvlan and ipvlan (l2) drivers only, not "${req.driver}": containers ask the LAN's DHCP server through the parent link`);
  }
  const mode = req.options.ipvlan_mode || 'l2';
  if (req.driver === 'ipvlan' && mode !== 'l2') {
    throw invalid(`IPAM driver "dhcp" needs ipvlan_mode l2, not "${mode}": in l3 modes the parent routes, and DHCP broadcasts never reach the LAN`);
  }
  if (!req.options.parent) {
    throw invalid('IPAM driver "dhcp" needs -o parent=IFACE: the LAN whose DHCP server hands out the addresses');
  }
  if (req.ipamConfig.length) {
    throw invalid('IPAM driver "dhcp" takes no --subnet, --ip-range, --gateway or --aux-address: the LAN\'s DHCP server assigns them');
  }
  if (req.enableIPv6) throw invalid('IPAM driver "dhcp" leases IPv4 addresses only: expected no --ipv6');
  if (!req.enableIPv4) throw invalid('IPAM driver "dhcp" leases IPv4 addresses: expected IPv4 enabled');
}
