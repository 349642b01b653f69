// Creating, removing and pruning networks.
import type { Ctx } from './context.ts';
import { conflict, forbidden, invalid, notFound } from '../model/errors.ts';
import { newId, rfc3339Nano, shortId } from '../model/ids.ts';
import type { NetworkRecord, SubnetConfig } from '../model/records.ts';
import { UndoStack } from './mutex.ts';
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
  if (req.ipamDriver === DHCP_IPAM) checkDhcpNetwork(req);
  else if (req.ipamDriver !== 'default') throw notFound(`plugin "${req.ipamDriver}" not found`);
  if (req.scope && req.scope !== 'local') throw invalid(`invalid scope "${req.scope}": expected "local"`);
  if (req.configFrom) throw invalid('config-from networks are not supported: expected no ConfigFrom');
  if (req.ingress) throw forbidden('ingress networks need swarm mode, which cnm does not provide');

  const net: NetworkRecord = {
    id: newId(),
    name: req.name,
    driver: req.driver,
    created: rfc3339Nano(),
    scope: 'local',
    internal: req.internal,
    attachable: req.attachable,
    ingress: false,
    enableIPv4: req.enableIPv4,
    enableIPv6: req.enableIPv6,
    ipamDriver: req.ipamDriver === DHCP_IPAM ? DHCP_IPAM : 'default',
    ipamOptions: req.ipamOptions,
    ipamConfigRequested: req.ipamConfig,
    options: req.options,
    labels: req.labels,
    predefined,
    driverState: {},
  };
  if (driver.implicitInternal?.(net)) net.internal = true;
  const others = [...ctx.state.networks.values()];
  // A dhcp network has no subnet here: each endpoint's address is leased at
  // join; nor has a driver whose join gives the addresses (cni).
  const ownAddresses = driver.capabilities.addressesFromJoin === true;
  if (driver.capabilities.endpoints && !req.configOnly && net.ipamDriver !== DHCP_IPAM && !ownAddresses) ctx.ipam.planNetwork(net, req.ipamConfig, others);
  else if (req.ipamConfig.length && (!driver.capabilities.endpoints || ownAddresses)) {
    throw invalid(`the ${req.driver} driver takes no IPAM configuration${ownAddresses ? ': its addresses come from the driver (a CNI conflist\'s ipam section)' : ''}`);
  }
  net.driverState = await driver.validateNetwork(net, others);

  // The record goes to the store first: whatever the kernel then gets is
  // known, so a crash at any point leaves nothing that a restart cannot find.
  const undo = new UndoStack();
  await ctx.state.commit([{ kind: 'network', put: net }]);
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

export async function removeNetwork(ctx: Ctx, ref: string): Promise<void> {
  const net = ctx.state.findNetwork(ref);
  if (net.predefined) throw forbidden(`${net.name} is a pre-defined network and cannot be removed`);
  const eps = ctx.state.endpointsOn(net.id);
  if (eps.length) {
    const list = eps.map((e) => `name:"${e.name}" id:"${shortId(e.sandboxId)}"`).join(', ');
    throw forbidden(`error while removing network: network ${net.name} has active endpoints (${list})`);
  }
  const driver = ctx.drivers.get(net.driver);
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
