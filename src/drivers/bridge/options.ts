// Bridge driver options, as Docker spells them (all values are strings).
import { invalid } from '../../model/errors.ts';
import { GATEWAY_MODES, IFNAME_RE } from '../../model/net.ts';
import type { GatewayMode } from '../../model/net.ts';
import type { NetworkRecord } from '../../model/records.ts';

export const OPT = {
  name: 'com.docker.network.bridge.name',
  icc: 'com.docker.network.bridge.enable_icc',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  hostBindingV4: 'com.docker.network.bridge.host_binding_ipv4',
  hostIpv4: 'com.docker.network.host_ipv4',
  inhibitIpv4: 'com.docker.network.bridge.inhibit_ipv4',
  gatewayModeV4: 'com.docker.network.bridge.gateway_mode_ipv4',
  gatewayModeV6: 'com.docker.network.bridge.gateway_mode_ipv6',
  trustedHostIfaces: 'com.docker.network.bridge.trusted_host_interfaces',
  defaultBridge: 'com.docker.network.bridge.default_bridge',
  mtu: 'com.docker.network.driver.mtu',
  ifacePrefix: 'com.docker.network.container_iface_prefix',
  antiSpoof: 'cnm.bridge.anti_spoofing',
  dhcp: 'cnm.bridge.dhcp',
  dhcpLease: 'cnm.bridge.dhcp_lease',
} as const;

/** Lease time of the bridge's DHCP server when cnm.bridge.dhcp_lease is not given: one hour. */
export const DHCP_LEASE_DEFAULT = 3600;
const DHCP_LEASE_MIN = 2;
/** 2^31-1 s: lease times beyond it overflow clients' signed timers. */
const DHCP_LEASE_MAX = 0x7fffffff;

const KNOWN = new Set<string>(Object.values(OPT));
export type { GatewayMode };

export interface BridgeOptions {
  bridgeName: string;
  icc: boolean;
  masquerade: boolean;
  hostBindingV4: string;
  hostIpv4: string;
  inhibitIpv4: boolean;
  gatewayModeV4: GatewayMode;
  gatewayModeV6: GatewayMode;
  mtu: number;
  ifacePrefix: string;
  antiSpoof: boolean;
  /** cnm answers DHCP on the bridge (cnm.bridge.dhcp). */
  dhcp: boolean;
  /** Its lease time in seconds (cnm.bridge.dhcp_lease). */
  dhcpLease: number;
}

const IFNAME = IFNAME_RE;

function bool(opts: Record<string, string>, key: string, dflt: boolean): boolean {
  const v = opts[key];
  if (v === undefined || v === '') return dflt;
  // Go's strconv.ParseBool, which Docker uses for these.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw invalid(`invalid value "${v}" for option ${key}: expected true or false`);
}

function gatewayMode(opts: Record<string, string>, key: string): GatewayMode {
  const v = opts[key] ?? 'nat';
  if (!(GATEWAY_MODES as readonly string[]).includes(v)) {
    throw invalid(`invalid value "${v}" for option ${key}: expected one of ${GATEWAY_MODES.join(', ')}`);
  }
  return v as GatewayMode;
}

/** Parses and checks the options; unknown com.docker.network.bridge.* keys are rejected. */
export function parseBridgeOptions(net: Pick<NetworkRecord, 'id' | 'options' | 'name'>, defaultName: string): BridgeOptions {
  const o = net.options;
  for (const k of Object.keys(o)) {
    if (k.startsWith('com.docker.network.bridge.') && !KNOWN.has(k)) {
      throw invalid(`unknown bridge option "${k}"`);
    }
  }
  const bridgeName = o[OPT.name] || defaultName;
  if (!IFNAME.test(bridgeName)) {
    throw invalid(`invalid bridge name "${bridgeName}": expected 1-15 characters of letters, digits, '_', '.', '-'`);
  }
  let mtu = 0;
  if (o[OPT.mtu] !== undefined && o[OPT.mtu] !== '') {
    mtu = Number(o[OPT.mtu]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw invalid(`invalid MTU "${o[OPT.mtu]}" for option ${OPT.mtu}: expected an integer from 68 to 65535`);
    }
  }
  const prefix = o[OPT.ifacePrefix] ?? 'eth';
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,10}$/.test(prefix)) {
    throw invalid(`invalid interface prefix "${prefix}" for option ${OPT.ifacePrefix}: expected up to 11 letters, digits, '_' or '-'`);
  }
  let dhcpLease = DHCP_LEASE_DEFAULT;
  const lease = o[OPT.dhcpLease];
  if (lease !== undefined && lease !== '') {
    dhcpLease = /^\d+$/.test(lease) ? Number(lease) : NaN;
    if (!(dhcpLease >= DHCP_LEASE_MIN && dhcpLease <= DHCP_LEASE_MAX)) {
      throw invalid(`invalid value "${lease}" for option ${OPT.dhcpLease}: expected a lease time in seconds from ${DHCP_LEASE_MIN} to ${DHCP_LEASE_MAX}`);
    }
  }
  return {
    bridgeName,
    icc: bool(o, OPT.icc, true),
    masquerade: bool(o, OPT.masquerade, true),
    hostBindingV4: o[OPT.hostBindingV4] ?? '',
    hostIpv4: o[OPT.hostIpv4] ?? '',
    inhibitIpv4: bool(o, OPT.inhibitIpv4, false),
    gatewayModeV4: gatewayMode(o, OPT.gatewayModeV4),
    gatewayModeV6: gatewayMode(o, OPT.gatewayModeV6),
    mtu,
    ifacePrefix: prefix,
    antiSpoof: bool(o, OPT.antiSpoof, true),
    dhcp: bool(o, OPT.dhcp, false),
    dhcpLease,
  };
}
