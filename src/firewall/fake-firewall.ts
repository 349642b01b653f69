// In-memory Firewall for unit tests of the daemon: same validation and the
// same errors as NftFirewall, no kernel. `scripts` shows what would have
// been applied.
import { specificHostIps, validateEndpoint } from './endpoint-rules.ts';
import { FirewallError } from './errors.ts';
import { validateNetwork } from './network-rules.ts';
import { buildAddNetwork, buildFullScript, buildRemoveEndpoint, buildRemoveNetwork, buildSetEndpoint } from './ruleset.ts';
import type { Drift, EndpointFw, Firewall, FirewallState, NetworkFw } from './types.ts';

export class FakeFirewall implements Firewall {
  readonly scripts: string[] = [];
  /** Host addresses that count as local for published ports on one address. */
  readonly localAddresses: Set<string>;
  private networks = new Map<string, NetworkFw>();
  private endpoints = new Map<string, EndpointFw>();
  initialized = false;
  closed = false;

  constructor(opts: { localAddresses?: string[] } = {}) {
    this.localAddresses = new Set(opts.localAddresses ?? ['127.0.0.1']);
  }

  state(): FirewallState {
    return { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()] };
  }

  async init(state?: FirewallState): Promise<void> {
    if (state) {
      this.networks = new Map(state.networks.map(validateNetwork).map((n) => [n.id, n]));
      this.endpoints = new Map(state.endpoints.map(validateEndpoint).map((e) => [e.id, e]));
    }
    this.initialized = true;
    this.scripts.push(buildFullScript(this.state()));
  }

  async addNetwork(input: NetworkFw): Promise<void> {
    const n = validateNetwork(input);
    if (this.networks.has(n.id)) throw new FirewallError({ code: 'NETWORK_EXISTS', networkId: n.id });
    this.scripts.push(buildAddNetwork(n));
    this.networks.set(n.id, n);
  }

  async removeNetwork(id: string): Promise<void> {
    const n = this.networks.get(id);
    if (!n) throw new FirewallError({ code: 'UNKNOWN_NETWORK', networkId: id });
    const eps = [...this.endpoints.values()].filter((e) => e.networkId === id);
    this.scripts.push(buildRemoveNetwork(n, eps));
    for (const e of eps) this.endpoints.delete(e.id);
    this.networks.delete(id);
  }

  async addEndpoint(input: EndpointFw): Promise<void> {
    const e = validateEndpoint(input);
    const n = this.networks.get(e.networkId);
    if (!n) throw new FirewallError({ code: 'UNKNOWN_NETWORK', networkId: e.networkId });
    for (const ip of specificHostIps(e.ports)) {
      if (!this.localAddresses.has(ip) && !ip.startsWith('127.')) throw new FirewallError({ code: 'HOST_IP_NOT_LOCAL', hostIp: ip });
    }
    const prev = this.endpoints.get(e.id);
    const prevNet = prev ? this.networks.get(prev.networkId) : undefined;
    this.scripts.push(buildSetEndpoint(n, e, prev && prevNet ? { n: prevNet, e: prev } : undefined));
    this.endpoints.set(e.id, e);
  }

  async removeEndpoint(id: string): Promise<void> {
    const e = this.endpoints.get(id);
    if (!e) throw new FirewallError({ code: 'UNKNOWN_ENDPOINT', endpointId: id });
    const n = this.networks.get(e.networkId);
    if (n) this.scripts.push(buildRemoveEndpoint(n, e));
    this.endpoints.delete(id);
  }

  async restoreAll(state: FirewallState): Promise<void> {
    const networks = state.networks.map(validateNetwork);
    const endpoints = state.endpoints.map(validateEndpoint);
    this.networks = new Map(networks.map((n) => [n.id, n]));
    this.endpoints = new Map(endpoints.map((e) => [e.id, e]));
    this.scripts.push(buildFullScript(this.state()));
  }

  async repair(): Promise<boolean> { return false; }

  async drift(): Promise<Drift> {
    return { ok: true, missingTables: [], missingChains: [], extraChains: [], changedChains: [], missingElements: [], extraElements: [] };
  }

  async close(): Promise<void> { this.closed = true; }
}
