// The Container Network Model's controller: networks, endpoints and
// sandboxes, kept in the store and mirrored in the kernel. Every change runs
// under one lock, is validated before the kernel is touched, and is undone if
// a step fails. At start it reconciles the kernel with the store.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseResolvConf } from '../dns/index.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { DhcpLeaseService, NetworkDriver } from '../drivers/driver.ts';
import { markOwner } from '../drivers/link-mark.ts';
import { kernelNetns } from '../netlink/index.ts';
import type { NetnsHandle, NetnsProvider, Route, RouteWatch } from '../netlink/index.ts';
import { PortAllocator } from '../firewall/index.ts';
import { isAlive } from '../runtime/proc.ts';
import type { Store } from '../store/index.ts';
import type { Runtime } from '../runtime/types.ts';
import type { ImageService } from './image-service.ts';
import type { Ctx, Logger } from './context.ts';
import { applyGateway, attach, checkAttachment, detach, detachWhole, recordLease, writeSandboxFiles } from './endpoint-ops.ts';
import { CnmError, conflict, forbidden, invalid } from '../model/errors.ts';
import { emitContainer, emitVolumeMounts, EventBus } from './events.ts';
import { treeBytes } from './disk-usage.ts';
import { eventHooks } from './event-hooks.ts';
import { combineHooks } from './hooks.ts';
import type { ControllerHooks } from './hooks.ts';
import { shortId } from '../model/ids.ts';
import { IpamManager } from './ipam.ts';
import type { PoolFlag } from './ipam.ts';
import type { AttachmentConfig, DhcpLeaseRecord, NetworkRecord, SandboxRecord } from '../model/records.ts';
import { Mutex } from './mutex.ts';
import { createNetwork, labelMatches, pruneNetworks, removeNetwork } from './network-ops.ts';
import type { CreateNetworkRequest, PruneFilter } from './network-ops.ts';
import { LinkReaper } from './reaper.ts';
import type { ReaperOptions } from './reaper.ts';
import { cleanupExited, createSandbox, modeKind, netnsPathOf, removeSandboxRecord, startSandbox } from './sandbox-ops.ts';
import { killProcess, logDirOf } from './process-ops.ts';
import { mergedDirOf, mountRootfs, rootfsDirOf, unmountRootfs } from '../images/rootfs.ts';
import type { CreateSandboxRequest } from './sandbox-ops.ts';
import { reconcile } from './reconcile.ts';
import { checkKernel } from './doctor.ts';
import type { KernelReport } from './doctor.ts';
import { State } from './state.ts';
import type { GlobalStore } from './state.ts';
import { createVolume, pruneVolumes, removeVolume, sweepVolumeDirs } from './volume-ops.ts';
import type { CreateVolumeRequest, VolumePruneFilter } from './volume-ops.ts';
import type { VolumeRecord } from '../model/records.ts';

/**
 * Networks without endpoints (host, none) are a network mode, chosen at
 * create: Docker's words for trying to join or leave one.
 */
function fixedMembership(drv: NetworkDriver, net: NetworkRecord): void {
  if (drv.capabilities.endpoints) return;
  throw invalid(`container cannot be disconnected from ${net.name} network or connected to ${net.name} network`);
}

/** moby's validContainerNamePattern. */
const SANDBOX_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const osSignals = constants.signals as Record<string, number>;

const RESTART_BACKOFF_MS = 100;
const RESTART_BACKOFF_MAX_MS = 60_000;

export interface ControllerOptions {
  store: Store;
  hostNs: NetnsHandle;
  /** Sandbox namespaces: the kernel's unless given (unit tests pass a fake). */
  netnsProvider?: NetnsProvider;
  drivers: DriverRegistry;
  execRoot: string;
  dataRoot: string;
  pools: PoolFlag[] | null;
  hooks: ControllerHooks[];
  log: Logger;
  hostId: string;
  runtime: Runtime;
  /** Images for containers that run one (absent: only host-filesystem sandboxes). */
  images?: ImageService;
  /** Paths sandboxes must not see besides the data and exec roots (the API socket). */
  hiddenPaths?: string[];
  resolvConfPath?: string;
  /** See Ctx.keepUnknownNamespaces. */
  keepUnknownNamespaces?: boolean;
  /** The cluster store for global-scope records (--cluster-store); absent: everything is local. */
  global?: GlobalStore;
  /** When doomed links are deleted (core/reaper.ts). */
  reaper?: ReaperOptions;
  /** Leases for networks whose IPAM driver is dhcp (DriverContext.dhcp). */
  dhcp?: DhcpLeaseService;
}

export class Controller {
  readonly ctx: Ctx;
  /** Docker's wait: who waits for the next exit and who for the removal, per sandbox. */
  private readonly waiters = new Map<string, { removed: boolean; done: (code: number) => void }[]>();
  /** Attachers waiting for a start (docker run -it attaches first). */
  private readonly startWaiters = new Map<string, ((started: boolean) => void)[]>();
  private adoptTimer: NodeJS.Timeout | null = null;
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(o: ControllerOptions) {
    const state = new State(o.store, o.global);
    const resolvPath = o.resolvConfPath ?? '/etc/resolv.conf';
    let hostResolvConf = '';
    try { hostResolvConf = readFileSync(resolvPath, 'utf8'); } catch { /* no resolver configured */ }
    const events = new EventBus();
    const nsProvider = o.netnsProvider ?? kernelNetns;
    const reaper = new LinkReaper(o.hostNs, o.log, o.reaper);
    const ctx: Ctx = {
      state,
      events,
      ipam: null as unknown as IpamManager,
      drivers: o.drivers,
      hostNs: o.hostNs,
      nsProvider,
      driverCtx: {
        hostNs: o.hostNs, owner: markOwner(o.hostId), networks: () => [...state.networks.values()], reap: () => reaper.schedule(), execRoot: o.execRoot,
        ...(o.dhcp ? { dhcp: o.dhcp } : {}),
      },
      reaper,
      // Last: an event goes out only once every other observer took the endpoint.
      hooks: combineHooks([...o.hooks, eventHooks(events)]),
      lock: new Mutex(),
      log: o.log,
      execRoot: o.execRoot,
      dataRoot: o.dataRoot,
      hostResolvConf,
      netns: new Map(),
      defaultRoutes: new Map(),
      attachWaiting: new Map(),
      ports: new PortAllocator(),
      keepUnknownNamespaces: o.keepUnknownNamespaces ?? false,
      runtime: o.runtime,
      images: o.images ?? null,
      hiddenPaths: [o.dataRoot, o.execRoot, ...(o.hiddenPaths ?? [])],
    };
    ctx.ipam = new IpamManager(o.pools, {
      hostId: o.hostId,
      avoid: () => this.hostAvoid(),
    });
    this.ctx = ctx;
  }

  get state(): State {
    return this.ctx.state;
  }

  /** Host routes and nameservers: new subnets must not clash with them. */
  private hostAvoidCache: string[] = [];
  private hostAvoid(): string[] {
    return this.hostAvoidCache;
  }

  /**
   * Reads the host's routes of one family: new subnets must avoid them. Only
   * needed when a subnet is chosen automatically, and only for that family
   * (a host with a thousand veths has thousands of IPv6 link-local routes).
   */
  async refreshHostAvoid(families: (4 | 6)[]): Promise<void> {
    const ours = new Set([...this.state.networks.values()].flatMap((n) => [n.ipv4?.subnet, n.ipv6?.subnet]));
    const routes = (await this.hostRoutes()).filter((r) => r.family !== undefined && families.includes(r.family));
    const avoid = routes.map((r) => r.dst).filter((d) => d !== 'default' && !ours.has(d) && !d.startsWith('fe80:') && !d.startsWith('ff'));
    const ns = parseResolvConf(this.ctx.hostResolvConf).nameservers;
    this.hostAvoidCache = [...avoid, ...ns.map((n) => (n.includes(':') ? `${n}/128` : `${n}/32`))];
  }

  /**
   * The host's main routing table, from a route watch (the kernel's
   * notifications applied to one dump) opened at the first look; a kernel
   * that refuses the watch is dumped at each look instead.
   */
  private routeWatch: Promise<RouteWatch | null> | null = null;
  private async hostRoutes(): Promise<Route[]> {
    this.routeWatch ??= this.ctx.hostNs.rtnl.routeWatch().catch((e: unknown) => {
      this.ctx.log.warn(`host routes are dumped at each network create: ${(e as Error).message}`);
      return null;
    });
    const watch = await this.routeWatch;
    return watch ? watch.list() : this.ctx.hostNs.rtnl.routeList({ devNames: false });
  }

  /** Loads the store, reconciles the kernel, creates the predefined networks. */
  async init(): Promise<void> {
    await mkdir(join(this.ctx.execRoot, 'netns'), { recursive: true });
    await mkdir(join(this.ctx.execRoot, 'sandboxes'), { recursive: true });
    const t0 = performance.now();
    await this.state.load();
    const loaded = performance.now();
    for (const v of await sweepVolumeDirs(this.ctx)) this.ctx.log.info(`removed the empty directory of volume ${v}, which has no record`);
    await this.refreshHostAvoid([4]);
    // Links doomed before a crash go before the reconcile looks at the kernel.
    await this.ctx.reaper.flush();
    // Rebuilding the kernel from the store is no news: no events for it.
    this.ctx.events.enabled = false;
    await this.ctx.lock.run(async () => {
      const errors = await reconcile(this.ctx);
      for (const e of errors) this.ctx.log.warn(`reconcile: ${e.message}`);
      await this.ensurePredefined();
    }).finally(() => { this.ctx.events.enabled = true; });
    this.ctx.log.debug('controller init (ms)', { load: Math.round(loaded - t0), rest: Math.round(performance.now() - loaded) });
    this.adoptTimer = setInterval(() => this.pollAdopted(), 500);
    this.adoptTimer.unref();
  }

  private async ensurePredefined(): Promise<void> {
    const have = (driver: string) => [...this.state.networks.values()].some((n) => n.predefined && n.driver === driver);
    const base: Omit<CreateNetworkRequest, 'name' | 'driver'> = {
      internal: false, attachable: false, ingress: false, configOnly: false, configFrom: '',
      enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamConfig: [], ipamOptions: {}, options: {}, labels: {},
    };
    if (!have('bridge')) {
      await createNetwork(this.ctx, {
        ...base, name: 'bridge', driver: 'bridge',
        options: {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': 'cnm0',
          'com.docker.network.driver.mtu': '1500',
        },
      }, true);
    }
    if (!have('host')) await createNetwork(this.ctx, { ...base, name: 'host', driver: 'host', enableIPv4: false }, true);
    if (!have('null')) await createNetwork(this.ctx, { ...base, name: 'none', driver: 'null', enableIPv4: false }, true);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.adoptTimer) clearInterval(this.adoptTimer);
    void this.routeWatch?.then((w) => w?.close());
    for (const t of this.restartTimers.values()) clearTimeout(t);
    await this.ctx.lock.run(async () => {
      await this.ctx.reaper.close();
      for (const ns of this.ctx.netns.values()) ns.close();
      this.ctx.netns.clear();
    });
  }

  // ---- networks

  createNetwork(req: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.ctx.lock.run(async () => {
      const auto = (fam: 4 | 6) => !req.ipamConfig.some((c) => c.subnet && c.subnet.includes(':') === (fam === 6));
      const families = ([4, 6] as const).filter((f) => (f === 4 ? req.enableIPv4 : req.enableIPv6) && auto(f));
      if (families.length) await this.refreshHostAvoid([...families]);
      return createNetwork(this.ctx, req);
    });
  }

  removeNetwork(ref: string): Promise<void> {
    return this.ctx.lock.run(() => removeNetwork(this.ctx, ref));
  }

  pruneNetworks(f: PruneFilter): Promise<string[]> {
    return this.ctx.lock.run(async () => {
      const names = await pruneNetworks(this.ctx, f);
      // Docker reports a prune once, with what it freed (nothing, for networks).
      this.ctx.events.emit('network', 'prune', '', { reclaimed: '0' });
      return names;
    });
  }

  connect(netRef: string, sbxRef: string, att: Omit<AttachmentConfig, 'networkId'>): Promise<void> {
    return this.ctx.lock.run(async () => {
      const net = this.state.findNetwork(netRef);
      const sbx = this.state.findSandbox(sbxRef);
      const drv = this.ctx.drivers.get(net.driver);
      const mode = modeKind(this.ctx, sbx.networkMode);
      fixedMembership(drv, net);
      if (mode === 'host' || mode === 'none' || mode === 'container') {
        throw invalid(`container sharing network namespace with another container or host cannot be connected to any other network (network mode ${sbx.networkMode})`);
      }
      if (!drv.capabilities.combinable) throw invalid(`network ${net.name} cannot be combined with other networks`);
      if (sbx.attachments.some((a) => a.networkId === net.id)) {
        throw forbidden(`endpoint with name ${sbx.name} already exists in network ${net.name}`);
      }
      const full: AttachmentConfig = { ...att, networkId: net.id };
      checkAttachment(this.ctx, net, full);
      const next: SandboxRecord = { ...sbx, attachments: [...sbx.attachments, full] };
      if (sbx.state === 'running') {
        const ns = this.sandboxNs(sbx);
        let ep;
        try {
          ep = await attach(this.ctx, sbx, full, ns, [{ kind: 'sandbox', put: next }]);
        } catch (e) {
          // attach undoes its endpoint record; the attachment went into the
          // same transaction and goes back too, or inspect would show a
          // network the sandbox is not on and the next connect would be refused.
          await this.state.commit([{ kind: 'sandbox', put: sbx }]).catch((u: Error) => this.ctx.log.error(`undo attachment: ${u.message}`));
          throw e;
        }
        // Records are immutable: attach stored `next`, and this is its stored copy.
        const cur = this.state.sandboxes.get(sbx.id) ?? next;
        try {
          await Promise.all([applyGateway(this.ctx, cur, ns), writeSandboxFiles(this.ctx, cur)]);
        } catch (e) {
          await detach(this.ctx, ep, ns);
          const [back] = await this.state.commit([{ kind: 'sandbox', put: { ...cur, attachments: cur.attachments.filter((a) => a.networkId !== net.id) } }]);
          // The default route may have moved to the new endpoint, and went with it.
          await applyGateway(this.ctx, back, ns).catch((u: Error) => this.ctx.log.error(`undo default route: ${u.message}`));
          throw e;
        }
      } else {
        await this.state.commit([{ kind: 'sandbox', put: next }]);
      }
    });
  }

  disconnect(netRef: string, sbxRef: string, force: boolean): Promise<void> {
    return this.ctx.lock.run(async () => {
      const net = this.state.findNetwork(netRef);
      const sbx = this.state.lookupSandbox(sbxRef);
      if (!sbx) {
        // Docker lets --force clean up an endpoint whose container is gone.
        if (force) {
          const stale = this.state.endpointsOn(net.id).filter((e) => e.name === sbxRef || e.sandboxId.startsWith(sbxRef));
          for (const ep of stale) await detach(this.ctx, ep, null);
          if (stale.length) return;
        }
        this.state.findSandbox(sbxRef);
        return;
      }
      fixedMembership(this.ctx.drivers.get(net.driver), net);
      if (!sbx.attachments.some((a) => a.networkId === net.id)) {
        throw forbidden(`container ${shortId(sbx.id)} is not connected to network ${net.name}`);
      }
      const next: SandboxRecord = { ...sbx, attachments: sbx.attachments.filter((a) => a.networkId !== net.id) };
      const ep = this.state.endpointsOf(sbx.id).find((e) => e.networkId === net.id);
      const ns = this.ctx.netns.get(sbx.id);
      if (ep && ns) {
        // All or nothing: a failed step leaves the endpoint as it was.
        await detachWhole(this.ctx, ep, ns, [{ kind: 'sandbox', put: next }]);
        await writeSandboxFiles(this.ctx, this.state.sandboxes.get(sbx.id) ?? next);
      } else if (ep) {
        const errs = await detach(this.ctx, ep, null);
        for (const e of errs) this.ctx.log.warn(`disconnect: ${e.message}`);
        const [cur] = await this.state.commit([{ kind: 'sandbox', put: next }]);
        await writeSandboxFiles(this.ctx, cur);
      } else {
        await this.state.commit([{ kind: 'sandbox', put: next }]);
      }
    });
  }

  private sandboxNs(sbx: SandboxRecord): NetnsHandle {
    const ns = this.ctx.netns.get(sbx.id);
    if (!ns) throw new CnmError('INTERNAL', `namespace of container ${sbx.name} is not open`);
    return ns;
  }

  // ---- sandboxes

  createSandbox(req: CreateSandboxRequest): Promise<SandboxRecord> {
    return this.ctx.lock.run(() => createSandbox(this.ctx, req));
  }

  /**
   * The create response's warnings: published ports on networks whose
   * driver cannot program them (macvlan, ipvlan). Docker accepts them and
   * only logs; cnm accepts them too, so compose files written for Docker
   * still run, and says so to the client.
   */
  createWarnings(sbx: SandboxRecord): string[] {
    if (!sbx.ports.length && !sbx.publishAll) return [];
    const nets = sbx.attachments.map((a) => this.ctx.state.networks.get(a.networkId)).filter((n) => n !== undefined);
    const ports = (n: NetworkRecord): boolean => {
      const c = this.ctx.drivers.get(n.driver).capabilities;
      return c.portPublishing || c.externalConnectivity === true;
    };
    if (!nets.length || nets.some((n) => ports(n) && !n.internal)) return [];
    return nets.filter((n) => !ports(n)).map((n) =>
      `Published ports are discarded: network ${n.name} (${n.driver}) does not support port mappings; reach the container at its own address`);
  }

  /** The lease keeper's news: a DHCP lease renewed, moved or ended (null). */
  recordDhcpLease(endpointId: string, lease: DhcpLeaseRecord | null): Promise<void> {
    return this.ctx.lock.run(() => recordLease(this.ctx, endpointId, lease));
  }

  startSandbox(ref: string): Promise<'started' | 'already'> {
    return this.ctx.lock.run(async () => {
      const sbx = this.state.findSandbox(ref);
      if (sbx.state === 'running') return 'already';
      // A user's start: the restart count begins again, as in Docker.
      try {
        // A sandbox that died frozen starts thawed (the flag is set only when it was).
        await startSandbox(this.ctx, { ...sbx, restartCount: 0, ...(sbx.paused ? { paused: false } : {}) }, (id) => this.onExit(id));
        this.fireStarted(sbx.id, true);
      } catch (e) {
        // As Docker: a --rm container that cannot start is removed (the
        // docker CLI waits for that before it reports the error).
        const cur = this.state.sandboxes.get(sbx.id);
        if (cur?.autoRemove && cur.state !== 'running') {
          await this.removeRecord({ ...cur, exitCode: 127 }, true).catch((x: Error) => this.ctx.log.warn(`removal of ${cur.name}: ${x.message}`));
        }
        throw e;
      }
      return 'started';
    });
  }

  /** Stops the process (outside the lock: it can take seconds), then cleans up. */
  async stopSandbox(ref: string, timeoutS = 10): Promise<'stopped' | 'already'> {
    const sbx = this.state.findSandbox(ref);
    if (sbx.state !== 'running') return 'already';
    await this.endProcess(sbx, timeoutS);
    emitContainer(this.ctx.events, this.state.sandboxes.get(sbx.id) ?? sbx, 'stop');
    return 'stopped';
  }

  /** A user's stop or kill: SIGTERM (none when timeoutS is 0), SIGKILL, cleanup. */
  private async endProcess(sbx: SandboxRecord, timeoutS: number): Promise<void> {
    await this.markStopped(sbx);
    await killProcess(this.ctx, sbx, timeoutS);
    await this.finishExit(sbx.id, false);
  }

  /**
   * docker kill: SIGKILL (the default) ends the sandbox as a stop does;
   * another signal is only delivered (a paused sandbox gets it when thawed).
   */
  async killSandbox(ref: string, signal: NodeJS.Signals): Promise<void> {
    const sbx = this.state.findSandbox(ref);
    if (sbx.state !== 'running') throw conflict(`Container ${sbx.id} is not running`);
    if (signal === 'SIGKILL') return this.endProcess(sbx, 0);
    emitContainer(this.ctx.events, sbx, 'kill', { signal: String(osSignals[signal] ?? 0) });
    await this.signalSandbox(sbx.id, signal);
  }

  /** docker restart: a stop, a start, then Docker's restart event. */
  async restartSandbox(ref: string, timeoutS: number): Promise<void> {
    await this.stopSandbox(ref, timeoutS);
    await this.startSandbox(ref);
    const sbx = this.state.findSandbox(ref);
    emitContainer(this.ctx.events, sbx, 'restart');
  }

  /** docker pause: every process of the sandbox frozen (runc pause, the cgroup freezer). */
  pauseSandbox(ref: string): Promise<void> {
    return this.ctx.lock.run(async () => {
      const sbx = this.state.findSandbox(ref);
      if (sbx.state !== 'running') throw conflict(`Container ${sbx.id} is not running`);
      if (sbx.paused) throw conflict(`Container ${sbx.id} is already paused`);
      await this.ctx.runtime.pause(sbx.id).catch((e: Error) => { throw new CnmError('INTERNAL', `Cannot pause container ${sbx.id}: ${e.message}`, { cause: e }); });
      const [next] = await this.state.commit([{ kind: 'sandbox', put: { ...sbx, paused: true } }]);
      emitContainer(this.ctx.events, next, 'pause');
    });
  }

  unpauseSandbox(ref: string): Promise<void> {
    return this.ctx.lock.run(async () => {
      const sbx = this.state.findSandbox(ref);
      if (sbx.state !== 'running' || !sbx.paused) throw conflict(`Container ${sbx.id} is not paused`);
      await this.ctx.runtime.resume(sbx.id).catch((e: Error) => { throw new CnmError('INTERNAL', `Cannot unpause container ${sbx.id}: ${e.message}`, { cause: e }); });
      const [next] = await this.state.commit([{ kind: 'sandbox', put: { ...sbx, paused: false } }]);
      emitContainer(this.ctx.events, next, 'unpause');
    });
  }

  /**
   * docker rename: the record, its endpoints' names, and the embedded DNS
   * (the new name answers, the old one no longer does), as libnetwork's
   * sandbox rename does.
   */
  renameSandbox(ref: string, newName: string): Promise<void> {
    return this.ctx.lock.run(async () => {
      const sbx = this.state.findSandbox(ref);
      const name = newName.replace(/^\//, '');
      if (!name) throw invalid('Neither old nor new names may be empty');
      if (!SANDBOX_NAME.test(name)) throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      if (name === sbx.name) throw invalid('Renaming a container with the same name as its current name');
      const clash = [...this.state.sandboxes.values()].find((s) => s.name === name);
      if (clash) {
        throw conflict(`Conflict. The container name "/${name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
      const eps = this.state.endpointsOf(sbx.id).map((ep) => ({ ...ep, name }));
      await this.state.commit([{ kind: 'sandbox', put: { ...sbx, name } }, ...eps.map((ep) => ({ kind: 'endpoint' as const, put: ep }))]);
      const next = this.state.sandboxes.get(sbx.id) ?? { ...sbx, name };
      const withNets = this.state.endpointsOf(sbx.id).flatMap((ep) => {
        const net = this.state.networks.get(ep.networkId);
        return net ? [{ ep, net }] : [];
      });
      try {
        await this.ctx.hooks.sandboxRenamed(next, withNets);
      } catch (e) {
        this.ctx.log.warn(`rename of ${sbx.name}: ${(e as Error).message}`);
      }
      emitContainer(this.ctx.events, next, 'rename', { oldName: `/${sbx.name}` });
    });
  }

  /** docker container prune: every sandbox not running that the filter keeps; their IDs and the bytes their writable layers held. */
  pruneSandboxes(f: PruneFilter): Promise<{ ids: string[]; reclaimed: number }> {
    return this.ctx.lock.run(async () => {
      const removed: string[] = [];
      let reclaimed = 0;
      for (const sbx of [...this.state.sandboxes.values()]) {
        if (sbx.state === 'running') continue;
        if (f.until !== undefined && Date.parse(sbx.created) >= f.until) continue;
        if (!f.label.every((l) => labelMatches(sbx.labels, l))) continue;
        if (f.labelNot.some((l) => labelMatches(sbx.labels, l))) continue;
        // Docker counts the writable layer (SizeRw): the overlay's upper dir.
        if (sbx.imageId) reclaimed += await treeBytes(join(rootfsDirOf(logDirOf(this.ctx, sbx)), 'upper'));
        await this.removeRecord(sbx);
        removed.push(sbx.id);
      }
      this.ctx.events.emit('container', 'prune', '', { reclaimed: String(reclaimed) });
      return { ids: removed, reclaimed };
    });
  }

  /** `volumes`: its anonymous volumes too (docker rm -v). */
  async removeSandbox(ref: string, force: boolean, volumes = false): Promise<void> {
    const sbx = this.state.findSandbox(ref);
    if (sbx.state === 'running') {
      if (!force) {
        throw new CnmError('CONFLICT', `cannot remove container "/${sbx.name}": container is running: stop the container before removing or force remove`);
      }
      await this.endProcess(sbx, 0);
    }
    await this.ctx.lock.run(async () => {
      const cur = this.state.sandboxes.get(sbx.id);
      if (cur) await this.removeRecord(cur, volumes);
    });
  }

  /**
   * Runs fn with the container's root filesystem (docker cp): the live
   * mount of a running container, or one mounted for the call (under the
   * lock, so that no start races it) for a stopped one.
   */
  async withRootfs<T>(ref: string, fn: (root: string, sbx: SandboxRecord) => Promise<T>): Promise<T> {
    const sbx = this.state.findSandbox(ref);
    const images = this.ctx.images;
    if (!sbx.imageId || !images) throw invalid(`container ${sbx.name} runs the host's files, not an image: docker cp works on containers from images`);
    const dir = logDirOf(this.ctx, sbx);
    if (sbx.state === 'running') return fn(mergedDirOf(dir), sbx);
    return this.ctx.lock.run(async () => {
      const cur = this.state.findSandbox(sbx.id);
      const root = await mountRootfs(images.store, sbx.imageId!, dir);
      try {
        return await fn(root, cur);
      } finally {
        if (this.state.sandboxes.get(cur.id)?.state !== 'running') await unmountRootfs(dir);
      }
    });
  }

  /**
   * Docker's wait conditions: "not-running" resolves at once for a sandbox
   * that is not running, else at its exit; "next-exit" at its next exit
   * (docker run waits so before the start); "removed" once it is removed
   * (docker run --rm), with its last exit code.
   */
  waitSandbox(ref: string, condition: 'not-running' | 'next-exit' | 'removed' = 'not-running', signal?: AbortSignal): Promise<number> {
    const sbx = this.state.findSandbox(ref);
    if (condition === 'not-running' && sbx.state !== 'running') return Promise.resolve(sbx.exitCode);
    return new Promise((resolve, reject) => {
      const w = { removed: condition === 'removed', done: resolve };
      const list = this.waiters.get(sbx.id) ?? [];
      list.push(w);
      this.waiters.set(sbx.id, list);
      // A client that went away (docker run -d leaves its wait) waits no more.
      signal?.addEventListener('abort', () => {
        const cur = (this.waiters.get(sbx.id) ?? []).filter((x) => x !== w);
        if (cur.length) this.waiters.set(sbx.id, cur);
        else this.waiters.delete(sbx.id);
        reject(new Error('the client went away'));
      }, { once: true });
    });
  }

  /** Resolves the waiters of an exit (removed=false) or of the removal. */
  private wake(id: string, removed: boolean, code: number): void {
    const list = this.waiters.get(id) ?? [];
    for (const w of list.filter((x) => x.removed === removed)) w.done(code);
    const rest = list.filter((x) => x.removed !== removed);
    if (rest.length && !removed) this.waiters.set(id, rest);
    else this.waiters.delete(id);
  }

  /** Streams reading a sandbox's log (attach), by sandbox ID. */
  private readonly readers = new Map<string, Set<Promise<unknown>>>();

  /** Keeps a sandbox's log until `reading` settles, should the sandbox be removed meanwhile. */
  trackReader(id: string, reading: Promise<unknown>): void {
    const set = this.readers.get(id) ?? new Set();
    set.add(reading);
    this.readers.set(id, set);
    void reading.finally(() => {
      set.delete(reading);
      if (!set.size) this.readers.delete(id);
    }).catch(() => undefined);
  }

  /** `volumes`: its anonymous volumes too (rm -v, --rm). */
  private async removeRecord(sbx: SandboxRecord, volumes = false): Promise<void> {
    await removeSandboxRecord(this.ctx, sbx, [...(this.readers.get(sbx.id) ?? [])], volumes);
    this.wake(sbx.id, false, sbx.exitCode);
    this.wake(sbx.id, true, sbx.exitCode);
    this.fireStarted(sbx.id, false);
  }

  private fireStarted(id: string, started: boolean): void {
    for (const w of this.startWaiters.get(id) ?? []) w(started);
    this.startWaiters.delete(id);
    this.ctx.attachWaiting.delete(id);
  }

  /**
   * Resolves true once the sandbox runs (at once if it does), false if it is
   * removed first or `signal` aborts. Meanwhile a start tells the monitor an
   * attacher is coming (ProcessSpec.linger).
   */
  waitRunning(ref: string, signal: AbortSignal): Promise<boolean> {
    const sbx = this.state.findSandbox(ref);
    if (sbx.state === 'running') return Promise.resolve(true);
    const id = sbx.id;
    return new Promise((resolve) => {
      const done = (started: boolean): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(started);
      };
      const onAbort = (): void => {
        const list = (this.startWaiters.get(id) ?? []).filter((w) => w !== done);
        if (list.length) this.startWaiters.set(id, list);
        else this.startWaiters.delete(id);
        const n = (this.ctx.attachWaiting.get(id) ?? 1) - 1;
        if (n > 0) this.ctx.attachWaiting.set(id, n);
        else this.ctx.attachWaiting.delete(id);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.startWaiters.set(id, [...(this.startWaiters.get(id) ?? []), done]);
      this.ctx.attachWaiting.set(id, (this.ctx.attachWaiting.get(id) ?? 0) + 1);
    });
  }

  /** Sends a signal to a running sandbox's init (docker kill -s, the CLI's signal proxy). */
  async signalSandbox(ref: string, signal: NodeJS.Signals): Promise<void> {
    const sbx = this.state.findSandbox(ref);
    if (sbx.state !== 'running' || !(await this.ctx.runtime.kill(sbx.id, signal))) {
      throw new CnmError('CONFLICT', `cannot kill container: ${sbx.name}: container ${sbx.id} is not running`);
    }
  }

  /**
   * A user's stop: restart policies must not bring it back. A paused
   * sandbox is thawed first, or its processes would never see the signal
   * (Docker resumes it too, moby daemon/kill.go).
   */
  private markStopped(sbx: SandboxRecord): Promise<void> {
    return this.ctx.lock.run(async () => {
      const cur = this.state.sandboxes.get(sbx.id);
      if (cur?.paused && cur.state === 'running') {
        await this.ctx.runtime.resume(cur.id).catch((e: Error) => this.ctx.log.warn(`unpause of ${cur.name}: ${e.message}`));
      }
      if (cur && (!cur.stoppedByUser || cur.paused)) await this.state.commit([{ kind: 'sandbox', put: { ...cur, stoppedByUser: true, ...(cur.paused ? { paused: false } : {}) } }]);
    });
  }

  /** Docker's restart policies, with its backoff: 100 ms doubling, at most a minute. */
  private maybeRestart(id: string): void {
    const sbx = this.state.sandboxes.get(id);
    if (!sbx || sbx.state !== 'exited' || sbx.stoppedByUser || this.closed) return;
    const p = sbx.run.restartPolicy;
    const wanted = p.name === 'always' || p.name === 'unless-stopped'
      || (p.name === 'on-failure' && sbx.exitCode !== 0 && (p.maximumRetryCount === 0 || sbx.restartCount < p.maximumRetryCount));
    if (!wanted) return;
    const delay = Math.min(RESTART_BACKOFF_MS * 2 ** Math.min(sbx.restartCount, 20), RESTART_BACKOFF_MAX_MS);
    const t = setTimeout(() => {
      this.restartTimers.delete(id);
      void this.ctx.lock.run(async () => {
        const cur = this.state.sandboxes.get(id);
        if (!cur || cur.state !== 'exited' || cur.stoppedByUser || this.closed) return;
        const [next] = await this.state.commit([{ kind: 'sandbox', put: { ...cur, restartCount: cur.restartCount + 1, ...(cur.paused ? { paused: false } : {}) } }]);
        await startSandbox(this.ctx, next, (x) => this.onExit(x));
        this.fireStarted(id, true);
      }).catch((e: Error) => this.ctx.log.warn(`restart of ${shortId(id)}: ${e.message}`));
    }, delay);
    t.unref();
    this.restartTimers.set(id, t);
  }

  private onExit(id: string): void {
    void this.finishExit(id, true).catch((e) => this.ctx.log.error(`exit of ${shortId(id)}: ${(e as Error).message}`));
  }

  private finishExit(id: string, autoRemove: boolean): Promise<void> {
    return this.ctx.lock.run(async () => {
      const sbx = this.state.sandboxes.get(id);
      if (!sbx || sbx.state !== 'running') return;
      // The monitor's own end reports it, once the exit status is written.
      if (isAlive(sbx.pid, sbx.pidStart) || isAlive(sbx.monitorPid, sbx.monitorStart)) return;
      const errs = await cleanupExited(this.ctx, sbx);
      for (const e of errs) this.ctx.log.warn(`cleanup of ${sbx.name}: ${e.message}`);
      const ended = this.state.sandboxes.get(id) ?? sbx;
      // Docker's execDuration: whole seconds the process ran.
      const ran = Math.max(0, Math.floor((Date.parse(ended.finishedAt) - Date.parse(ended.startedAt)) / 1000));
      emitContainer(this.ctx.events, ended, 'die', { exitCode: String(ended.exitCode), execDuration: String(Number.isFinite(ran) ? ran : 0) });
      emitVolumeMounts(this.ctx.events, ended, 'unmount');
      this.wake(id, false, this.state.sandboxes.get(id)?.exitCode ?? 137);
      // cleanupExited stored a new record: the exited one is what gets removed.
      const done = this.state.sandboxes.get(id);
      if (autoRemove && done?.autoRemove) await this.removeRecord(done, true);
    }).then(async () => {
      this.maybeRestart(id);
      const sbx = this.state.sandboxes.get(id);
      if (!autoRemove && sbx?.autoRemove && sbx.state === 'exited') {
        await this.ctx.lock.run(() => this.removeRecord(sbx, true));
      }
    });
  }

  /** Processes started by an earlier daemon are not our children: poll them. */
  private pollAdopted(): void {
    for (const sbx of this.state.sandboxes.values()) {
      if (sbx.state === 'running' && !isAlive(sbx.pid, sbx.pidStart) && !isAlive(sbx.monitorPid, sbx.monitorStart)) this.onExit(sbx.id);
    }
  }

  // ---- volumes

  createVolume(req: CreateVolumeRequest): Promise<VolumeRecord> {
    return this.ctx.lock.run(() => createVolume(this.ctx, req));
  }

  removeVolume(name: string, force: boolean): Promise<void> {
    return this.ctx.lock.run(() => removeVolume(this.ctx, name, force));
  }

  pruneVolumes(f: VolumePruneFilter): Promise<{ names: string[]; bytes: number }> {
    return this.ctx.lock.run(async () => {
      const r = await pruneVolumes(this.ctx, f);
      this.ctx.events.emit('volume', 'prune', '', { reclaimed: String(r.bytes) });
      return r;
    });
  }

  netnsPath(sbx: SandboxRecord): string {
    return netnsPathOf(this.ctx, sbx);
  }

  /** Store vs kernel, read only (cnm doctor). */
  checkKernel(): Promise<KernelReport> {
    return this.ctx.lock.run(() => checkKernel(this.ctx));
  }
}
