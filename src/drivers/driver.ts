// The driver API: the seam between the controller and a network driver. A
// driver knows nothing of the core: it is handed plain, serialisable records
// (what a remote plugin would receive as JSON) and a context with the host's
// namespace, and answers with plain data. The life of a network and of an
// endpoint, in the order the core calls them:
//
//   validateNetwork -> createNetwork ... deleteNetwork
//   createEndpoint -> join -> leave -> deleteEndpoint
//
// validate* and createEndpoint change nothing in the kernel (they check
// options and name things); create*/join set up idempotently (the same calls
// rebuild missing objects at restart); leave/delete* are best effort.
// docs/drivers.md explains each call and its arguments.
import type { Address, Link, NetnsHandle } from '../netlink/index.ts';
import type { DhcpLeaseRecord, EndpointRecord, NetworkRecord, PortBinding } from '../model/records.ts';
import type { GatewayMode } from '../model/net.ts';

export interface DriverContext {
  /** The namespace the daemon runs in: "the host" for every driver. */
  hostNs: NetnsHandle;
  /** This daemon's part of the alias on links it creates (link-mark.ts). */
  owner: string;
  /** The networks the daemon holds now (a parent link shared by several networks goes with the last). */
  networks(): readonly NetworkInfo[];
  /**
   * Links the driver put into REAP_GROUP in the host namespace (reap.ts
   * doom) are deleted soon, off the request's path (deleting a veth or a
   * bridge costs the kernel 10-20 ms).
   */
  reap(): void;
  /**
   * The daemon's exec root (runtime files, gone after a reboot): drivers
   * that keep namespaces of their own put them under it (overlay:
   * <execRoot>/overlay/ovl-<network id[:12]>).
   */
  execRoot?: string;
  /**
   * This daemon's place in a cluster, when it runs with a cluster store;
   * absent otherwise. The cluster code sets it (the object may be filled in
   * after start) before any overlay network is created or joined.
   */
  cluster?: ClusterInfo;
  /** Leases from the LAN's DHCP server, for networks whose IPAM driver is `dhcp` (the daemon's; absent in unit tests). */
  dhcp?: DhcpLeaseService;
}

/** What the overlay data plane needs of the cluster (docs/overlay.md). */
export interface ClusterInfo {
  /** This host's VTEP: its underlay address (--cluster-advertise), the VXLAN source. */
  vtep: string;
  /** The underlay's MTU; overlay links get it minus the VXLAN overhead (50 over IPv4, 70 over IPv6). */
  mtu: number;
}

/**
 * The `dhcp` IPAM driver as drivers see it (src/daemon/dhcp-service.ts
 * implements it): a lease for an interface that is already up in the
 * sandbox, its address put on the interface and kept renewed, until release.
 */
export interface DhcpLeaseService {
  /** The lease the endpoint holds while still valid (a restart), else a new one by DORA; throws when no server answers in time. */
  acquire(req: { ns: NetnsHandle; ifName: string; network: NetworkInfo; endpoint: EndpointInfo }): Promise<DhcpLeaseRecord>;
  /** Stops renewing and gives the address back (RELEASE); best effort. `ns` null: the sandbox is gone. */
  release(req: { ns: NetnsHandle | null; ifName: string; network: NetworkInfo; endpoint: EndpointInfo }): Promise<void>;
}

export interface DriverCapabilities {
  /** Where the network's state lives: this host only, or every host (overlay). */
  scope: 'local' | 'global';
  /** Sandboxes on it get a namespace of their own (false for host). */
  ownNamespace: boolean;
  /** Endpoints get an interface and addresses (false for host and null). */
  endpoints: boolean;
  /** At most one network of this driver (host, null). */
  singleton: boolean;
  /** Can be combined with other networks in one sandbox. */
  combinable: boolean;
  /** Published ports (-p) can be programmed for its endpoints. */
  portPublishing: boolean;
  /** The embedded DNS can serve its sandboxes (on user-defined networks). */
  dns: boolean;
  /**
   * The embedded DNS listens inside the sandbox (127.0.0.11) instead of on
   * the network's gateway: its endpoints cannot reach the host (macvlan and
   * ipvlan children never talk to their parent) or the network has no
   * gateway on this host.
   */
  dnsInSandbox?: boolean;
  /**
   * Published ports are handed to the driver, which programs them itself
   * (a remote plugin's ProgramExternalConnectivity): no "discarded" warning.
   */
  externalConnectivity?: boolean;
  /**
   * The endpoint's addresses come from the driver's join (a CNI chain's IPAM
   * plugin), not from cnm's IPAM: its networks have no pool, and the core
   * passes the attachment's requested --ip/--ip6/--mac-address to
   * createEndpoint in `ep.driverState` (requestedIpv4, requestedIpv6,
   * requestedMac) instead of allocating them.
   */
  addressesFromJoin?: boolean;
}

/** A network as drivers see it: the record, plain data. */
export type NetworkInfo = Readonly<NetworkRecord>;
/** An endpoint as drivers see it: the record, plain data. */
export type EndpointInfo = Readonly<EndpointRecord>;

/** The sandbox an endpoint joins. */
export interface SandboxInfo {
  id: string;
  /** The sandbox's network namespace (a path a remote plugin could open). */
  netnsPath: string;
  /** Interface names already taken inside it. */
  ifNames: string[];
  /** The sandbox's published ports (a remote plugin gets them in ProgramExternalConnectivity). */
  ports?: readonly PortBinding[];
}

/** What createEndpoint decides: names and driver state, nothing made yet. */
export interface EndpointPlan {
  /** The interface's name inside the sandbox (eth0, eth1, ...). */
  ifName: string;
  /** The driver's own state for the endpoint (host-side names, ...). */
  driverState: Record<string, string>;
  /**
   * What join will answer, when the driver knows it already: the core
   * records it with the endpoint in the same write (else it writes join's
   * answer after join, a second store write).
   */
  expect?: Omit<JoinResult, 'iface'>;
}

/** A static route the core installs in the sandbox after join. */
export interface JoinRoute {
  dst: string;
  /** Through this gateway; without one, straight out of the interface. */
  gateway?: string;
}

export interface JoinResult {
  /**
   * The interface the endpoint has in the sandbox. `moveFrom`: a link the
   * driver made in the host namespace that the core moves into the sandbox
   * and renames to `name` (a remote plugin's SrcName); without it the driver
   * created the interface in the sandbox itself.
   */
  iface: { name: string; moveFrom?: string };
  /** Default gateway per family; null: this endpoint offers none. */
  gateway: { ipv4: string | null; ipv6: string | null };
  /** Extra routes through this endpoint. */
  routes: JoinRoute[];
  /** Whether the embedded DNS serves this endpoint. */
  dns: boolean;
  /** Addresses (CIDR) and MAC the driver found at join (a DHCP lease, a CNI result): the core records them as the endpoint's. */
  addresses?: { ipv4?: string; ipv6?: string; mac?: string };
  /** DNS servers that came with the addresses: the embedded DNS's upstreams for the sandbox when --dns names none. */
  dnsServers?: string[];
  /** The DHCP lease behind `addresses`, kept with the endpoint so a restarted daemon resumes it. */
  lease?: DhcpLeaseRecord;
}

/** What the kernel holds, read once for a whole reconcile pass. */
export interface KernelView {
  hostLinks: Map<string, Link>;
  hostByIndex: Map<number, Link>;
  sandboxLinks: Map<string, Link>;
  sandboxAddrs: Address[];
}

/** The host namespace as read once at start-up (see networkIntact). */
export interface HostView {
  hostLinks: Map<string, Link>;
  hostAddrs: Address[];
}

/** What the firewall needs of a bridge-like network (one L2 segment per network). */
export interface NetworkFirewall {
  id: string;
  bridge: string;
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  gatewayModeV4: GatewayMode;
  gatewayModeV6: GatewayMode;
  antiSpoof: boolean;
  v4?: { subnet: string; gateway?: string };
  v6?: { subnet: string; gateway?: string };
  hostIpv4?: string;
}

export interface NetworkDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /**
   * Parses and checks the network's options against the others on this
   * host; returns the driver state to keep with the network (device names).
   * No kernel change.
   */
  validateNetwork(net: NetworkInfo, others: readonly NetworkInfo[], ctx?: DriverContext): Promise<Record<string, string>>;
  /**
   * The network is internal whatever was asked (macvlan/ipvlan without a
   * parent: a dummy link leads nowhere). Asked before IPAM plans it.
   */
  implicitInternal?(net: NetworkInfo): boolean;
  /**
   * Makes the network's kernel objects exist (idempotent). `fresh`: the
   * network is new, so nothing is read back first (on a host with thousands
   * of links an address dump alone costs tens of milliseconds).
   */
  createNetwork(ctx: DriverContext, net: NetworkInfo, opts?: { fresh?: boolean }): Promise<void>;
  deleteNetwork(ctx: DriverContext, net: NetworkInfo): Promise<void>;
  /**
   * Checks the endpoint's DriverOpts and names its interfaces; no kernel
   * change. `ep` has its addresses and MAC already.
   */
  createEndpoint(net: NetworkInfo, ep: EndpointInfo, sandbox: SandboxInfo): Promise<EndpointPlan>;
  /**
   * Makes the endpoint's kernel objects exist in the sandbox (idempotent).
   * `fresh`: the endpoint is new, so nothing needs checking first.
   */
  join(ctx: DriverContext, net: NetworkInfo, ep: EndpointInfo, sandbox: SandboxInfo & { ns: NetnsHandle }, opts?: { fresh?: boolean }): Promise<JoinResult>;
  /** Removes the endpoint's kernel objects; `ns` is null when the sandbox is gone. */
  leave(ctx: DriverContext, net: NetworkInfo, ep: EndpointInfo, ns: NetnsHandle | null): Promise<void>;
  /** Forgets what createEndpoint reserved outside the kernel, if anything. */
  deleteEndpoint?(net: NetworkInfo, ep: EndpointInfo): Promise<void>;
  /** True when the endpoint's kernel objects are all in place (no calls). */
  intact?(net: NetworkInfo, ep: EndpointInfo, view: KernelView, owner: string): boolean;
  /**
   * True when the network's kernel objects are all there as createNetwork
   * would leave them (start-up skips createNetwork then: a bridge is four
   * round trips, 0.8 s for 1000 networks). Without it, createNetwork runs.
   */
  networkIntact?(ctx: DriverContext, net: NetworkInfo, view: HostView): boolean;
  /**
   * Removes what the driver keeps outside the host namespace's links for
   * networks no longer in `live` (its own networks the daemon holds), at
   * start-up; returns what it removed. Overlay: namespaces of gone networks.
   */
  sweep?(ctx: DriverContext, live: readonly NetworkInfo[]): Promise<string[]>;
  /**
   * What differs from what should exist, outside the host namespace's
   * links, for `cnm doctor` (read only): `live` are the driver's networks
   * the daemon holds. Overlay: its namespaces and their devices.
   */
  check?(ctx: DriverContext, live: readonly NetworkInfo[]): Promise<string[]>;
  /** Asks the driver's data plane whether one endpoint is whole (doctor; cni: CHECK): a problem, or null. */
  checkEndpoint?(net: NetworkInfo, ep: EndpointInfo, sandbox: { id: string; netnsPath: string }): Promise<string | null>;
  /** At start: releases what the driver keeps outside the store for endpoints of `net` not in `live` (cni: cached attachments). */
  sweepEndpoints?(ctx: DriverContext, net: NetworkInfo, live: readonly EndpointInfo[]): Promise<void>;
  /** Host-side links this driver made for the network and its endpoints (orphan sweep). */
  ownedLinks(net: NetworkInfo, eps: readonly EndpointInfo[]): string[];
  /** Host-side link names that must exist for the network (doctor). */
  requiredLinks?(net: NetworkInfo): string[];
  /** The firewall's view of the network, for drivers whose networks it filters. */
  firewall?(net: NetworkInfo): NetworkFirewall | null;
  /** The host-side interface of an endpoint, for per-port firewall rules. */
  hostInterface?(ep: EndpointInfo): string;
  /** Where published ports bind by default (Docker's host_binding_ipv4). */
  defaultHostIp?(net: NetworkInfo): string;
  /** Endpoint settings this driver refuses (Docker: no static IP on the default bridge). */
  checkAttachment?(net: NetworkInfo, att: { ipv4Address?: string; ipv6Address?: string; aliases: readonly string[] }): void;
}
