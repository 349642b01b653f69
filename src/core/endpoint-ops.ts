// Endpoints: attaching a running sandbox to a network and detaching it, the
// default route that follows, and the sandbox files that list its addresses.
import { join } from 'node:path';
import { hostIfNameFor } from '../drivers/bridge/driver.ts';
import { parseBridgeOptions } from '../drivers/bridge/options.ts';
import { dnsNameProblem, parseExtraHost, parseResolvConf, quoteValue, renderHosts, renderResolvConf } from '../dns/index.ts';
import { writeInPlace } from '../sandbox/files.ts';
import type { Netns } from '../netlink/index.ts';
import type { Ctx } from './context.ts';
import type { Change } from './state.ts';
import { invalid } from './errors.ts';
import { chooseGateway } from './gateway.ts';
import { newId, randomMac } from './ids.ts';
import type { AttachmentConfig, EndpointRecord, NetworkRecord, SandboxRecord } from './model.ts';
import { UndoStack } from './mutex.ts';

export const runDirOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.execRoot, 'sandboxes', sbx.id);

function ifacePrefix(net: NetworkRecord): string {
  if (net.driver !== 'bridge') return net.options['com.docker.network.container_iface_prefix'] ?? 'eth';
  return parseBridgeOptions(net, net.driverState.bridge ?? '').ifacePrefix;
}

/** The lowest free ethN (or <prefix>N) inside the sandbox. */
function pickIfName(used: string[], prefix: string): string {
  for (let i = 0; ; i++) {
    const n = `${prefix}${i}`;
    if (!used.includes(n)) return n;
  }
}

/** Static addresses and aliases are for user-defined networks only (Docker). */
export function checkAttachment(net: NetworkRecord, att: AttachmentConfig): void {
  if (net.predefined && net.driver === 'bridge') {
    if (att.ipv4Address || att.ipv6Address) throw invalid('user specified IP address is supported on user defined networks only');
    if (att.aliases.length) throw invalid('network-scoped alias is supported only for containers in user defined networks');
  }
  if (att.macAddress) checkMac(att.macAddress);
  for (const a of att.aliases) {
    // Aliases are names in the embedded DNS: one it refuses would fail the
    // attach after the kernel and the firewall had been changed.
    const bad = dnsNameProblem(a);
    if (bad) throw invalid(`invalid Aliases entry ${quoteValue(a)}: ${bad}`);
  }
  if (att.ipv4Address && !net.ipv4) throw invalid(`no configured subnet contains IP address ${att.ipv4Address}`);
  if (att.ipv6Address && !net.ipv6) throw invalid(`no configured subnet contains IP address ${att.ipv6Address}`);
}

function checkMac(mac: string): void {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) {
    throw invalid(`invalid MacAddress ${quoteValue(mac)}: expected six colon-separated hex bytes`);
  }
  const first = parseInt(mac.slice(0, 2), 16);
  // The I/G bit (the lowest bit of the first byte) marks a group address;
  // the kernel refuses one, and the all-zero address, on an interface.
  if (first & 1) throw invalid(`invalid MacAddress ${quoteValue(mac)}: a multicast address (the first byte is odd); expected a unicast MAC`);
  if (/^(00:){5}00$/.test(mac)) throw invalid(`invalid MacAddress ${quoteValue(mac)}: the all-zero address; expected a unicast MAC`);
}

/**
 * Creates the endpoint of a running sandbox on one network. `also` is
 * written in the same store transaction as the endpoint record.
 */
export async function attach(ctx: Ctx, sbx: SandboxRecord, att: AttachmentConfig, sbxNs: Netns, also: Change[] = []): Promise<EndpointRecord> {
  const net = ctx.state.networks.get(att.networkId);
  if (!net) throw invalid(`network ${att.networkId} not found`);
  const driver = ctx.drivers.get(net.driver);
  if (!driver.capabilities.endpoints) throw invalid(`network ${net.name} gives no endpoints`);
  checkAttachment(net, att);
  const used = ctx.state.endpointsOf(sbx.id).map((e) => e.ifName);
  const id = newId();
  const undo = new UndoStack();
  try {
    const ep: EndpointRecord = {
      id,
      name: sbx.name,
      networkId: net.id,
      sandboxId: sbx.id,
      ifName: pickIfName(used, ifacePrefix(net)),
      hostIfName: hostIfNameFor(id),
      mac: att.macAddress?.toLowerCase() || randomMac(),
      aliases: att.aliases,
      gwPriority: att.gwPriority,
      created: Date.now() * 1000 + used.length,
      ports: [],
    };
    // Published ports go on the sandbox's first endpoint (eth0), as with
    // Docker's default network; their host ports are chosen now, so a clash
    // fails the call before anything changes.
    if (used.length === 0 && sbx.ports.length && driver.capabilities.dns && !net.internal) {
      const dflt = net.options['com.docker.network.bridge.host_binding_ipv4'] ?? '';
      ep.ports = ctx.ports.allocateAll(sbx.ports.map((p) => ({
        hostIp: p.hostIp || (dflt && dflt !== '0.0.0.0' ? dflt : ''),
        hostPortStart: p.hostPort,
        hostPortEnd: p.hostPortEnd ?? p.hostPort,
        containerPort: p.containerPort,
        proto: p.proto,
      })));
      undo.push('host ports', () => ctx.ports.releaseAll(ep.ports));
    }
    if (net.ipv4) {
      ep.ipv4 = ctx.ipam.allocate(net, 4, att.ipv4Address);
      undo.push('IPv4 address', () => ctx.ipam.release(net, ep.ipv4));
    }
    if (net.ipv6) {
      ep.ipv6 = ctx.ipam.allocate(net, 6, att.ipv6Address);
      undo.push('IPv6 address', () => ctx.ipam.release(net, ep.ipv6));
    }
    const t0 = performance.now();
    await ctx.state.commit([{ kind: 'endpoint', put: ep }, ...also]);
    undo.push('store record', () => ctx.state.commit([{ kind: 'endpoint', del: ep.id }]));
    const t1 = performance.now();
    // The kernel objects and the observers (firewall set elements keyed by
    // interface name, DNS names) do not depend on each other: both at once.
    const [joined, observed] = await Promise.allSettled([
      driver.join(ctx.driverCtx, net, ep, sbxNs, { fresh: true }),
      ctx.hooks.endpointAdded(ep, net, sbx),
    ]);
    undo.push('kernel objects', () => driver.leave(ctx.driverCtx, net, ep, sbxNs));
    if (observed.status === 'fulfilled') undo.push('observers', () => ctx.hooks.endpointRemoved(ep, net, sbx));
    if (joined.status === 'rejected') throw joined.reason;
    if (observed.status === 'rejected') throw observed.reason;
    ctx.log.debug('attach', { sandbox: sbx.name, network: net.name, store_ms: (t1 - t0).toFixed(2), kernel_and_observers_ms: (performance.now() - t1).toFixed(2) });
    return ep;
  } catch (e) {
    for (const u of await undo.unwind()) ctx.log.error(u.message);
    throw e;
  }
}

/** Removes an endpoint: kernel, observers, addresses, record. Best effort. */
export async function detach(ctx: Ctx, ep: EndpointRecord, sbxNs: Netns | null): Promise<Error[]> {
  const errors: Error[] = [];
  const net = ctx.state.networks.get(ep.networkId);
  const sbx = ctx.state.sandboxes.get(ep.sandboxId);
  // Routes through the removed interface vanish with it: forget what we knew.
  forgetRoutes(ctx, ep.sandboxId);
  if (net) {
    if (sbx) {
      try { await ctx.hooks.endpointRemoved(ep, net, sbx); } catch (e) { errors.push(e as Error); }
    }
    try { await ctx.drivers.get(net.driver).leave(ctx.driverCtx, net, ep, sbxNs); } catch (e) { errors.push(e as Error); }
    ctx.ipam.release(net, ep.ipv4);
    ctx.ipam.release(net, ep.ipv6);
  }
  ctx.ports.releaseAll(ep.ports ?? []);
  await ctx.state.commit([{ kind: 'endpoint', del: ep.id }]);
  return errors;
}

export function forgetRoutes(ctx: Ctx, sandboxId: string): void {
  ctx.defaultRoutes.delete(`${sandboxId}/4`);
  ctx.defaultRoutes.delete(`${sandboxId}/6`);
}

/** Points the sandbox's default routes at the chosen endpoints' gateways. */
export async function applyGateway(ctx: Ctx, sbx: SandboxRecord, sbxNs: Netns): Promise<void> {
  const cands = ctx.state.endpointsOf(sbx.id).flatMap((ep) => {
    const net = ctx.state.networks.get(ep.networkId);
    return net ? [{ ep, net }] : [];
  });
  await Promise.all(([4, 6] as const).map(async (family) => {
    const best = chooseGateway(cands, family);
    const gw = best ? (family === 4 ? best.net.ipv4?.gateway : best.net.ipv6?.gateway) : undefined;
    const want = best && gw ? `${gw}%${best.ep.ifName}` : '';
    const key = `${sbx.id}/${family}`;
    // The route we last installed: skips a route dump on every connect. The
    // cache starts empty after a restart, so the first call checks the kernel.
    let have = ctx.defaultRoutes.get(key);
    if (have === undefined) {
      const cur = (await sbxNs.rtnl.routeList({ family })).find((r) => r.dst === 'default');
      have = cur?.gateway && cur.dev ? `${cur.gateway}%${cur.dev}` : cur ? '?' : '';
    }
    if (have === want) {
      ctx.defaultRoutes.set(key, want);
      return;
    }
    if (!best || !gw) {
      await sbxNs.rtnl.routeDel({ dst: 'default', family }).catch(() => undefined);
    } else {
      await sbxNs.rtnl.routeReplace({ dst: 'default', family, gateway: gw, dev: best.ep.ifName });
    }
    ctx.defaultRoutes.set(key, want);
  }));
}

/** Rewrites /etc/hosts and /etc/resolv.conf of a sandbox from its endpoints. */
export async function writeSandboxFiles(ctx: Ctx, sbx: SandboxRecord): Promise<void> {
  const dir = runDirOf(ctx, sbx);
  const eps = ctx.state.endpointsOf(sbx.id);
  const withNet = eps.flatMap((ep) => {
    const net = ctx.state.networks.get(ep.networkId);
    return net ? [{ ep, net }] : [];
  });
  const gateway = withNet.map(({ net }) => net.ipv4?.gateway).find((g) => !!g);
  await writeInPlace(join(dir, 'hosts'), renderHosts({
    hostname: sbx.hostname,
    domainname: sbx.domainname,
    addresses: eps.flatMap((e) => [e.ipv4, e.ipv6]).filter((x): x is string => !!x).map((c) => c.split('/')[0] ?? ''),
    extraHosts: sbx.extraHosts.map((h) => parseExtraHost(h, gateway)),
  }));
  // With the embedded DNS, --dns servers become its upstreams (Docker does
  // the same), so the sandbox still resolves its peers by name.
  const resolver = ctx.hooks.resolverFor(sbx, withNet);
  await writeInPlace(join(dir, 'resolv.conf'), renderResolvConf({
    host: parseResolvConf(ctx.hostResolvConf),
    ...(resolver ? { resolver } : {}),
    ...(sbx.dns.length ? { dns: sbx.dns } : {}),
    ...(sbx.dnsSearch.length ? { dnsSearch: sbx.dnsSearch } : {}),
    ...(sbx.dnsOptions.length ? { dnsOptions: sbx.dnsOptions } : {}),
  }));
}
