// Endpoints: attaching a running sandbox to a network and detaching it, the
// default route that follows, and the sandbox files that list its addresses.
import { join } from 'node:path';
import { dnsNameProblem, parseExtraHost, parseResolvConf, quoteValue, renderHosts, renderResolvConf } from '../dns/index.ts';
import { writeInPlace } from '../sandbox/files.ts';
import type { NetnsHandle } from '../netlink/index.ts';
import type { JoinResult } from '../drivers/driver.ts';
import type { Ctx } from './context.ts';
import type { Change } from './state.ts';
import { invalid } from '../model/errors.ts';
import { chooseGateway } from './gateway.ts';
import { newId, randomMac } from '../model/ids.ts';
import type { AttachmentConfig, DhcpLeaseRecord, EndpointRecord, NetworkRecord, SandboxRecord } from '../model/records.ts';
import { DHCP_IPAM } from './dhcp-ipam.ts';
import { UndoStack } from './mutex.ts';
import { allocateAddress, releaseAddress } from './remote-ipam.ts';
import { moveAside } from '../drivers/reap.ts';
import { macProblem } from '../model/net.ts';
import { CLAIM_RETRIES, lostClaim, requireCluster } from './global-scope.ts';
import { dropGwbridge, ensureGwbridge } from './gwbridge.ts';

export const runDirOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.execRoot, 'sandboxes', sbx.id);

/** What the core checks of endpoint settings; the driver adds its own rules. */
export function checkAttachment(ctx: Ctx, net: NetworkRecord, att: AttachmentConfig): void {
  ctx.drivers.get(net.driver).checkAttachment?.(net, att);
  if (att.macAddress) checkMac(att.macAddress);
  for (const a of att.aliases) {
    // Aliases are names in the embedded DNS: one it refuses would fail the
    // attach after the kernel and the firewall had been changed.
    const bad = dnsNameProblem(a);
    if (bad) throw invalid(`invalid Aliases entry ${quoteValue(a)}: ${bad}`);
  }
  // Requested addresses on a network without a pool go to the driver (cni: the `ips` capability).
  if (ctx.drivers.get(net.driver).capabilities.addressesFromJoin) return;
  if (att.ipv4Address && !net.ipv4) throw invalid(`no configured subnet contains IP address ${att.ipv4Address}`);
  if (att.ipv6Address && !net.ipv6) throw invalid(`no configured subnet contains IP address ${att.ipv6Address}`);
}

function checkMac(mac: string): void {
  const why = macProblem(mac);
  if (why) throw invalid(`invalid MacAddress ${quoteValue(mac)}: ${why}`);
}

/**
 * Creates the endpoint of a running sandbox on one network. `also` is
 * written in the same store transaction as the endpoint record.
 */
export async function attach(ctx: Ctx, sbx: SandboxRecord, att: AttachmentConfig, sbxNs: NetnsHandle, also: Change[] = []): Promise<EndpointRecord> {
  const net = ctx.state.networks.get(att.networkId);
  if (!net) throw invalid(`network ${att.networkId} not found`);
  const driver = ctx.drivers.get(net.driver);
  if (!driver.capabilities.endpoints) throw invalid(`network ${net.name} gives no endpoints`);
  checkAttachment(ctx, net, att);
  const cluster = net.scope === 'global' ? await requireCluster(ctx, `connect ${sbx.name} to network ${net.name}`) : null;
  const used = ctx.state.endpointsOf(sbx.id).map((e) => e.ifName);
  const id = newId();
  const undo = new UndoStack();
  try {
    const draft: EndpointRecord = {
      id,
      name: sbx.name,
      networkId: net.id,
      sandboxId: sbx.id,
      ifName: '',
      mac: att.macAddress?.toLowerCase() || randomMac(),
      aliases: att.aliases,
      gwPriority: att.gwPriority,
      created: Date.now() * 1000 + used.length,
      ports: [],
      driverOpts: att.driverOpts,
      driverState: {},
      gateway: { ipv4: null, ipv6: null },
      routes: [],
      dns: false,
      // Other hosts reach it through this node's VTEP and name it without its sandbox.
      ...(cluster ? { node: { id: cluster.nodeId, vtep: cluster.vtep, sandboxHostname: sbx.hostname } } : {}),
    };
    // Published ports go on the sandbox's first endpoint that can carry
    // them (eth0 usually; an internal network cannot, as in Docker, whose
    // ports follow the endpoint giving external connectivity); their host
    // ports are chosen now, so a clash fails the call before anything changes.
    const published = ctx.state.endpointsOf(sbx.id).some((e) => e.ports?.length);
    if (!published && sbx.ports.length && driver.capabilities.portPublishing && !net.internal) {
      const dflt = driver.defaultHostIp?.(net) ?? '';
      draft.ports = ctx.ports.allocateAll(sbx.ports.map((p) => ({
        hostIp: p.hostIp || dflt,
        hostPortStart: p.hostPort,
        hostPortEnd: p.hostPortEnd ?? p.hostPort,
        containerPort: p.containerPort,
        proto: p.proto,
      })));
      undo.push('host ports', () => ctx.ports.releaseAll(draft.ports));
    }
    if (net.ipv4) {
      draft.ipv4 = await allocateAddress(ctx, net, 4, att.ipv4Address, draft.mac);
      undo.push('IPv4 address', () => releaseAddress(ctx, net, draft.ipv4));
    }
    if (net.ipv6) {
      draft.ipv6 = await allocateAddress(ctx, net, 6, att.ipv6Address, draft.mac);
      undo.push('IPv6 address', () => releaseAddress(ctx, net, draft.ipv6));
    }
    const fromJoin = driver.capabilities.addressesFromJoin === true;
    if (fromJoin) {
      // The driver asks for these itself (see addressesFromJoin).
      draft.driverState = {
        ...(att.ipv4Address ? { requestedIpv4: att.ipv4Address } : {}),
        ...(att.ipv6Address ? { requestedIpv6: att.ipv6Address } : {}),
        ...(att.macAddress ? { requestedMac: att.macAddress.toLowerCase() } : {}),
      };
    }
    const sandbox = { id: sbx.id, netnsPath: sbx.netnsPath, ifNames: used, ports: sbx.ports };
    const plan = await driver.createEndpoint(net, draft, sandbox);
    let planned: EndpointRecord = { ...draft, ifName: plan.ifName, driverState: plan.driverState, ...(plan.expect ?? {}) };
    if (driver.deleteEndpoint) undo.push('driver endpoint', () => driver.deleteEndpoint?.(net, planned));
    const t0 = performance.now();
    let ep: EndpointRecord;
    for (let attempt = 0; ; attempt++) {
      try {
        [ep] = await ctx.state.commit([{ kind: 'endpoint', put: planned }, ...also]);
        break;
      } catch (e) {
        // Another host took this auto-chosen address first (global networks):
        // it stays marked used here, and the next free one is tried.
        if (!cluster || !lostClaim(e, 'address') || attempt >= CLAIM_RETRIES) throw e;
        const next = { ...planned };
        if (planned.ipv4 && !att.ipv4Address) next.ipv4 = ctx.ipam.allocate(net, 4);
        if (planned.ipv6 && !att.ipv6Address) next.ipv6 = ctx.ipam.allocate(net, 6);
        if (next.ipv4 === planned.ipv4 && next.ipv6 === planned.ipv6) throw e;
        const prev = planned;
        undo.push('retried address', () => { ctx.ipam.release(net, next.ipv4 !== prev.ipv4 ? next.ipv4 : undefined); ctx.ipam.release(net, next.ipv6 !== prev.ipv6 ? next.ipv6 : undefined); });
        planned = next;
      }
    }
    undo.push('store record', () => ctx.state.commit([{ kind: 'endpoint', del: planned.id }]));
    const t1 = performance.now();
    const join = (): Promise<JoinResult> => driver.join(ctx.driverCtx, net, ep, { ...sandbox, ns: sbxNs }, { fresh: true });
    if (fromJoin || net.ipamDriver === DHCP_IPAM) {
      // The addresses come from join (the LAN's DHCP server, a CNI chain);
      // the observers (DNS names) need them, so they follow.
      const [joined] = await Promise.allSettled([join()]);
      undo.push('kernel objects', () => driver.leave(ctx.driverCtx, net, planned, sbxNs));
      if (joined.status === 'rejected') throw joined.reason;
      ep = await applyJoin(ctx, ep, joined.value, sbxNs);
      const added = ep;
      await ctx.hooks.endpointAdded(added, net, sbx);
      undo.push('observers', () => ctx.hooks.endpointRemoved(added, net, sbx));
    } else {
      // The kernel objects and the observers (firewall set elements keyed by
      // interface name, DNS names) do not depend on each other: both at once.
      const [joined, observed] = await Promise.allSettled([join(), ctx.hooks.endpointAdded(ep, net, sbx)]);
      undo.push('kernel objects', () => driver.leave(ctx.driverCtx, net, planned, sbxNs));
      if (observed.status === 'fulfilled') undo.push('observers', () => ctx.hooks.endpointRemoved(planned, net, sbx));
      if (joined.status === 'rejected') throw joined.reason;
      if (observed.status === 'rejected') throw observed.reason;
      ep = await applyJoin(ctx, ep, joined.value, sbxNs);
    }
    // An overlay endpoint reaches out through the host's cnm_gwbridge (Docker's docker_gwbridge).
    if (cluster) {
      const gw = await ensureGwbridge(ctx, sbx, sbxNs);
      if (gw) undo.push('gwbridge endpoint', () => detach(ctx, gw, sbxNs));
    }
    ctx.log.debug('attach', { sandbox: sbx.name, network: net.name, store_ms: (t1 - t0).toFixed(2), kernel_and_observers_ms: (performance.now() - t1).toFixed(2) });
    return ep;
  } catch (e) {
    for (const u of await undo.unwind()) ctx.log.error(u.message);
    throw e;
  }
}

const sameJoin = (ep: EndpointRecord, r: JoinResult): boolean =>
  ep.ifName === r.iface.name && ep.dns === r.dns && ep.gateway.ipv4 === r.gateway.ipv4 && ep.gateway.ipv6 === r.gateway.ipv6
  && JSON.stringify(ep.routes) === JSON.stringify(r.routes)
  && (!r.addresses?.ipv4 || r.addresses.ipv4 === ep.ipv4) && (!r.addresses?.ipv6 || r.addresses.ipv6 === ep.ipv6)
  && (!r.addresses?.mac || r.addresses.mac === ep.mac)
  && (!r.dnsServers?.length || JSON.stringify(r.dnsServers) === JSON.stringify(ep.dnsServers))
  && (!r.lease || JSON.stringify(r.lease) === JSON.stringify(ep.dhcpLease));

/**
 * What the core does with join's answer: moves and renames a link the
 * driver made on the host (a remote plugin's SrcName), installs the extra
 * routes, and records the answer when it differs from what was expected.
 */
export async function applyJoin(ctx: Ctx, ep: EndpointRecord, r: JoinResult, sbxNs: NetnsHandle): Promise<EndpointRecord> {
  if (r.iface.moveFrom) {
    // As libnetwork does for a plugin's SrcName: into the sandbox, renamed,
    // then given the endpoint's addresses (the plugin made the link; the
    // addresses are IPAM's).
    await ctx.hostNs.rtnl.linkSet(r.iface.moveFrom, { netns: sbxNs });
    // The endpoint's MAC too (libnetwork sets the interface's configured MAC).
    const rename = (): Promise<void> => sbxNs.rtnl.linkSet(r.iface.moveFrom ?? '', { name: r.iface.name, mac: ep.mac });
    try {
      await rename();
    } catch (e) {
      // The name may still be held by the sandbox end of a disconnected
      // endpoint that waits for the reaper: it moves aside.
      const taken = ctx.state.endpointsOf(ep.sandboxId).some((o) => o.id !== ep.id && o.ifName === r.iface.name);
      if ((e as { code?: string }).code !== 'EEXIST' || taken || !await moveAside(sbxNs, r.iface.name)) throw e;
      await rename();
    }
    if (ep.ipv4) await sbxNs.rtnl.addrAdd(r.iface.name, ep.ipv4, { noDad: false });
    if (ep.ipv6) await sbxNs.rtnl.addrAdd(r.iface.name, ep.ipv6, { noDad: true });
    await sbxNs.rtnl.linkSet(r.iface.name, { up: true });
  }
  for (const route of r.routes) {
    await sbxNs.rtnl.routeReplace({ dst: route.dst, dev: r.iface.name, ...(route.gateway ? { gateway: route.gateway } : {}) });
  }
  if (sameJoin(ep, r)) return ep;
  const next: EndpointRecord = { ...ep, ifName: r.iface.name, gateway: r.gateway, routes: r.routes, dns: r.dns };
  // Addresses the driver found (a DHCP lease, a CNI result) are the endpoint's, as IPAM's would be.
  if (r.addresses?.ipv4) next.ipv4 = r.addresses.ipv4;
  if (r.addresses?.ipv6) next.ipv6 = r.addresses.ipv6;
  if (r.addresses?.mac) next.mac = r.addresses.mac;
  if (r.dnsServers?.length) next.dnsServers = r.dnsServers;
  if (r.lease) next.dhcpLease = r.lease;
  const [stored] = await ctx.state.commit([{ kind: 'endpoint', put: next }]);
  return stored;
}

/**
 * A DHCP lease was renewed or moved (`lease`) or ended (null: expired or
 * refused, its address already off the interface): the endpoint's record,
 * and the observers when its address changed, follow.
 */
export async function recordLease(ctx: Ctx, endpointId: string, lease: DhcpLeaseRecord | null): Promise<void> {
  const ep = ctx.state.endpoints.get(endpointId);
  if (!ep) return;
  const { dhcpLease: _old, ipv4: _addr, ...rest } = ep;
  const next: EndpointRecord = lease ? { ...rest, ipv4: `${lease.address}/${lease.prefix}`, dhcpLease: lease } : { ...rest, gateway: { ...ep.gateway, ipv4: null } };
  const [stored] = await ctx.state.commit([{ kind: 'endpoint', put: next }]);
  if (stored.ipv4 === ep.ipv4) return;
  const net = ctx.state.networks.get(ep.networkId);
  const sbx = ctx.state.sandboxes.get(ep.sandboxId);
  if (!net || !sbx) return;
  await ctx.hooks.endpointRemoved(ep, net, sbx);
  await ctx.hooks.endpointAdded(stored, net, sbx);
}

/** Removes an endpoint: kernel, observers, addresses, record. Best effort. */
export async function detach(ctx: Ctx, ep: EndpointRecord, sbxNs: NetnsHandle | null): Promise<Error[]> {
  const errors: Error[] = [];
  const net = ctx.state.networks.get(ep.networkId);
  const sbx = ctx.state.sandboxes.get(ep.sandboxId);
  // Routes through the removed interface vanish with it: forget what we knew.
  forgetRoutes(ctx, ep.sandboxId);
  if (net) {
    if (sbx) {
      try { await ctx.hooks.endpointRemoved(ep, net, sbx); } catch (e) { errors.push(e as Error); }
    }
    const driver = ctx.drivers.get(net.driver);
    try { await driver.leave(ctx.driverCtx, net, ep, sbxNs); } catch (e) { errors.push(e as Error); }
    try { await driver.deleteEndpoint?.(net, ep); } catch (e) { errors.push(e as Error); }
    await releaseAddress(ctx, net, ep.ipv4);
    await releaseAddress(ctx, net, ep.ipv6);
  }
  ctx.ports.releaseAll(ep.ports ?? []);
  await ctx.state.commit([{ kind: 'endpoint', del: ep.id }]);
  return errors;
}

/**
 * Removes the endpoint of a running sandbox as one change (disconnect): the
 * default route moves off it while its observers and kernel objects go,
 * then its record goes with `also` in one write. A failed step puts back
 * what the earlier ones took, so the endpoint stays whole and recorded.
 */
export async function detachWhole(ctx: Ctx, ep: EndpointRecord, sbxNs: NetnsHandle, also: Change[]): Promise<void> {
  const net = ctx.state.networks.get(ep.networkId);
  const sbx = ctx.state.sandboxes.get(ep.sandboxId);
  if (!net || !sbx) throw invalid(`endpoint ${ep.id} has no network or sandbox`);
  if (net.scope === 'global') await requireCluster(ctx, `disconnect ${sbx.name} from network ${net.name}`);
  const driver = ctx.drivers.get(net.driver);
  const undo = new UndoStack();
  try {
    undo.push('default route', () => {
      forgetRoutes(ctx, sbx.id);
      return applyGateway(ctx, sbx, sbxNs);
    });
    // Pushed first: an observer may have removed part of its state when it fails.
    undo.push('observers', () => ctx.hooks.endpointAdded(ep, net, sbx));
    // The default route moving to another endpoint, the observers letting
    // go and the host end going down touch different things (the sandbox's
    // routes, nftables and names, the host's link): all three at once.
    const t0 = performance.now();
    const [gateway, observers, kernel] = await Promise.allSettled([
      applyGateway(ctx, sbx, sbxNs, ep.id),
      ctx.hooks.endpointRemoved(ep, net, sbx),
      driver.leave(ctx.driverCtx, net, ep, sbxNs),
    ]);
    const t1 = performance.now();
    if (kernel.status === 'fulfilled') {
      undo.push('kernel objects', async () => {
        const ifNames = ctx.state.endpointsOf(sbx.id).map((e) => e.ifName);
        await driver.join(ctx.driverCtx, net, ep, { id: sbx.id, netnsPath: sbx.netnsPath, ifNames, ns: sbxNs });
      });
    }
    for (const r of [gateway, observers, kernel]) if (r.status === 'rejected') throw r.reason;
    await ctx.state.commit([{ kind: 'endpoint', del: ep.id }, ...also]);
    ctx.log.debug('detach', { sandbox: sbx.name, network: net.name, kernel_and_observers_ms: (t1 - t0).toFixed(2), store_ms: (performance.now() - t1).toFixed(2) });
  } catch (e) {
    for (const u of await undo.unwind()) ctx.log.error(u.message);
    throw e;
  }
  // The endpoint is gone from the record: what createEndpoint made outside
  // the kernel goes too (a plugin's DeleteEndpoint); a failure is logged.
  await driver.deleteEndpoint?.(net, ep).catch((e: unknown) => ctx.log.error(`delete endpoint ${ep.ifName} of ${sbx.name}: ${(e as Error).message}`));
  await releaseAddress(ctx, net, ep.ipv4);
  await releaseAddress(ctx, net, ep.ipv6);
  ctx.ports.releaseAll(ep.ports ?? []);
  if (net.scope === 'global') {
    await dropGwbridge(ctx, sbx, sbxNs).catch((e: unknown) => ctx.log.warn(`disconnect: the cnm_gwbridge endpoint of ${sbx.name}: ${(e as Error).message}`));
  }
}

export function forgetRoutes(ctx: Ctx, sandboxId: string): void {
  ctx.defaultRoutes.delete(`${sandboxId}/4`);
  ctx.defaultRoutes.delete(`${sandboxId}/6`);
}

/** Points the sandbox's default routes at the chosen endpoints' gateways (leaving out the endpoint `without`). */
export async function applyGateway(ctx: Ctx, sbx: SandboxRecord, sbxNs: NetnsHandle, without?: string): Promise<void> {
  const cands = ctx.state.endpointsOf(sbx.id).filter((ep) => ep.id !== without).flatMap((ep) => {
    const net = ctx.state.networks.get(ep.networkId);
    return net ? [{ ep, net }] : [];
  });
  await Promise.all(([4, 6] as const).map(async (family) => {
    const best = chooseGateway(cands, family);
    const gw = best ? (family === 4 ? best.ep.gateway.ipv4 : best.ep.gateway.ipv6) : undefined;
    const want = best && gw ? `${gw}%${best.ep.ifName}` : '';
    const key = `${sbx.id}/${family}`;
    // The route we last installed: skips a route dump on every connect. The
    // cache starts empty after a restart, so the first call checks the kernel.
    let have = ctx.defaultRoutes.get(key);
    if (have === undefined) {
      // Devices as indexes: naming them would dump every link of the sandbox.
      const cur = (await sbxNs.rtnl.routeList({ family, devNames: false })).find((r) => r.dst === 'default');
      const index = Number(/^if(\d+)$/.exec(String(cur?.dev ?? ''))?.[1] ?? NaN);
      const dev = Number.isInteger(index) ? (await sbxNs.rtnl.linkGet(index))?.name : undefined;
      have = cur?.gateway && dev ? `${cur.gateway}%${dev}` : cur ? '?' : '';
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
  // Without the embedded DNS, the DNS servers of a DHCP lease are the
  // nameservers, as a DHCP client would write them (--dns still wins).
  const leaseDns = resolver ? [] : [...new Set(eps.flatMap((e) => e.dhcpLease?.dns ?? []))];
  const dns = sbx.dns.length ? sbx.dns : leaseDns;
  await writeInPlace(join(dir, 'resolv.conf'), renderResolvConf({
    host: parseResolvConf(ctx.hostResolvConf),
    ...(resolver ? { resolver } : {}),
    ...(dns.length ? { dns } : {}),
    ...(sbx.dnsSearch.length ? { dnsSearch: sbx.dnsSearch } : {}),
    ...(sbx.dnsOptions.length ? { dnsOptions: sbx.dnsOptions } : {}),
  }));
}
