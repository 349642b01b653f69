// One legacy plugin: its handshake (Plugin.Activate -> Implements) and its
// calls. A plugin that could not be reached is activated again before its
// next call, as a restarted plugin expects the handshake first.
import { CnmError, notFound } from '../../model/errors.ts';
import { callPlugin, PluginCallError } from './client.ts';
import type { CallLimits, PluginAddr } from './client.ts';
import { findPlugin } from './discovery.ts';

export type PluginKind = 'NetworkDriver' | 'IpamDriver';

export class Plugin {
  readonly name: string;
  /** Where it listens; null: looked for in `dirs` at the next handshake. */
  private addr: PluginAddr | null;
  private readonly dirs: readonly string[];
  private readonly limits: CallLimits;
  private implementsList: string[] | null = null;
  private activating: Promise<string[]> | null = null;
  /** Bumped at every handshake: drivers ask their capabilities again after one. */
  generation = 0;
  /** Calls answered and the time they took as cnm saw it (ms), for the overhead benchmark. */
  readonly stats = { calls: 0, ms: 0 };

  constructor(name: string, addr: PluginAddr | null, dirs: readonly string[], limits: CallLimits) {
    this.name = name;
    this.addr = addr;
    this.dirs = dirs;
    this.limits = limits;
  }

  /** The plugin's address, found again when it was lost (a plugin not running at daemon start, or moved). */
  private where(): PluginAddr {
    this.addr ??= findPlugin(this.dirs, this.name);
    if (!this.addr) throw notFound(`plugin "${this.name}" not found`);
    return this.addr;
  }

  /** What the last handshake said the plugin implements (null: none yet). */
  get implements(): readonly string[] | null {
    return this.implementsList;
  }

  /** Plugin.Activate, with Docker's retries; `limits` overrides (docker info asks without waiting). */
  async activate(limits: CallLimits = this.limits): Promise<string[]> {
    if (this.implementsList) return this.implementsList;
    if (!this.activating) {
      // Concurrent callers share one handshake; it is forgotten once settled
      // (cleared after the assignment, even when it fails at once).
      const p = this.handshake(limits);
      this.activating = p;
      p.then(() => { this.activating = null; }, () => { this.activating = null; });
    }
    return this.activating;
  }

  private async handshake(limits: CallLimits): Promise<string[]> {
    const r = await callPlugin(this.name, this.where(), 'Plugin.Activate', undefined, limits);
    const impl = Array.isArray(r.Implements) ? r.Implements.filter((x): x is string => typeof x === 'string') : null;
    if (!impl) throw new PluginCallError(`plugin "${this.name}": Plugin.Activate: malformed answer: expected {"Implements":[...]}`, false);
    this.implementsList = impl;
    this.generation++;
    return impl;
  }

  /** Activates and checks the plugin offers `kind`. */
  async require(kind: PluginKind): Promise<void> {
    const impl = await this.activate();
    // Docker: ErrNotImplements, a lookup failure.
    if (!impl.includes(kind)) throw notFound(`plugin "${this.name}" not found: Plugin does not implement the requested driver (${kind}; it implements ${impl.join(', ') || 'nothing'})`);
  }

  /**
   * One call. When the plugin cannot be reached, it is handshaken again
   * (waiting out Docker's retry window) and the call is sent then.
   */
  async call(kind: PluginKind, method: string, payload: unknown): Promise<Record<string, unknown>> {
    await this.require(kind);
    const t0 = performance.now();
    try {
      const r = await callPlugin(this.name, this.where(), `${kind}.${method}`, payload, { ...this.limits, retryMs: 0 });
      this.count(t0);
      return r;
    } catch (e) {
      if (!(e instanceof PluginCallError) || !e.unreachable) throw e;
      this.implementsList = null;
    }
    await this.require(kind);
    return callPlugin(this.name, this.where(), `${kind}.${method}`, payload, this.limits);
  }

  private count(t0: number): void {
    this.stats.calls++;
    this.stats.ms += performance.now() - t0;
  }
}

/** The error a 200 answer carries in its `Err` (network) or `Error` (IPAM) field. */
export function answerError(plugin: string, method: string, r: Record<string, unknown>, field: 'Err' | 'Error'): CnmError | null {
  const v = r[field];
  return typeof v === 'string' && v ? new CnmError('INTERNAL', `plugin "${plugin}": ${method}: remote: ${v}`) : null;
}
