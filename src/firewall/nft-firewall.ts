// The nftables Firewall: keeps the daemon's desired state, applies each
// change as one nft transaction, and rebuilds everything in one transaction
// when the kernel no longer matches (an incremental step failed, or someone
// flushed the ruleset).
import { BRIDGES, baseTables } from './base-tables.ts';
import { computeDrift, parseListing } from './drift.ts';
import type { TableListing } from './drift.ts';
import { specificHostIps, validateEndpoint } from './endpoint-rules.ts';
import { FirewallError } from './errors.ts';
import { localAddressCheck } from './local-addrs.ts';
import type { LocalAddressCheck } from './local-addrs.ts';
import { TABLE_NAME, TABLES } from './model.ts';
import type { TableFamily } from './model.ts';
import { isDestructiveEvent, MonitorBatcher, NftMonitor } from './monitor.ts';
import { validateNetwork } from './network-rules.ts';
import { openRunner } from './nft-runner.ts';
import type { NftRunner } from './nft-runner.ts';
import { buildAddNetwork, buildFullScript, buildRemoveEndpoint, buildRemoveNetwork, buildSetEndpoint, buildSetVxlanGuard, stateFragment } from './ruleset.ts';
import { IPV4_FORWARD, IPV6_FORWARD, routeLocalnet, runnerSysctl } from './sysctl.ts';
import type { SysctlSet } from './sysctl.ts';
import type { Drift, EndpointFw, Firewall, FirewallState, NetworkFw, VxlanGuard } from './types.ts';
import { validateVxlanGuard } from './vxlan-guard.ts';

const MONITOR_DEBOUNCE_MS = 10;
const INSTANCE_COMMENT = 'cnm instance ';

export interface TablesFound {
  present: boolean;
  /** The instance id in the tables' comment ('' when none). */
  instance: string;
  /** Bridges named in the inet table's set of bridges. */
  bridges: string[];
}
/** A small chain of each table: listing it tells whether the table is there. */
const PROBE_CHAIN: Record<TableFamily, string> = { inet: 'out-of-bridge', bridge: 'forward' };

/** `nft monitor` line for the removal of one of cnm's tables. */
export function tableGone(line: string): boolean {
  return TABLES.some((f) => line.trim() === `delete table ${f} ${TABLE_NAME}`);
}

export interface NftFirewallOptions {
  /** The namespace cnm's host side lives in: "/run/netns/NAME" or "/proc/PID/ns/net". */
  nsPath: string;
  /** Defaults to the libnftables binding when built, else `nsenter nft`. */
  runner?: NftRunner;
  sysctl?: SysctlSet;
  isLocalAddress?: LocalAddressCheck;
  /** Run `nft monitor` and restore cnm's tables when someone removes them (default true). */
  watch?: boolean;
  /**
   * Also compare with the kernel every so many ms (0 = never, the default):
   * a safety net for changes `nft monitor` cannot report, e.g. while it
   * restarts.
   */
  checkIntervalMs?: number;
  /**
   * Written as the tables' comment ("cnm instance ID"), so that a daemon can
   * tell its own tables from another instance's.
   */
  instance?: string;
  /** Called after each automatic repair, and with errors the watcher met. */
  onRepair?: (info: { drift?: Drift; reason?: string; error?: unknown }) => void;
}

export class NftFirewall implements Firewall {
  private readonly runner: NftRunner;
  private readonly sysctl: SysctlSet;
  private readonly isLocal: LocalAddressCheck;
  private readonly opts: NftFirewallOptions;
  private readonly base = baseTables();
  private networks = new Map<string, NetworkFw>();
  private endpoints = new Map<string, EndpointFw>();
  private vxlan: VxlanGuard | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private monitor: NftMonitor | null = null;
  private repairTimer: NodeJS.Timeout | null = null;
  private tableLost = false;
  private checkTimer: NodeJS.Timeout | null = null;

  constructor(opts: NftFirewallOptions) {
    this.opts = opts;
    this.runner = opts.runner ?? openRunner(opts.nsPath);
    this.sysctl = opts.sysctl ?? runnerSysctl(this.runner);
    this.isLocal = opts.isLocalAddress ?? localAddressCheck(this.runner);
  }

  /** Operations run one at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  state(): FirewallState {
    return { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()], ...(this.vxlan ? { vxlan: this.vxlan } : {}) };
  }

  /**
   * `state` (daemon restart) is applied in the same transaction that
   * replaces stale tables, so there is no moment without rules. (Methods
   * are async so that a validation error rejects, never throws.)
   */
  async init(state?: FirewallState): Promise<void> {
    const s = {
      networks: (state?.networks ?? []).map(validateNetwork), endpoints: (state?.endpoints ?? []).map(validateEndpoint),
      vxlan: state?.vxlan ? validateVxlanGuard(state.vxlan) : undefined,
    };
    return this.serial(async () => {
      await this.sysctl(IPV4_FORWARD, '1');
      // A kernel booted with ipv6.disable=1 has no net/ipv6 sysctls (the
      // inet table's IPv6 rules load all the same and just never match).
      await this.sysctl(IPV6_FORWARD, '1').catch(() => undefined);
      await this.applyFull(s);
      this.networks = new Map(s.networks.map((n) => [n.id, n]));
      this.endpoints = new Map(s.endpoints.map((e) => [e.id, e]));
      this.vxlan = s.vxlan;
      if (this.opts.watch !== false) {
        const batcher = new MonitorBatcher((pid) => this.runner.committedBy(pid));
        this.monitor = new NftMonitor(this.opts.nsPath, (line) => {
          // A restarted monitor may have missed anything: check at once.
          if (line.startsWith('flush (monitor restarted)')) { this.onMonitorLine(line); return; }
          for (const l of batcher.push(line)) this.onMonitorLine(l);
        });
        await this.monitor.start();
      }
      const every = this.opts.checkIntervalMs ?? 0;
      if (every > 0) {
        this.checkTimer = setInterval(() => { this.repair().catch((error: unknown) => this.opts.onRepair?.({ error })); }, every);
        this.checkTimer.unref();
      }
      await this.routeLocalnetAll(s.networks);
    });
  }

  /**
   * After a restart or restore the rules go live first; a bridge whose
   * sysctl cannot be set (it is gone) does not hold up the others, and is
   * reported afterwards.
   */
  private async routeLocalnetAll(networks: NetworkFw[]): Promise<void> {
    const errors: unknown[] = [];
    for (const n of networks) {
      if (n.v4 && !n.internal) await this.sysctl(routeLocalnet(n.bridge), '1').catch((e: unknown) => { errors.push(e); });
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `route_localnet failed on ${errors.length} bridges`);
  }

  async addNetwork(input: NetworkFw): Promise<void> {
    const n = validateNetwork(input);
    return this.serial(async () => {
      if (this.networks.has(n.id)) throw new FirewallError({ code: 'NETWORK_EXISTS', networkId: n.id });
      if (n.v4 && !n.internal) await this.sysctl(routeLocalnet(n.bridge), '1');
      await this.apply(buildAddNetwork(n), () => ({ networks: [...this.networks.values(), n], endpoints: [...this.endpoints.values()] }), 'add network');
      this.networks.set(n.id, n);
    });
  }

  removeNetwork(id: string): Promise<void> {
    return this.serial(async () => {
      const n = this.networks.get(id);
      if (!n) throw new FirewallError({ code: 'UNKNOWN_NETWORK', networkId: id });
      const eps = [...this.endpoints.values()].filter((e) => e.networkId === id);
      const state = (): FirewallState => ({
        networks: [...this.networks.values()].filter((x) => x.id !== id),
        endpoints: [...this.endpoints.values()].filter((e) => e.networkId !== id),
      });
      await this.apply(buildRemoveNetwork(n, eps), state, 'remove network');
      this.networks.delete(id);
      for (const e of eps) this.endpoints.delete(e.id);
    });
  }

  async addEndpoint(input: EndpointFw): Promise<void> {
    const e = validateEndpoint(input);
    return this.serial(async () => {
      const n = this.networks.get(e.networkId);
      if (!n) throw new FirewallError({ code: 'UNKNOWN_NETWORK', networkId: e.networkId });
      for (const ip of specificHostIps(e.ports)) {
        if (!(await this.isLocal(ip))) throw new FirewallError({ code: 'HOST_IP_NOT_LOCAL', hostIp: ip });
      }
      const prev = this.endpoints.get(e.id);
      const prevNet = prev ? this.networks.get(prev.networkId) : undefined;
      const script = buildSetEndpoint(n, e, prev && prevNet ? { n: prevNet, e: prev } : undefined);
      await this.apply(script, () => ({ networks: [...this.networks.values()], endpoints: [...new Map(this.endpoints).set(e.id, e).values()] }), 'add endpoint');
      this.endpoints.set(e.id, e);
    });
  }

  removeEndpoint(id: string): Promise<void> {
    return this.serial(async () => {
      const e = this.endpoints.get(id);
      if (!e) throw new FirewallError({ code: 'UNKNOWN_ENDPOINT', endpointId: id });
      const n = this.networks.get(e.networkId);
      const state = (): FirewallState => ({ networks: [...this.networks.values()], endpoints: [...this.endpoints.values()].filter((x) => x.id !== id) });
      if (n) await this.apply(buildRemoveEndpoint(n, e), state, 'remove endpoint');
      this.endpoints.delete(id);
    });
  }

  async setVxlanGuard(g: VxlanGuard | null): Promise<void> {
    const next = g ? validateVxlanGuard(g) : undefined;
    return this.serial(async () => {
      await this.apply(buildSetVxlanGuard(this.vxlan, next), { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()], vxlan: next }, 'set VXLAN guard');
      this.vxlan = next;
    });
  }

  async restoreAll(state: FirewallState): Promise<void> {
    const networks = state.networks.map(validateNetwork);
    const endpoints = state.endpoints.map(validateEndpoint);
    const vxlan = 'vxlan' in state ? (state.vxlan ? validateVxlanGuard(state.vxlan) : undefined) : this.vxlan;
    return this.serial(async () => {
      await this.applyFull({ networks, endpoints, vxlan });
      this.networks = new Map(networks.map((n) => [n.id, n]));
      this.endpoints = new Map(endpoints.map((e) => [e.id, e]));
      this.vxlan = vxlan;
      await this.routeLocalnetAll(networks);
    });
  }

  drift(): Promise<Drift> {
    return this.serial(() => this.driftNow());
  }

  repair(): Promise<boolean> {
    return this.serial(async () => {
      const d = await this.driftNow();
      if (d.ok) return false;
      await this.applyFull(this.state());
      this.opts.onRepair?.({ drift: d });
      return true;
    });
  }

  async close(): Promise<void> {
    if (this.repairTimer) clearTimeout(this.repairTimer);
    this.repairTimer = null;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    await this.monitor?.stop();
    this.monitor = null;
    await this.serial(async () => undefined);
    if (!this.opts.runner) await this.runner.close();
  }

  /**
   * What cnm's tables hold before this daemon writes them: whose they are
   * (the tables' comment) and which bridges their sets name. Read only.
   */
  async inspectTables(): Promise<TablesFound> {
    let json: string;
    try {
      json = await this.runner.runJson(`list table inet ${TABLE_NAME}`);
    } catch (e) {
      if (e instanceof FirewallError && /No such file or directory/.test(e.message)) return { present: false, instance: '', bridges: [] };
      throw e;
    }
    // nft's JSON listing leaves table comments out (1.0.6); the text one has them.
    const text = await this.runner.run(`list table inet ${TABLE_NAME}`).catch(() => '');
    const comment = /^\s*comment "([^"]*)"/m.exec(text)?.[1] ?? '';
    const bridges = parseListing(json).sets.get(BRIDGES) ?? [];
    return { present: true, instance: comment.startsWith(INSTANCE_COMMENT) ? comment.slice(INSTANCE_COMMENT.length) : '', bridges };
  }

  /** Removes cnm's tables (daemon shutdown with --cleanup, tests). */
  async removeTables(): Promise<void> {
    await this.monitor?.stop();
    this.monitor = null;
    await this.serial(() => this.runner.run(TABLES.map((f) => `add table ${f} ${TABLE_NAME}\ndelete table ${f} ${TABLE_NAME}`).join('\n') + '\n'));
  }

  private onMonitorLine(line: string): void {
    if (!isDestructiveEvent(line)) return;
    // A table of cnm's gone (flush ruleset, delete table): no need to ask
    // the kernel what is missing before rebuilding.
    if (tableGone(line)) this.tableLost = true;
    if (this.repairTimer) return;
    // Coalesce a burst (a flush lists every object) into one check.
    this.repairTimer = setTimeout(() => {
      this.repairTimer = null;
      const lost = this.tableLost;
      this.tableLost = false;
      const job = lost ? this.rebuild('table removed') : this.repair();
      job.catch((error: unknown) => this.opts.onRepair?.({ error }));
    }, MONITOR_DEBOUNCE_MS);
    this.repairTimer.unref();
  }

  /**
   * A table was deleted: rebuild without a full comparison, but only if a
   * table is really missing now (never loop on an event cnm caused itself).
   */
  private rebuild(why: string): Promise<boolean> {
    return this.serial(async () => {
      const present = await Promise.all(TABLES.map((f) => this.runner.run(`list chain ${f} ${TABLE_NAME} ${PROBE_CHAIN[f]}`).then(() => true, () => false)));
      if (present.every(Boolean)) {
        const d = await this.driftNow();
        if (d.ok) return false;
        await this.applyFull(this.state());
        this.opts.onRepair?.({ drift: d });
        return true;
      }
      await this.applyFull(this.state());
      this.opts.onRepair?.({ reason: why });
      return true;
    });
  }

  private async driftNow(): Promise<Drift> {
    const kernel = new Map<TableFamily, TableListing | null>();
    for (const f of TABLES) {
      try {
        kernel.set(f, parseListing(await this.runner.runJson(`list table ${f} ${TABLE_NAME}`)));
      } catch (e) {
        if (e instanceof FirewallError && /No such file or directory/.test(e.message)) kernel.set(f, null);
        else throw e;
      }
    }
    return computeDrift(this.base, stateFragment(this.state()), kernel);
  }

  /** A state that names no guard keeps the current one. */
  private async applyFull(given: FirewallState): Promise<void> {
    const state = 'vxlan' in given ? given : { ...given, ...(this.vxlan ? { vxlan: this.vxlan } : {}) };
    await this.runner.run(buildFullScript(state, this.base, this.opts.instance ? `${INSTANCE_COMMENT}${this.opts.instance}` : ''));
  }

  /**
   * Applies one incremental transaction; when it fails (the kernel drifted
   * from what cnm believes, e.g. an element it deletes is gone), rebuilds
   * everything from the state the operation leads to, in one transaction.
   * That state is built only then: copying every endpoint on each connect
   * made a connect with 10,000 endpoints pay for all of them.
   */
  private async apply(script: string, next: FirewallState | (() => FirewallState), op: string): Promise<void> {
    try {
      await this.runner.run(script);
    } catch (e) {
      try {
        await this.applyFull(typeof next === 'function' ? next() : next);
      } catch (e2) {
        throw new FirewallError({ code: 'NFT_FAILED', op, detail: (e2 as Error).message }, { cause: new AggregateError([e, e2]) });
      }
    }
  }
}
