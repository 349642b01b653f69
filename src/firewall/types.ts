// Domain types of the firewall layer: what the daemon wants (desired state),
// independent of how nftables expresses it.
import type { GatewayMode } from '../model/net.ts';

export type Proto = 'tcp' | 'udp' | 'sctp';

/**
 * Docker's gateway modes (com.docker.network.bridge.gateway_mode_ipv4|_ipv6):
 * - nat: masquerade outbound; inbound only through published ports (DNAT),
 *   direct routed access to container addresses from outside is dropped.
 * - nat-unprotected: as nat, but any port of a container may be reached by
 *   direct routing (no "unpublished port" drop, no direct-access drop).
 * - routed: no NAT at all; published container ports (and ICMP) are open to
 *   direct routing, host ports of a -p mapping are not used.
 * - isolated: only for --internal networks: the bridge gets no address, and
 *   the host is unreachable from the network.
 */
export type { GatewayMode };

export interface SubnetFw {
  /** CIDR, canonical: "172.18.0.0/16", "fd00:1::/64". */
  subnet: string;
  /** The bridge's address in the subnet; absent in isolated mode. */
  gateway?: string;
}

export interface NetworkFw {
  id: string;
  /** Linux bridge device, e.g. "br-0123456789ab". */
  bridge: string;
  v4?: SubnetFw;
  v6?: SubnetFw;
  /** com.docker.network.bridge.enable_icc (default true). */
  icc: boolean;
  /** com.docker.network.bridge.enable_ip_masquerade (default true). */
  masquerade: boolean;
  /** --internal: no traffic in or out except among members (and the gateway). */
  internal: boolean;
  /** com.docker.network.host_ipv4: SNAT outbound IPv4 to this address instead of masquerading. */
  hostIpv4?: string;
  gatewayModeV4: GatewayMode;
  gatewayModeV6: GatewayMode;
  /** Drop frames whose source MAC/IP is not the endpoint's own (cnm option, default true). */
  antiSpoof: boolean;
  /**
   * The embedded DNS's UDP port on this network's gateway addresses, when it
   * listens there (user-defined networks): its queries and answers bypass
   * conntrack (base-tables.ts, DNS4/DNS6).
   */
  dnsPort?: number;
}

/**
 * A published port after allocation. hostIp "" is Docker's default binding
 * (every host address, IPv4 and IPv6); "0.0.0.0" every IPv4 address only;
 * "::" every IPv6 address only; anything else one host address.
 */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: Proto;
}

export interface EndpointFw {
  id: string;
  networkId: string;
  /** Host end of the veth pair, enslaved to the network's bridge. */
  hostIface: string;
  mac: string;
  ipv4?: string;
  ipv6?: string;
  ports: PortBinding[];
}

/**
 * VXLAN from known hosts only (vxlan-guard.ts): UDP to `port` is accepted
 * from these VTEPs (the cluster's nodes, this host's own included) and
 * dropped from anyone else.
 */
export interface VxlanGuard {
  port: number;
  vteps: string[];
}

/** Everything the firewall should hold, as the daemon knows it. */
export interface FirewallState {
  networks: NetworkFw[];
  endpoints: EndpointFw[];
  /** Absent: no guard (a daemon outside a cluster), nothing dropped. */
  vxlan?: VxlanGuard;
}

/** Desired state compared with what the kernel holds. */
export interface Drift {
  ok: boolean;
  missingTables: string[];
  missingChains: string[];
  extraChains: string[];
  /** Chains whose rule count differs from the desired one. */
  changedChains: string[];
  /** "inet cnm dnat4-any: tcp . 8080 : 172.18.0.2 . 80" */
  missingElements: string[];
  extraElements: string[];
}

export interface Firewall {
  /**
   * Enables forwarding and creates cnm's tables, replacing stale ones; with
   * a state (daemon restart) that state is applied in the same transaction.
   */
  init(state?: FirewallState): Promise<void>;
  addNetwork(n: NetworkFw): Promise<void>;
  /** Also removes what the network's remaining endpoints had. */
  removeNetwork(id: string): Promise<void>;
  /** Adding an endpoint id again replaces it (one transaction). */
  addEndpoint(e: EndpointFw): Promise<void>;
  removeEndpoint(id: string): Promise<void>;
  /**
   * Sets (or with null lifts) the VXLAN guard, in one transaction; the
   * cluster code calls it with the node set after every change.
   */
  setVxlanGuard(g: VxlanGuard | null): Promise<void>;
  /** Replaces the whole desired state and re-applies it in one transaction (the guard stays unless `state` names one). */
  restoreAll(state: FirewallState): Promise<void>;
  /** Re-applies the current desired state when the kernel drifted from it; true when it did. */
  repair(): Promise<boolean>;
  drift(): Promise<Drift>;
  /** The desired state, as given by the calls so far. */
  state(): FirewallState;
  close(): Promise<void>;
}
