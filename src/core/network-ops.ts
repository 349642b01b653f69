// Creating, removing and pruning networks.
import type { Ctx } from './context.ts';
import { conflict, forbidden, invalid, notFound } from '../model/errors.ts';
import { newId, rfc3339Nano, shortId } from '../model/ids.ts';
import type { NetworkRecord, SubnetConfig } from '../model/records.ts';
import type { NetworkDriver } from '../drivers/driver.ts';
import type { RemoteIpam } from '../drivers/remote/index.ts';
import { UndoStack } from './mutex.ts';
import { CLAIM_RETRIES, freeVni, lostClaim, nameTaken, requireCluster } from './global-scope.ts';
import { isRemoteIpam } from './remote-ipam.ts';
import { DHCP_IPAM, checkDhcpNetwork } from './dhcp-ipam.ts';

export interface CreateNetworkRequest {
  name: string;
  driver: string;
  scope?: string;
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  configOnly: boolean;
  configFrom: string;
  enableIPv4: boolean;
  enableIPv6: boolean;
  ipamDriver: string;
  ipamConfig: SubnetConfig[];
  ipamOptions: Record<string, string>;
  options: Record<string, string>;
  labels: Record<string, string>;
}

export const PREDEFINED = ['bridge', 'host', 'none'] as const;
const RESERVED = new Set(['bridge', 'host', 'none', 'default']);
/** Docker's rule for names of objects it creates. */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkNetworkName(name: string): void {
  if (!name || !name.trim()) throw invalid('network name is required: expected a non-empty name');
  if (!NAME_RE.test(name)) {
    throw invalid(`invalid network name "${name}": expected letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
}

export async function createNetwork(ctx: Ctx, req: CreateNetworkRequest, predefined = false): Promise<NetworkRecord> {
  if (!predefined) {
    checkNetworkName(req.name);
    if (RESERVED.has(req.name)) throw forbidden(`operation is not permitted on predefined ${req.name} network`);
  }
  if ([...ctx.state.networks.values()].some((n) => n.name === req.name)) {
    throw conflict(`network with name ${req.name} already exists`);
  }
  const driver = ctx.drivers.get(req.driver);
  if (driver.capabilities.singleton && [...ctx.state.networks.values()].some((n) => n.driver === req.driver)) {
    throw forbidden(`only one instance of "${req.driver}" network is allowed`);
  }
  // 'dhcp' is built in; any other name but 'default' is an IPAM plugin (404 when none has it).
  const remoteIpam = isRemoteIpam(req.ipamDriver) ? ctx.drivers.ipam(req.ipamDriver) : null;
  if (req.ipamDriver === DHCP_IPAM) checkDhcpNetwork(req);
  else if (!remoteIpam && req.ipamDriver !== 'default') throw notFound(`plugin "${req.ipamDriver}" not found`);
  // Global scope lives in the cluster store: overlay always (it needs one),
  // a global-scope plugin's networks when the daemon has one.
  const scope = driver.capabilities.scope;
  const global = scope === 'global' && (req.driver === 'overlay' || !!ctx.cluster);
  if (req.scope && req.scope !== scope && !(scope === 'global' && req.scope === 'swarm')) {
    throw invalid(`invalid scope "${req.scope}": expected "${scope}"`);
  }
  // Global (overlay): the cluster store must answer now (fail fast, docs/overlay.md).
  if (global) await requireCluster(ctx, `create network ${req.name}`);
  if (req.configFrom) throw invalid('config-from networks are not supported: expected no ConfigFrom');
  if (req.ingress) throw forbidden('ingress networks need swarm mode, which cnm does not provide');

  const net: NetworkRecord = {
    id: newId(),
    name: req.name,
    driver: req.driver,
    created: rfc3339Nano(),
    scope: global ? 'global' : 'local',
    internal: req.internal,
    attachable: req.attachable,
    ingress: false,
    enableIPv4: req.enableIPv4,
    enableIPv6: req.enableIPv6,
    ipamDriver: remoteIpam || req.ipamDriver === DHCP_IPAM ? req.ipamDriver : 'default',
    ipamOptions: req.ipamOptions,
    ipamConfigRequested: req.ipamConfig,
    options: req.options,
    labels: req.labels,
    predefined,
    driverState: {},
  };
  if (driver.implicitInternal?.(net)) net.internal = true;
  const plan = (): Promise<void> => planNetwork(ctx, driver, net, req, remoteIpam, global);

  // The record goes to the store first: whatever the kernel then gets is
  // known, so a crash at any point leaves nothing that a restart cannot find.
  const undo = new UndoStack();
  // What the user chose is not retried with another value.
  const asked = { subnet: req.ipamConfig.some((c) => c.subnet), vni: !!req.options['com.docker.network.driver.overlay.vxlanid_list'] };
  for (let attempt = 0; ; attempt++) {
    await plan();
    if (attempt === 0 && remoteIpam && net.ipamState) undo.push('IPAM pools', () => remoteIpam.releasePools(net));
    try {
      await ctx.state.commit([{ kind: 'network', put: net }]);
      break;
    } catch (e) {
      // Another host took the name, or an auto-chosen subnet or VNI first:
      // the conflict reloaded what it took, so planning again avoids it.
      if (global) {
        const taken = nameTaken(e, net);
        if (taken) throw taken;
        const retry = (lostClaim(e, 'subnet') && !asked.subnet) || (lostClaim(e, 'VXLAN id') && !asked.vni);
        if (retry && attempt < CLAIM_RETRIES) {
          net.driverState = {};
          delete net.ipv4;
          delete net.ipv6;
          continue;
        }
      }
      throw e;
    }
  }
  undo.push('store record', () => ctx.state.commit([{ kind: 'network', del: net.id }]));
  try {
    if (driver.capabilities.endpoints) ctx.ipam.open(net);
    undo.push('allocators', () => ctx.ipam.close(net.id));
    const t0 = performance.now();
    await driver.createNetwork(ctx.driverCtx, net, { fresh: true });
    undo.push('kernel objects', () => driver.deleteNetwork(ctx.driverCtx, net));
    const t1 = performance.now();
    await ctx.hooks.networkAdded(net);
    ctx.log.debug('network setup', { name: net.name, kernel_ms: (t1 - t0).toFixed(2), observers_ms: (performance.now() - t1).toFixed(2) });
  } catch (e) {
    const errs = await undo.unwind();
    for (const u of errs) ctx.log.error(u.message);
    throw e;
  }
  ctx.events.emit('network', 'create', net.id, { name: net.name, type: net.driver });
  ctx.log.info('network created', { id: shortId(net.id), name: net.name, driver: net.driver });
  return net;
}

/**
 * Fills a new network's addresses and driver state: its pools from the IPAM
 * its driver uses (cnm's, a plugin's, none for drivers whose join gives the
 * addresses or for dhcp), the driver's checks, and an overlay's VXLAN id.
 * Runs again when another host took an auto-chosen value first.
 */
async function planNetwork(ctx: Ctx, driver: NetworkDriver, net: NetworkRecord, req: CreateNetworkRequest, remoteIpam: RemoteIpam | null, global: boolean): Promise<void> {
  const others = [...ctx.state.networks.values()];
  // A driver whose join gives the addresses (cni) has no pool, from cnm or a plugin.
  const ownAddresses = driver.capabilities.addressesFromJoin === true;
  if (ownAddresses && (req.ipamConfig.length || remoteIpam)) {
    throw invalid(`the ${req.driver} driver takes no IPAM configuration: its addresses come from the driver (a CNI conflist's ipam section)`);
  }
  if (driver.capabilities.endpoints && !req.configOnly && remoteIpam) {
    // libnetwork asks the IPAM plugin before the network driver sees the network.
    const taken = others.flatMap((o) => [o.ipv4?.subnet, o.ipv6?.subnet]).filter((s): s is string => !!s);
    const got = await remoteIpam.requestPools(net, req.ipamConfig, taken);
    Object.assign(net, { ipamState: got.state }, got.ipv4 ? { ipv4: got.ipv4 } : {}, got.ipv6 ? { ipv6: got.ipv6 } : {});
  } else if (driver.capabilities.endpoints && !req.configOnly && net.ipamDriver !== DHCP_IPAM && !ownAddresses) {
    // A dhcp network has no subnet here: each endpoint's address is leased at join.
    ctx.ipam.planNetwork(net, req.ipamConfig, others);
  } else if (req.ipamConfig.length && !driver.capabilities.endpoints) {
    throw invalid(`the ${req.driver} driver takes no IPAM configuration`);
  }
  try {
    net.driverState = await driver.validateNetwork(net, others, ctx.driverCtx);
  } catch (e) {
    await remoteIpam?.releasePools(net).catch((u: unknown) => ctx.log.error(`undo IPAM pools of ${net.name}: ${(u as Error).message}`));
    throw e;
  }
  // A plugin says its scope (GetCapabilities); built-in drivers are local.
  net.scope = driver.capabilities.scope;
  // One VXLAN id per overlay network, claimed with it (State: claims/vni/<n>).
  if (global && req.driver === 'overlay' && !net.driverState.vni) net.driverState = { ...net.driverState, vni: freeVni(ctx) };
}

export async function removeNetwork(ctx: Ctx, ref: string): Promise<void> {
  const net = ctx.state.findNetwork(ref);
  if (net.predefined) throw forbidden(`${net.name} is a pre-defined network and cannot be removed`);
  const eps = ctx.state.endpointsOn(net.id);
  if (eps.length) {
    const list = eps.map((e) => `name:"${e.name}" id:"${shortId(e.sandboxId)}"`).join(', ');
    throw forbidden(`error while removing network: network ${net.name} has active endpoints (${list})`);
  }
  const driver = ctx.drivers.get(net.driver);
  if (net.scope === 'global') await requireCluster(ctx, `remove network ${net.name}`);
  await ctx.hooks.networkRemoved(net);
  try {
    await driver.deleteNetwork(ctx.driverCtx, net);
    await ctx.state.commit([{ kind: 'network', del: net.id }]);
  } catch (e) {
    // The record stays, so the network must stay whole: its kernel objects
    // (create is idempotent) and its firewall rules and DNS listener.
    try {
      await driver.createNetwork(ctx.driverCtx, net);
      await ctx.hooks.networkAdded(net);
    } catch (u) {
      ctx.log.error(`undo network rm of ${net.name}: ${(u as Error).message}`);
    }
    throw e;
  }
  ctx.ipam.close(net.id);
  if (isRemoteIpam(net.ipamDriver)) {
    // As libnetwork: after the driver's DeleteNetwork; the record is gone, so a failure is logged.
    try {
      await ctx.drivers.ipam(net.ipamDriver).releasePools(net);
    } catch (e) {
      ctx.log.error(`IPAM release of ${net.name}: ${(e as Error).message}`);
    }
  }
  ctx.events.emit('network', 'destroy', net.id, { name: net.name, type: net.driver });
  ctx.log.info('network removed', { id: shortId(net.id), name: net.name });
}

export interface PruneFilter { until?: number; label: string[]; labelNot: string[] }

export function labelMatches(labels: Record<string, string>, expr: string): boolean {
  const i = expr.indexOf('=');
  if (i < 0) return Object.hasOwn(labels, expr);
  return labels[expr.slice(0, i)] === expr.slice(i + 1);
}

/** Removes unused user-defined networks; returns their names. */
export async function pruneNetworks(ctx: Ctx, f: PruneFilter): Promise<string[]> {
  const removed: string[] = [];
  for (const net of [...ctx.state.networks.values()]) {
    if (net.predefined) continue;
    if (ctx.state.endpointsOn(net.id).length) continue;
    if (f.until !== undefined && Date.parse(net.created) >= f.until) continue;
    if (!f.label.every((l) => labelMatches(net.labels, l))) continue;
    if (f.labelNot.some((l) => labelMatches(net.labels, l))) continue;
    await removeNetwork(ctx, net.id);
    removed.push(net.name);
  }
  return removed;
}
