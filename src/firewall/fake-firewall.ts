// In-memory Firewall for unit tests of the daemon: same validation and the
// same errors as NftFirewall, no kernel. `scripts` shows what would have
// been applied; `kernel` is what nftables would hold after them, kept the
// way the real transactions change it (incremental adds and deletes, a
// full rebuild when one fails), so a test can tamper with it and drift()
// and repair() answer as NftFirewall's do.
import { baseTables } from './base-tables.ts';
import { computeDrift } from './drift.ts';
import type { TableListing } from './drift.ts';
import { specificHostIps, validateEndpoint } from './endpoint-rules.ts';
import { FirewallError } from './errors.ts';
import { elementCanon, mergeFragments, TABLES } from './model.ts';
import type { Fragment, TableFamily } from './model.ts';
import { endpointFragment } from './endpoint-rules.ts';
import { networkFragment, validateNetwork } from './network-rules.ts';
import { buildAddNetwork, buildFullScript, buildRemoveEndpoint, buildRemoveNetwork, buildSetEndpoint, buildSetVxlanGuard, stateFragment } from './ruleset.ts';
import type { Drift, EndpointFw, Firewall, FirewallState, NetworkFw, VxlanGuard } from './types.ts';
import { validateVxlanGuard, vxlanFragment } from './vxlan-guard.ts';

export interface FakeFirewallOptions {
  localAddresses?: string[];
  /**
   * Called before each change reaches the "kernel" (init, add/remove
   * network or endpoint, restoreAll); throwing fails that call with
   * nothing changed, as a refused nftables transaction does.
   */
  fault?: (op: string) => void;
}

/** What a missing table or a failed incremental transaction looks like. */
class Refused extends Error {}

export class FakeFirewall implements Firewall {
  readonly scripts: string[] = [];
  /** Host addresses that count as local for published ports on one address. */
  readonly localAddresses: Set<string>;
  /** cnm's tables as nftables would list them (null: the table is gone). */
  readonly kernel = new Map<TableFamily, TableListing | null>(TABLES.map((f) => [f, null]));
  private readonly base = baseTables();
  private readonly fault: (op: string) => void;
  private networks = new Map<string, NetworkFw>();
  private endpoints = new Map<string, EndpointFw>();
  private vxlan: VxlanGuard | undefined;
  initialized = false;
  closed = false;

  constructor(opts: FakeFirewallOptions = {}) {
    this.localAddresses = new Set(opts.localAddresses ?? ['127.0.0.1']);
    this.fault = opts.fault ?? (() => undefined);
  }

  state(): FirewallState {
    return { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()], ...(this.vxlan ? { vxlan: this.vxlan } : {}) };
  }

  async setVxlanGuard(g: VxlanGuard | null): Promise<void> {
    const next = g ? validateVxlanGuard(g) : undefined;
    this.fault('set VXLAN guard');
    this.scripts.push(buildSetVxlanGuard(this.vxlan, next));
    const prev = this.vxlan;
    this.vxlan = next;
    this.apply(() => {
      this.installRemove(vxlanFragment(prev));
      this.installAdd(vxlanFragment(next));
    });
  }

  async init(state?: FirewallState): Promise<void> {
    const next = state
      ? { networks: state.networks.map(validateNetwork), endpoints: state.endpoints.map(validateEndpoint), vxlan: state.vxlan ? validateVxlanGuard(state.vxlan) : undefined }
      : { ...this.state(), vxlan: this.vxlan };
    this.fault('init');
    this.networks = new Map(next.networks.map((n) => [n.id, n]));
    this.endpoints = new Map(next.endpoints.map((e) => [e.id, e]));
    this.vxlan = next.vxlan;
    this.initialized = true;
    this.scripts.push(buildFullScript(this.state()));
    this.installFull(this.state());
  }

  async addNetwork(input: NetworkFw): Promise<void> {
    const n = validateNetwork(input);
    if (this.networks.has(n.id)) throw new FirewallError({ code: 'NETWORK_EXISTS', networkId: n.id });
    this.fault('add network');
    this.scripts.push(buildAddNetwork(n));
    this.networks.set(n.id, n);
    this.apply(() => this.installAdd(networkFragment(n)));
  }

  async removeNetwork(id: string): Promise<void> {
    const n = this.networks.get(id);
    if (!n) throw new FirewallError({ code: 'UNKNOWN_NETWORK', networkId: id });
    const eps = [...this.endpoints.values()].filter((e) => e.networkId === id);
    this.fault('remove network');
    this.scripts.push(buildRemoveNetwork(n, eps));
    for (const e of eps) this.endpoints.delete(e.id);
    this.networks.delete(id);
    this.apply(() => this.installRemove(mergeFragments([...eps.map((e) => endpointFragment(n, e)), networkFragment(n)])));
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
    this.fault('add endpoint');
    this.scripts.push(buildSetEndpoint(n, e, prev && prevNet ? { n: prevNet, e: prev } : undefined));
    this.endpoints.set(e.id, e);
    this.apply(() => {
      if (prev && prevNet) this.installRemove(endpointFragment(prevNet, prev));
      this.installAdd(endpointFragment(n, e));
    });
  }

  async removeEndpoint(id: string): Promise<void> {
    const e = this.endpoints.get(id);
    if (!e) throw new FirewallError({ code: 'UNKNOWN_ENDPOINT', endpointId: id });
    const n = this.networks.get(e.networkId);
    this.fault('remove endpoint');
    if (n) this.scripts.push(buildRemoveEndpoint(n, e));
    this.endpoints.delete(id);
    if (n) this.apply(() => this.installRemove(endpointFragment(n, e)));
  }

  async restoreAll(state: FirewallState): Promise<void> {
    const networks = state.networks.map(validateNetwork);
    const endpoints = state.endpoints.map(validateEndpoint);
    this.fault('restore');
    this.networks = new Map(networks.map((n) => [n.id, n]));
    this.endpoints = new Map(endpoints.map((e) => [e.id, e]));
    if ('vxlan' in state) this.vxlan = state.vxlan ? validateVxlanGuard(state.vxlan) : undefined;
    this.scripts.push(buildFullScript(this.state()));
    this.installFull(this.state());
  }

  async repair(): Promise<boolean> {
    const d = await this.drift();
    if (d.ok) return false;
    this.installFull(this.state());
    return true;
  }

  async drift(): Promise<Drift> {
    return computeDrift(this.base, stateFragment(this.state()), this.kernel);
  }

  async close(): Promise<void> { this.closed = true; }

  /**
   * An incremental transaction; when the kernel refuses it (a table or an
   * element it deletes is gone), NftFirewall rebuilds everything from the
   * state the call leads to, and so does this.
   */
  private apply(fn: () => void): void {
    const saved = this.copyKernel();
    try {
      fn();
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      for (const [f, l] of saved) this.kernel.set(f, l);
      this.installFull(this.state());
    }
  }

  private copyKernel(): Map<TableFamily, TableListing | null> {
    return new Map([...this.kernel].map(([f, l]) => [f, l && { chains: new Map(l.chains), sets: new Map([...l.sets].map(([k, v]) => [k, [...v]])) }]));
  }

  private table(f: TableFamily): TableListing {
    const t = this.kernel.get(f);
    if (!t) throw new Refused(`table ${f} cnm is missing`);
    return t;
  }

  /** add chain + flush chain + add rule, add element (a present element stays one). */
  private installAdd(frag: Fragment): void {
    for (const c of frag.chains) this.table(c.family).chains.set(c.name, c.rules.length);
    for (const el of frag.elements) {
      const set = this.table(el.family).sets.get(el.set);
      if (!set) throw new Refused(`set ${el.set} is missing`);
      const canon = elementCanon(el);
      if (!set.includes(canon)) set.push(canon);
    }
  }

  /** delete element, flush + delete chain: each fails when its object is gone. */
  private installRemove(frag: Fragment): void {
    for (const el of frag.elements) {
      const set = this.table(el.family).sets.get(el.set);
      const i = set?.indexOf(elementCanon(el)) ?? -1;
      if (!set || i < 0) throw new Refused(`element ${elementCanon(el)} is missing`);
      set.splice(i, 1);
    }
    for (const c of frag.chains) {
      if (!this.table(c.family).chains.delete(c.name)) throw new Refused(`chain ${c.name} is missing`);
    }
  }

  /** Both tables dropped and rebuilt from the state, as fullScript does. */
  private installFull(state: FirewallState): void {
    const frag = stateFragment(state);
    for (const f of TABLES) {
      const chains = new Map<string, number>();
      for (const c of [...this.base.chains, ...frag.chains]) if (c.family === f) chains.set(c.name, c.rules.length);
      const sets = new Map<string, string[]>();
      for (const s of this.base.sets) if (s.family === f) sets.set(s.name, []);
      for (const el of frag.elements) {
        const set = el.family === f ? sets.get(el.set) : undefined;
        const canon = elementCanon(el);
        if (set && !set.includes(canon)) set.push(canon);
      }
      this.kernel.set(f, { chains, sets });
    }
  }
}
