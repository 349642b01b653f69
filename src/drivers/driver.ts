// The seam between the controller and the network drivers. A driver validates
// before the kernel is touched, then sets up idempotently (the same calls
// rebuild missing kernel objects on restart), and tears down best effort.
import type { Address, Link, Netns } from '../netlink/index.ts';
import type { EndpointRecord, NetworkRecord } from '../core/model.ts';

export interface DriverContext {
  /** The namespace the daemon runs in: "the host" for every driver. */
  hostNs: Netns;
  /** This daemon's part of the alias on links it creates (link-mark.ts). */
  owner: string;
}

export interface DriverCapabilities {
  /** Sandboxes on it get a namespace of their own (false for host). */
  ownNamespace: boolean;
  /** Endpoints get an interface and addresses (false for host and null). */
  endpoints: boolean;
  /** At most one network of this driver (host, null). */
  singleton: boolean;
  /** Can be combined with other networks in one sandbox. */
  combinable: boolean;
  /** The embedded DNS serves its sandboxes (user-defined networks only). */
  dns: boolean;
}

/** What the kernel holds, read once for a whole reconcile pass. */
export interface KernelView {
  hostLinks: Map<string, Link>;
  hostByIndex: Map<number, Link>;
  sandboxLinks: Map<string, Link>;
  sandboxAddrs: Address[];
}

export interface NetworkDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Checks options and fills driverState (device names); no kernel change. */
  prepareNetwork(net: NetworkRecord, others: NetworkRecord[]): void;
  /**
   * Makes the network's kernel objects exist (idempotent). `fresh`: the
   * network is new, so nothing is read back first (on a host with thousands
   * of links an address dump alone costs tens of milliseconds).
   */
  createNetwork(ctx: DriverContext, net: NetworkRecord, opts?: { fresh?: boolean }): Promise<void>;
  deleteNetwork(ctx: DriverContext, net: NetworkRecord): Promise<void>;
  /**
   * Makes the endpoint's kernel objects exist in the sandbox (idempotent).
   * `fresh`: the endpoint is new, so nothing needs checking first.
   */
  join(ctx: DriverContext, net: NetworkRecord, ep: EndpointRecord, sandboxNs: Netns, opts?: { fresh?: boolean }): Promise<void>;
  /** True when the endpoint's kernel objects are all in place (no calls). */
  intact?(net: NetworkRecord, ep: EndpointRecord, view: KernelView, owner: string): boolean;
  leave(ctx: DriverContext, net: NetworkRecord, ep: EndpointRecord, sandboxNs: Netns | null): Promise<void>;
  /** Names of host-side links this driver owns for the network (reconcile). */
  ownedLinks(net: NetworkRecord, eps: EndpointRecord[]): string[];
}
