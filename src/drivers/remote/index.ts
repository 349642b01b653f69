// The legacy plugins a daemon can use, found by name in its plugin
// directories when a network or IPAM driver name is not a built-in one.
import type { CallLimits } from './client.ts';
import { DEFAULT_PLUGIN_DIRS, findPlugin, listPlugins } from './discovery.ts';
import { RemoteIpam } from './ipam.ts';
import { RemoteNetworkDriver } from './network-driver.ts';
import { Plugin } from './plugin.ts';

export { DEFAULT_PLUGIN_DIRS } from './discovery.ts';
export { RemoteIpam } from './ipam.ts';
export type { IpamNet, RemotePools } from './ipam.ts';
export { RemoteNetworkDriver } from './network-driver.ts';

export interface PluginOptions {
  /** Searched in order (Docker's: /run/docker/plugins, /etc/docker/plugins, /usr/lib/docker/plugins). */
  dirs?: readonly string[];
  /** How long one call may take, and how long a connection is retried (Docker: 30 s). */
  timeoutMs?: number;
}

export class Plugins {
  readonly dirs: readonly string[];
  private readonly limits: CallLimits;
  private readonly plugins = new Map<string, Plugin>();
  private readonly networks = new Map<string, RemoteNetworkDriver>();
  private readonly ipams = new Map<string, RemoteIpam>();

  constructor(o: PluginOptions = {}) {
    this.dirs = o.dirs?.length ? o.dirs : DEFAULT_PLUGIN_DIRS;
    const t = o.timeoutMs ?? 30_000;
    this.limits = { timeoutMs: t, retryMs: t };
  }

  /**
   * The plugin of that name (not yet activated), or null when no directory
   * has it; `anyway`: also then (it is looked for again at its first call).
   */
  plugin(name: string, anyway = false): Plugin | null {
    const known = this.plugins.get(name);
    if (known) return known;
    const addr = findPlugin(this.dirs, name);
    if (!addr && !anyway) return null;
    const p = new Plugin(name, addr, this.dirs, this.limits);
    this.plugins.set(name, p);
    return p;
  }

  /**
   * A network driver for plugin `name`; it activates on its first call.
   * `anyway`: a driver even when the plugin is not there now (the networks
   * a daemon restarts with: their plugin may start after it).
   */
  network(name: string, anyway = false): RemoteNetworkDriver | null {
    let d = this.networks.get(name);
    if (!d) {
      const p = this.plugin(name, anyway);
      if (!p) return null;
      d = new RemoteNetworkDriver(p);
      this.networks.set(name, d);
    }
    return d;
  }

  /** An IPAM driver for plugin `name`; it activates on its first call. */
  ipam(name: string): RemoteIpam | null {
    let d = this.ipams.get(name);
    if (!d) {
      const p = this.plugin(name);
      if (!p) return null;
      d = new RemoteIpam(p);
      this.ipams.set(name, d);
    }
    return d;
  }

  /** Calls per plugin and the time cnm waited for them (ms). */
  stats(): Record<string, { calls: number; ms: number }> {
    return Object.fromEntries([...this.plugins].map(([n, p]) => [n, { ...p.stats }]));
  }

  /**
   * The plugins found, by what they implement (docker info). Each is asked
   * once, without Docker's retries: a plugin that is down is left out
   * instead of holding the answer for 30 s.
   */
  async info(): Promise<{ network: string[]; ipam: string[] }> {
    const out = { network: [] as string[], ipam: [] as string[] };
    await Promise.all(listPlugins(this.dirs).map(async (n) => {
      try {
        const p = this.plugin(n);
        const impl = p?.implements ?? await p?.activate({ timeoutMs: Math.min(this.limits.timeoutMs, 2000), retryMs: 0 });
        if (impl?.includes('NetworkDriver')) out.network.push(n);
        if (impl?.includes('IpamDriver')) out.ipam.push(n);
      } catch { /* unreachable or not a plugin: not listed */ }
    }));
    out.network.sort();
    out.ipam.sort();
    return out;
  }
}
