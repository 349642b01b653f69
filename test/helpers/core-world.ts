// A controller wired to fakes, for unit tests of the core: the in-memory
// store, the fake kernel (fake-netlink.ts), the fake firewall behind the
// real firewall hooks, a fake embedded DNS, and the fake runtime. One Faults
// counter is shared by all of them, so "fail the Nth call" lands on
// whichever of them makes that call. snapshot() reads everything a failed
// operation must leave as it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../../src/core/controller.ts';
import type { Logger } from '../../src/core/context.ts';
import type { ControllerHooks } from '../../src/core/hooks.ts';
import type { CreateNetworkRequest } from '../../src/core/network-ops.ts';
import type { CreateSandboxRequest } from '../../src/core/sandbox-ops.ts';
import { DEFAULT_RUN } from '../../src/core/state.ts';
import { firewallHooks } from '../../src/daemon/firewall-hooks.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { FakeFirewall } from '../../src/firewall/fake-firewall.ts';
import { FirewallError } from '../../src/firewall/errors.ts';
import { MemoryStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/index.ts';
import { Faults } from './faults.ts';
import { FakeKernel, FakeNetnsProvider } from './fake-netlink.ts';
import type { FakeNetns } from './fake-netlink.ts';
import { FakeRuntime } from './fake-runtime.ts';

export const HOST_NS = '/fake/host';
export const HOST_ID = 'f'.repeat(64);

/**
 * The embedded DNS as the controller sees it: names per endpoint and a
 * listener per user-defined network's gateway. Adds count as calls (and
 * fail when chosen); removals never fail, as the real table's do not.
 */
export class FakeDns implements ControllerHooks {
  readonly names = new Map<string, string[]>();
  readonly listeners = new Set<string>();
  readonly #faults: Faults;

  constructor(faults: Faults) {
    this.#faults = faults;
  }

  networkAdded: Required<ControllerHooks>['networkAdded'] = (net) => {
    if (net.predefined || net.driver !== 'bridge') return;
    this.#faults.hit(`dns listen ${net.name}`);
    if (net.ipv4) this.listeners.add(net.ipv4.gateway);
  };

  networkRemoved: Required<ControllerHooks>['networkRemoved'] = (net) => {
    if (net.ipv4) this.listeners.delete(net.ipv4.gateway);
  };

  endpointAdded: Required<ControllerHooks>['endpointAdded'] = (ep, _net, sbx) => {
    if (!ep.dns) return;
    this.#faults.hit(`dns names ${sbx.name}`);
    this.names.set(ep.id, [sbx.name, ...ep.aliases]);
  };

  endpointRemoved: Required<ControllerHooks>['endpointRemoved'] = (ep) => {
    this.names.delete(ep.id);
  };

  snapshot(): { names: string[]; listeners: string[] } {
    return { names: [...this.names].map(([id, n]) => `${id} ${n.join(',')}`).sort(), listeners: [...this.listeners].sort() };
  }
}

/** The store with its writes counted (a failed write changes nothing). */
function countedStore(store: Store, faults: Faults): Store {
  return new Proxy(store, {
    get(target, p) {
      if (p === 'txn') return (t: Parameters<Store['txn']>[0]) => { faults.hit('store txn'); return target.txn(t); };
      const v: unknown = Reflect.get(target, p, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export const quietLog = (lines: string[] = []): Logger => ({
  debug: () => undefined,
  info: () => undefined,
  warn: (m) => { lines.push(`warn ${m}`); },
  error: (m) => { lines.push(`error ${m}`); },
});

export interface WorldParts {
  faults: Faults;
  kernel: FakeKernel;
  store: MemoryStore;
  runtime: FakeRuntime;
  dir: string;
}

export class World {
  readonly faults: Faults;
  readonly kernel: FakeKernel;
  readonly host: FakeNetns;
  readonly store: MemoryStore;
  readonly fw: FakeFirewall;
  readonly dns: FakeDns;
  readonly runtime: FakeRuntime;
  readonly controller: Controller;
  readonly dir: string;
  readonly log: string[] = [];
  readonly #start: () => Promise<void>;

  private constructor(p: WorldParts) {
    this.faults = p.faults;
    this.kernel = p.kernel;
    this.store = p.store;
    this.runtime = p.runtime;
    this.dir = p.dir;
    this.host = p.kernel.handle(p.kernel.mountedAt(HOST_NS) ? HOST_NS : hostNs(p.kernel));
    this.fw = new FakeFirewall({ fault: (op) => p.faults.hit(`firewall ${op}`, (m) => new FirewallError({ code: 'NFT_FAILED', op, detail: m })) });
    this.dns = new FakeDns(p.faults);
    const drivers = new DriverRegistry();
    const log = quietLog(this.log);
    const fwHooks = firewallHooks(this.fw, drivers, log);
    this.#start = () => fwHooks.start();
    this.controller = new Controller({
      store: countedStore(p.store, p.faults),
      hostNs: this.host,
      netnsProvider: new FakeNetnsProvider(p.kernel),
      drivers,
      execRoot: join(p.dir, 'exec'),
      dataRoot: join(p.dir, 'data'),
      pools: null,
      hooks: [fwHooks, this.dns],
      log,
      hostId: HOST_ID,
      runtime: p.runtime,
      resolvConfPath: join(p.dir, 'no-resolv.conf'),
      // Doomed links go when a test says so (settle()), never on a timer
      // that would land between a test's injected failures.
      reaper: { quietMs: 3_600_000, maxDelayMs: 3_600_000 },
    });
  }

  /** Deletes the links waiting for the reaper, as the daemon does moments after a disconnect or rm. */
  async settle(): Promise<void> {
    await this.controller.ctx.reaper.flush();
  }

  /** A fresh world, or a restarted daemon over the parts of an old one (same store, kernel, runtime, directories). */
  static async start(parts?: WorldParts): Promise<World> {
    const faults = parts?.faults ?? new Faults();
    const p: WorldParts = parts ?? {
      faults,
      kernel: new FakeKernel(faults),
      store: new MemoryStore(),
      runtime: new FakeRuntime(faults),
      dir: mkdtempSync(join(tmpdir(), 'cnm-unit-')),
    };
    const w = new World(p);
    await w.controller.init();
    // As the daemon: the firewall goes live after reconcile, in one transaction.
    await w.#start();
    return w;
  }

  get parts(): WorldParts {
    return { faults: this.faults, kernel: this.kernel, store: this.store, runtime: this.runtime, dir: this.dir };
  }

  /** Stops this controller, leaving its sandboxes running (a daemon restart). */
  async stop(): Promise<void> {
    await this.controller.close();
    this.host.close();
  }

  /** Stops everything and removes the directories. */
  async close(): Promise<void> {
    await this.stop();
    await this.runtime.killAll();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Everything an operation changes: kernel, firewall, store, memory, IPAM, host ports, DNS, open handles. */
  async snapshot(): Promise<unknown> {
    await this.settle();
    const ctx = this.controller.ctx;
    const byId = <T extends { id: string }>(m: Iterable<T>): T[] => [...m].sort((a, b) => a.id.localeCompare(b.id));
    const fwKernel = Object.fromEntries([...this.fw.kernel].map(([f, l]) => [f, l && {
      chains: [...l.chains].sort(), sets: [...l.sets].map(([k, v]) => [k, [...v].sort()]).sort(),
    }]));
    const fwState = this.fw.state();
    return {
      kernel: this.kernel.snapshot(),
      firewall: { networks: byId(fwState.networks), endpoints: byId(fwState.endpoints), kernel: fwKernel },
      store: (await this.store.list('')).kvs.map((kv) => `${kv.key} = ${kv.value}`),
      memory: { networks: byId(ctx.state.networks.values()), endpoints: byId(ctx.state.endpoints.values()), sandboxes: byId(ctx.state.sandboxes.values()) },
      ipam: [...ctx.ipam.usage()].sort(),
      hostPort8080Free: ctx.ports.isFree('', 'tcp', 8080),
      dns: this.dns.snapshot(),
      openNamespaces: [...ctx.netns.keys()].sort(),
    };
  }
}

/** The host namespace of a fresh kernel. */
function hostNs(k: FakeKernel): string {
  k.addNamespace(HOST_NS);
  return HOST_NS;
}

export function networkRequest(name: string, over: Partial<CreateNetworkRequest> = {}): CreateNetworkRequest {
  return {
    name, driver: 'bridge', internal: false, attachable: false, ingress: false, configOnly: false, configFrom: '',
    enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamConfig: [], ipamOptions: {}, options: {}, labels: {},
    ...over,
  };
}

export function sandboxRequest(name: string, over: Partial<CreateSandboxRequest> = {}): CreateSandboxRequest {
  return {
    name, hostname: '', domainname: '', cmd: ['sleep', '600'], env: [], image: '', labels: {}, networkMode: '',
    dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], ports: [], publishAll: false, autoRemove: false,
    run: structuredClone(DEFAULT_RUN), networks: [],
    ...over,
  };
}
