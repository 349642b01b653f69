// The daemon's composition root: store, kernel handle, drivers, observers,
// controller and API server, wired once here.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { findRuntimeBinary, RuncRuntime } from '../runtime/runc.ts';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { attachRoutes } from '../api/handlers/attach.ts';
import { containerRoutes } from '../api/handlers/containers.ts';
import { execRoutes } from '../api/handlers/exec.ts';
import { containerOpsRoutes } from '../api/handlers/container-ops.ts';
import { eventRoutes } from '../api/handlers/events.ts';
import { imageRoutes } from '../api/handlers/images.ts';
import { volumeRoutes } from '../api/handlers/volumes.ts';
import { archiveRoutes } from '../api/handlers/archive.ts';
import { ImageService } from '../core/image-service.ts';
import type { ImageUser } from '../core/image-service.ts';
import { ImageStore } from '../images/index.ts';
import { networkRoutes } from '../api/handlers/networks.ts';
import { CNM_VERSION, systemRoutes } from '../api/handlers/system.ts';
import { doctorRoutes } from '../api/handlers/doctor.ts';
import { unimplementedRoutes } from '../api/handlers/unimplemented.ts';
import { Router } from '../api/router.ts';
import { createApiServer, endStreams, listenUnix, socketAnswers } from '../api/server.ts';
import { socketPathOf } from '../client/client.ts';
import type { Logger } from '../core/context.ts';
import { Controller } from '../core/controller.ts';
import { CnmError } from '../model/errors.ts';
import { key } from '../core/state.ts';
import type { NetworkRecord, SandboxRecord } from '../model/records.ts';
import type { ControllerHooks } from '../core/hooks.ts';
import type { PoolFlag } from '../core/ipam.ts';
import { DriverRegistry } from '../drivers/registry.ts';
import { Plugins } from '../drivers/remote/index.ts';
import { CNI_OPT, DEFAULT_CNI_BIN_DIR, DEFAULT_CNI_TIMEOUT_MS, cniDriver } from '../drivers/cni/driver.ts';
import { confDirNetworks } from '../drivers/cni/conf-dir.ts';
import { Netns } from '../netlink/index.ts';
import { openStore } from '../store/index.ts';
import { createResolver } from '../dns/index.ts';
import { dnsHooks, kernelSandboxSockets } from './dns-hooks.ts';
import { daemonDhcp } from './dhcp-service.ts';
import type { DaemonDhcp } from './dhcp-service.ts';
import { firewallHooks } from './firewall-hooks.ts';
import { dhcpHooks, sweepLeases } from './dhcp-hooks.ts';
import { NftFirewall } from '../firewall/index.ts';
import type { Store } from '../store/index.ts';
import { claimExecRoot, dataInstanceId, describeForeign, execRootState } from './instance.ts';
import { acquireNetnsLock } from './netns-lock.ts';
import type { NetnsLock } from './netns-lock.ts';
import { hostname } from 'node:os';
import { startCluster } from '../cluster/start.ts';
import type { ClusterFlags } from '../cluster/config.ts';

export interface DaemonOptions {
  host: string;
  dataRoot: string;
  execRoot: string;
  pools: PoolFlag[] | null;
  dns: string[];
  log: Logger;
  resolvConfPath?: string;
  /** The embedded DNS's port (53). */
  dnsPort?: number;
  /**
   * Remove cnm-owned state that no record of this daemon names (namespace
   * files in the exec root, elements of cnm's nftables tables) instead of
   * refusing to start or leaving it alone.
   */
  cleanOrphans?: boolean;
  /** OCI runtime: a name looked up in PATH (runc, crun) or a path. */
  runtime?: string;
  /** Registries pulled from over plain HTTP besides loopback ones (--insecure-registry). */
  insecureRegistries?: string[];
  /** --cluster-store, --cluster-store-opt, --cluster-advertise: overlay networks across hosts. */
  cluster?: ClusterFlags;
  /** Where legacy plugins are looked for (Docker's three directories when empty). */
  pluginDirs?: string[];
  /** How long one plugin call may take and a connection is retried (ms; Docker: 30 s). */
  pluginTimeoutMs?: number;
  /** The cni driver: plugin directories, a conflist directory exposed as networks, the per-call timeout. */
  cni?: { binDirs?: string[]; confDir?: string; timeoutMs?: number };
}

/** cnm's monitor (and sandbox init), built from src/native/monitor. */
const MONITOR = fileURLToPath(new URL('../../build/cnm-monitor', import.meta.url));

export interface Daemon {
  controller: Controller;
  firewall: NftFirewall;
  server: Server;
  store: Store;
  /** This daemon's instance id (data root, exec root, nft tables' comment). */
  instance: string;
  close(): Promise<void>;
}

/** The conflists of --cni-conf-dir that are not networks yet become networks (src/drivers/cni/conf-dir.ts). */
async function addConfDirNetworks(controller: Controller, dir: string, log: Logger): Promise<void> {
  for (const c of confDirNetworks(dir, [...controller.state.networks.values()], (m) => log.warn(m))) {
    try {
      await controller.createNetwork({
        name: c.name, driver: 'cni', internal: false, attachable: true, ingress: false, configOnly: false, configFrom: '',
        enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamConfig: [], ipamOptions: {},
        options: { [CNI_OPT.conflist]: c.path }, labels: {},
      });
      log.info('cni: network from conflist', { name: c.name, path: c.path });
    } catch (e) {
      log.warn(`cni: ${c.path}: ${(e as Error).message}; skipped`);
    }
  }
}

/** A stable host id (IPv6 ULA prefixes are derived from it). */
async function hostId(dataRoot: string): Promise<string> {
  const p = join(dataRoot, 'host-id');
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch {
    const id = randomBytes(16).toString('hex');
    await writeFile(p, `${id}\n`);
    return id;
  }
}

/** Records in the store before the controller loads it (read only). */
async function storedRecords(store: Store, drivers: DriverRegistry): Promise<{ bridges: Set<string>; netns: string[] }> {
  const nets = (await store.list(key.network(''))).kvs;
  // Networks of plugin drivers stay usable when the plugin starts after the daemon.
  for (const kv of nets) drivers.adopt((JSON.parse(kv.value) as NetworkRecord).driver);
  const sbxs = (await store.list(key.sandbox(''))).kvs;
  // The bridges cnm's firewall tables name: what each driver tells the firewall.
  const bridgeOf = (n: NetworkRecord): string | undefined => {
    try { return drivers.get(n.driver).firewall?.(n)?.bridge; } catch { return undefined; }
  };
  return {
    bridges: new Set(nets.map((kv) => bridgeOf(JSON.parse(kv.value) as NetworkRecord)).filter((b): b is string => !!b)),
    netns: sbxs.map((kv) => (JSON.parse(kv.value) as SandboxRecord).netnsPath).filter(Boolean),
  };
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const started = performance.now();
  const socketPath = socketPathOf(o.host);
  // Refused before anything is touched: a live daemon on the same socket or
  // in the same network namespace.
  if (await socketAnswers(socketPath)) {
    throw new CnmError('CONFLICT', `${socketPath} is in use: another daemon is listening on it; stop it first or choose another socket with -H`);
  }
  await mkdir(o.dataRoot, { recursive: true, mode: 0o700 });
  await mkdir(o.execRoot, { recursive: true, mode: 0o700 });
  const lock: NetnsLock = await acquireNetnsLock({ pid: process.pid, host: o.host, dataRoot: o.dataRoot, execRoot: o.execRoot });
  const undo: (() => Promise<unknown> | unknown)[] = [() => lock.release()];
  try {
    return await startLocked(o, started, socketPath, lock, undo);
  } catch (e) {
    for (const u of undo.reverse()) await Promise.resolve().then(u).catch(() => undefined);
    throw e;
  }
}

async function startLocked(o: DaemonOptions, started: number, socketPath: string, lock: NetnsLock, undo: (() => Promise<unknown> | unknown)[]): Promise<Daemon> {
  if (!existsSync(MONITOR)) throw new Error(`${MONITOR} is missing: run npm ci (or npm run build:native) first`);
  const runtime = new RuncRuntime({ binary: findRuntimeBinary(o.runtime ?? 'runc'), root: join(o.execRoot, 'runtime'), monitor: MONITOR });
  if (runtime.name === 'crun' && existsSync('/sys/fs/cgroup/unified') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    o.log.warn('crun runs no container on this host\'s hybrid cgroup layout (cgroup v1 with a v2 hierarchy beside it): containers will fail to start; use runc here, or crun on a cgroup v2 host');
  }
  const store = await openStore({ kind: 'sqlite', path: join(o.dataRoot, 'cnm.db') });
  undo.push(() => store.close());
  const instance = await dataInstanceId(o.dataRoot);
  const drivers = new DriverRegistry(undefined, new Plugins({
    ...(o.pluginDirs?.length ? { dirs: o.pluginDirs } : {}),
    ...(o.pluginTimeoutMs ? { timeoutMs: o.pluginTimeoutMs } : {}),
  }));
  drivers.register(cniDriver({
    binDirs: o.cni?.binDirs?.length ? o.cni.binDirs : [DEFAULT_CNI_BIN_DIR],
    cacheDir: join(o.dataRoot, 'cni'),
    timeoutMs: o.cni?.timeoutMs ?? DEFAULT_CNI_TIMEOUT_MS,
    onChain: (what, st) => o.log.debug('cni chain', { what, calls: st.calls, plugin_ms: st.pluginMs.toFixed(2), cnm_ms: (st.totalMs - st.pluginMs).toFixed(2) }),
  }));
  const known = await storedRecords(store, drivers);
  const firewall = new NftFirewall({
    nsPath: `/proc/${process.pid}/ns/net`,
    instance,
    onRepair: (i) => o.log.warn('firewall: rules were changed behind cnm\'s back; restored', { reason: i.reason ?? '', error: i.error ? String(i.error) : '' }),
  });
  undo.push(() => firewall.close());
  await checkFirewallOwner(firewall, instance, known.bridges, o);
  const exec = await execRootState(o.execRoot, instance, known.netns);
  const foreign = describeForeign(o.execRoot, instance, exec);
  if (foreign.length && o.cleanOrphans) {
    o.log.warn(`--clean-orphans: removing what the exec root holds for no record of this daemon: ${foreign.join('; ')}`);
  } else if (foreign.length) {
    o.log.error(`foreign cnm state: ${foreign.join('; ')}. cnm leaves it alone (cnm doctor lists it); `
      + 'remove it with `cnm daemon --clean-orphans` or, with no daemon running, `cnm cleanup`');
  }
  const keepUnknownNamespaces = !exec.ours && !o.cleanOrphans;
  if (!keepUnknownNamespaces) await claimExecRoot(o.execRoot, instance);
  const hostNs = await Netns.open('/proc/self/ns/net');
  undo.push(() => hostNs.close());
  const dns = createResolver({ resolvConfPath: o.resolvConfPath ?? '/etc/resolv.conf', ...(o.dnsPort ? { port: o.dnsPort } : {}) });
  undo.push(() => dns.close());
  if (o.dns.length) dns.upstreams.setDaemonServers(o.dns);
  const fwHooks = firewallHooks(firewall, drivers, o.log, dns.server.port);
  // The DHCP servers take leases from the controller's IPAM (made below).
  const dhcpServers = dhcpHooks({ store, ns: hostNs, ipam: () => controller.ctx.ipam, dns, log: o.log });
  undo.push(() => dhcpServers.close());
  const hooks: ControllerHooks[] = [fwHooks, dnsHooks(dns, drivers, o.log, kernelSandboxSockets), dhcpServers];
  const hid = await hostId(o.dataRoot);
  // The cluster (if any) first: State reads global records from it at load.
  const cluster = o.cluster ? await startCluster(o.cluster, { hostNs, local: store, nodeId: hid, hostname: hostname(), version: CNM_VERSION, dataRoot: o.dataRoot, log: o.log }) : null;
  if (cluster) undo.push(() => cluster.close());
  const imageStore = await ImageStore.open(o.dataRoot);
  undo.push(() => imageStore.close());
  // The image service asks the controller (made next) which containers use an image.
  const images: ImageService = new ImageService({
    store: imageStore,
    usersOf: (id): ImageUser[] => [...controller.state.sandboxes.values()].filter((s) => s.imageId === id).map((s) => ({ id: s.id, running: s.state === 'running' })),
    insecureRegistries: o.insecureRegistries ?? [],
    log: o.log,
    onEvent: (action, id, attributes) => controller.ctx.events.emit('image', action, id, attributes),
  });
  // The DHCP client's lease keeper reports renewals and expiries to the controller (made next).
  const dhcp = daemonDhcp({ log: o.log, onLease: (id, lease) => controller.recordDhcpLease(id, lease), statePath: join(o.dataRoot, 'dhcp-addresses.json') });
  undo.push(() => dhcp.close());
  const controller: Controller = new Controller({
    images,
    dhcp,
    store,
    hostNs,
    drivers,
    execRoot: o.execRoot,
    dataRoot: o.dataRoot,
    pools: o.pools,
    hooks,
    log: o.log,
    hostId: hid,
    keepUnknownNamespaces,
    ...(cluster ? { global: cluster.global } : {}),
    // CNM_REAP_DELAY_MS: how long doomed links wait (tests hold them to look).
    ...(process.env.CNM_REAP_DELAY_MS ? { reaper: { quietMs: Number(process.env.CNM_REAP_DELAY_MS), maxDelayMs: Number(process.env.CNM_REAP_DELAY_MS) } } : {}),
    runtime,
    hiddenPaths: [socketPathOf(o.host)],
    ...(o.resolvConfPath ? { resolvConfPath: o.resolvConfPath } : {}),
  });
  cluster?.bind(controller.ctx);
  const initStart = performance.now();
  await controller.init();
  const initMs = performance.now() - initStart;
  const staleLeases = await sweepLeases(store, new Set(controller.state.networks.keys()));
  if (staleLeases) o.log.info(`dhcp: dropped ${staleLeases} lease(s) of networks that no longer exist`);
  undo.push(() => controller.close());
  await resumeLeases(controller, dhcp, o.log);
  if (o.cni?.confDir) await addConfDirNetworks(controller, o.cni.confDir, o.log);
  // Remote endpoints' names into the DNS, their MAC/IP/VTEP into the overlay data plane.
  if (cluster) await cluster.follow(controller.ctx, dns.table, firewall);
  const fwStart = performance.now();
  await fwHooks.start();
  const firewallMs = performance.now() - fwStart;
  const foreignNow = async (): Promise<string[]> => {
    const s = await execRootState(o.execRoot, instance, [...controller.state.sandboxes.values()].map((x) => x.netnsPath).filter(Boolean));
    return describeForeign(o.execRoot, instance, s);
  };
  const router = new Router()
    .add(systemRoutes(controller, { name: 'cnm', dataRoot: o.dataRoot, id: instance, images: () => images.store.list().length, ...(cluster ? { cluster: () => cluster.cluster.status() } : {}) }))
    .add(networkRoutes(controller))
    .add(containerRoutes(controller))
    .add(containerOpsRoutes(controller))
    .add(eventRoutes(controller.ctx.events))
    .add(imageRoutes(controller, images))
    .add(volumeRoutes(controller))
    .add(archiveRoutes(controller))
    .add(execRoutes(controller))
    .add(attachRoutes(controller))
    .add(doctorRoutes(controller, firewall, foreignNow, cluster ? () => cluster.cluster.status() : undefined))
    .add(unimplementedRoutes());
  const server = createApiServer(router, o.log, () => store.sync());
  await listenUnix(server, socketPath);
  o.log.info('daemon ready', {
    host: o.host,
    instance,
    networks: controller.state.networks.size,
    endpoints: controller.state.endpoints.size,
    startup_ms: Math.round(performance.now() - started),
    before_init_ms: Math.round(initStart - started),
    init_ms: Math.round(initMs),
    firewall_ms: Math.round(firewallMs),
  });
  return {
    controller,
    firewall,
    server,
    store,
    instance,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Streams (events, logs -f, stats) would hold the close forever.
      endStreams(server);
      await closed;
      server.closeAllConnections();
      // Timers stop, leases stay with the server: the next daemon resumes them.
      dhcp.close();
      await controller.close();
      await cluster?.close();
      await dhcpServers.close();
      await firewall.close();
      await dns.close();
      imageStore.close();
      hostNs.close();
      await store.close();
      await lock.release();
    },
  };
}

/**
 * The DHCP leases recorded with endpoints of running sandboxes: their
 * timers carry on from where each lease stands (the restart did no DORA);
 * one that ran out meanwhile is taken off its interface by the keeper.
 */
async function resumeLeases(controller: Controller, dhcp: DaemonDhcp, log: Logger): Promise<void> {
  for (const ep of controller.state.endpoints.values()) {
    const sbx = controller.state.sandboxes.get(ep.sandboxId);
    if (!ep.dhcpLease || !sbx?.netnsPath || sbx.state !== 'running') continue;
    await dhcp.resume(ep, sbx.netnsPath).catch((e: Error) => log.warn(`DHCP: cannot resume the lease of ${ep.dhcpLease?.address}: ${e.message}`, { endpoint: ep.id }));
  }
}

/**
 * cnm's nftables tables already name bridges this daemon's store does not
 * know: another instance's, or one whose data root was deleted. Writing
 * the tables would drop their rules, so unless the operator asked for it
 * (--clean-orphans) the daemon refuses to start and says why.
 */
async function checkFirewallOwner(fw: NftFirewall, instance: string, known: Set<string>, o: DaemonOptions): Promise<void> {
  const t = await fw.inspectTables();
  const unknown = t.bridges.map((b) => b.replace(/^"|"$/g, '')).filter((b) => !known.has(b));
  if (!unknown.length) return;
  const whose = t.instance && t.instance !== instance ? `cnm instance ${t.instance} (this daemon is ${instance})` : 'a cnm instance whose records this daemon does not have (was its data root deleted?)';
  const what = `cnm's nftables tables in this namespace hold rules for ${unknown.length} network bridge(s) this daemon does not know (${unknown.join(', ')}), written by ${whose}`;
  if (o.cleanOrphans) {
    o.log.warn(`--clean-orphans: ${what}; replacing them`);
    return;
  }
  throw new CnmError('CONFLICT', `${what}. Nothing was changed. Remove that state with \`cnm cleanup\` (no daemon running) `
    + 'or start with --clean-orphans, or start this daemon in another network namespace');
}
