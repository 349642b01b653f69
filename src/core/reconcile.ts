// Start-up reconciliation: the store says what should exist; the kernel is
// made to match. Missing objects are recreated, objects we own (marked as
// ours, link-mark.ts) that the store does not know are removed, and nothing
// we do not own is touched.
import { isRemote } from './global-scope.ts';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetnsHandle } from '../netlink/index.ts';
import { isAlive } from '../runtime/proc.ts';
import type { KernelView } from '../drivers/driver.ts';
import { isOwnMark } from '../drivers/link-mark.ts';
import type { Ctx } from './context.ts';
import type { SandboxRecord } from '../model/records.ts';
import { applyGateway, applyJoin, attach, detach, writeSandboxFiles } from './endpoint-ops.ts';
import { replayRemoteIpam } from './remote-ipam.ts';
import { cleanupExited } from './sandbox-ops.ts';
import { logDirOf } from './process-ops.ts';
import { unmountRootfs } from '../images/rootfs.ts';

/** Sandboxes re-adopted at once: their namespaces have sockets of their own. */
const RECONCILE_PARALLEL = 8;

export async function reconcile(ctx: Ctx): Promise<Error[]> {
  const errors: Error[] = [];
  const { state } = ctx;
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(new Error(`${what}: ${(e as Error).message}`, { cause: e }));
    }
  };
  // The runtime's list (`runc list` reads every container's state: a few
  // hundred ms with 1000 of them) runs while the networks are rebuilt; its
  // answer is used below. A failure is reported at that step.
  const runtimeList = ctx.runtime.list().then((ids) => ({ ids }), (error: unknown) => ({ ids: [] as string[], error }));
  // How long each part took, for the debug log (a restart's budget).
  const phases: string[] = [];
  let mark = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases.push(`${name}=${Math.round(now - mark)}`);
    mark = now;
  };

  // Networks: allocators from records, kernel objects recreated if missing.
  // The host is read once: a network whose objects are all there is left
  // as it is.
  const { links: linksBefore, addrs: addrsBefore } = await ctx.hostNs.rtnl.linksAndAddrs();
  const before = { hostLinks: new Map(linksBefore.map((l) => [l.name, l])), hostAddrs: addrsBefore };
  phase('host_dump');
  let rebuilt = false;
  for (const net of state.networks.values()) {
    const drv = ctx.drivers.get(net.driver);
    if (drv.capabilities.endpoints) ctx.ipam.open(net);
    if (!drv.networkIntact?.(ctx.driverCtx, net, before)) {
      rebuilt = true;
      await step(`network ${net.name}`, () => drv.createNetwork(ctx.driverCtx, net));
    }
    await step(`network ${net.name} observers`, async () => ctx.hooks.networkAdded(net));
  }
  // Endpoints whose network is gone cannot be rebuilt: drop them.
  for (const ep of [...state.endpoints.values()]) {
    const net = state.networks.get(ep.networkId);
    if (!net && !isRemote(ctx, ep)) {
      await step(`stale endpoint ${ep.id}`, () => state.commit([{ kind: 'endpoint', del: ep.id }]));
      continue;
    }
    if (!net) continue;
    ctx.ipam.markUsed(net, ep.ipv4);
    ctx.ipam.markUsed(net, ep.ipv6);
    ep.ports ??= [];
    for (const b of ep.ports) ctx.ports.reserve(b);
  }
  // IPAM plugins that forget at their restart are asked again (RequiresRequestReplay).
  errors.push(...await replayRemoteIpam(ctx));
  phase('networks');

  // Sandboxes: running ones whose process lives are re-adopted; others are
  // cleaned up as if they had just exited. The kernel is read once per
  // namespace (a dump of links and addresses), and an endpoint is rebuilt
  // only when something of it is missing; sandboxes go several at a time.
  // The dump above still holds when no network was rebuilt.
  const hostLinks = rebuilt ? await ctx.hostNs.rtnl.linkList() : linksBefore;
  const hostView = { hostLinks: new Map(hostLinks.map((l) => [l.name, l])), hostByIndex: new Map(hostLinks.map((l) => [l.index, l])) };
  const readopt = async (sbx: SandboxRecord) => {
    const eps = state.endpointsOf(sbx.id);
    let ns: NetnsHandle | null = null;
    if (sbx.netnsPath) {
      await step(`namespace of ${sbx.name}`, async () => {
        ns = await ctx.nsProvider.open(sbx.netnsPath).catch(() => ctx.nsProvider.open(`/proc/${sbx.pid}/ns/net`));
        ctx.netns.set(sbx.id, ns);
      });
    }
    const opened = ctx.netns.get(sbx.id);
    if (opened) {
      const { links, addrs } = await opened.rtnl.linksAndAddrs();
      const view: KernelView = { ...hostView, sandboxLinks: new Map(links.map((l) => [l.name, l])), sandboxAddrs: addrs };
      for (const ep of eps) {
        const net = state.networks.get(ep.networkId);
        if (!net) continue;
        const drv = ctx.drivers.get(net.driver);
        let joined = ep;
        if (!drv.intact?.(net, ep, view, ctx.driverCtx.owner)) {
          const sandbox = { id: sbx.id, netnsPath: sbx.netnsPath, ifNames: eps.map((e) => e.ifName), ns: opened };
          await step(`endpoint ${ep.ifName} of ${sbx.name}`, async () => { joined = await applyJoin(ctx, ep, await drv.join(ctx.driverCtx, net, ep, sandbox), opened); });
        }
        // A join may have found new addresses (a DHCP lease): the observers get those.
        await step(`endpoint ${ep.ifName} observers`, async () => ctx.hooks.endpointAdded(joined, net, sbx));
      }
      // Attachments recorded but whose endpoint never got written (a crash
      // in between) are attached again.
      for (const att of sbx.attachments) {
        if (eps.some((e) => e.networkId === att.networkId) || !state.networks.has(att.networkId)) continue;
        await step(`attachment of ${sbx.name}`, () => attach(ctx, sbx, att, opened));
      }
      await step(`gateway of ${sbx.name}`, () => applyGateway(ctx, sbx, opened));
    }
    await step(`files of ${sbx.name}`, () => writeSandboxFiles(ctx, sbx));
  };
  // A running sandbox is adopted when its process and its monitor live (a
  // process without its monitor has nobody to read its output or record its
  // exit: it is stopped). Runtime containers that no adopted sandbox owns
  // are killed: a crash between starting a process and recording it leaves
  // one, and the runtime's state names it by the sandbox's ID.
  const monitored = (s: SandboxRecord) => !s.monitorPid || isAlive(s.monitorPid, s.monitorStart);
  const live = [...state.sandboxes.values()].filter((s) => s.state === 'running' && isAlive(s.pid, s.pidStart) && monitored(s));
  phase('liveness');
  await step('runtime containers', async () => {
    const adopted = new Set(live.map((s) => s.id));
    const listed = await runtimeList;
    if ('error' in listed) throw listed.error;
    const unknown = listed.ids.filter((id) => !adopted.has(id));
    if (ctx.keepUnknownNamespaces) {
      // Another instance's exec root: its sandboxes are not ours to stop.
      if (unknown.length) ctx.log.error(`foreign cnm state: ${unknown.length} sandbox(es) under ${ctx.runtime.name} that this daemon does not know, left running: ${unknown.map((id) => id.slice(0, 12)).join(' ')}`);
      return;
    }
    for (const id of unknown) {
      ctx.log.warn(`reconcile: stopping ${ctx.runtime.name} container ${id.slice(0, 12)}: no running sandbox owns it`);
      await step(`runtime container ${id.slice(0, 12)}`, () => ctx.runtime.remove(id));
    }
  });
  phase('runtime_list');
  for (let i = 0; i < live.length; i += RECONCILE_PARALLEL) {
    await Promise.all(live.slice(i, i + RECONCILE_PARALLEL).map(readopt));
  }
  phase('sandboxes');
  for (const sbx of [...state.sandboxes.values()]) {
    if (live.includes(sbx)) continue;
    const eps = state.endpointsOf(sbx.id);
    if (sbx.state === 'running' || eps.length || sbx.netnsPath) {
      await step(`cleanup of ${sbx.name}`, async () => {
        const errs = await cleanupExited(ctx, sbx);
        errors.push(...errs);
      });
      if (sbx.autoRemove) await step(`auto-remove of ${sbx.name}`, () => state.commit([{ kind: 'sandbox', del: sbx.id }]));
    } else if (sbx.imageId) {
      // A crash between mounting its root and recording the start.
      await step(`root filesystem of ${sbx.name}`, () => unmountRootfs(logDirOf(ctx, sbx)));
    }
  }
  // Endpoints without a running sandbox (another host's are that host's).
  for (const ep of [...state.endpoints.values()]) {
    if (isRemote(ctx, ep)) continue;
    const sbx = state.sandboxes.get(ep.sandboxId);
    if (!sbx || sbx.state !== 'running') {
      await step(`orphan endpoint ${ep.id}`, async () => { errors.push(...await detach(ctx, ep, null)); });
    }
  }

  phase('exited');
  // What drivers keep outside the store for endpoints that are gone (a CNI
  // result cache: a crash between ADD and the store write) is released.
  for (const net of state.networks.values()) {
    const drv = ctx.drivers.get(net.driver);
    if (drv.sweepEndpoints) await step(`network ${net.name} stale attachments`, () => drv.sweepEndpoints!(ctx.driverCtx, net, state.endpointsOn(net.id)));
  }

  // Links cnm made (they carry its mark, link-mark.ts) that no record owns
  // any more. A link without the mark is someone else's, even on a bridge
  // of cnm's: it is never touched.
  await step('orphan links', async () => {
    const ours = new Set<string>();
    for (const net of state.networks.values()) {
      for (const n of ctx.drivers.get(net.driver).ownedLinks(net, state.endpointsOn(net.id))) ours.add(n);
    }
    // The host's links as read before the sandboxes: what a repair made
    // since is owned, and one deleted since (the reaper's) is no error.
    for (const l of hostLinks) {
      if (isOwnMark(l.alias, ctx.driverCtx.owner) && !ours.has(l.name)) {
        await ctx.hostNs.rtnl.linkDel(l.index).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENODEV') errors.push(e); });
      }
    }
  });

  // Namespace files no sandbox owns: leftovers of this daemon's own crashes.
  // In an exec root that holds another instance's state they are that
  // instance's, and are reported instead (cnm doctor).
  // Drivers' own leftovers (overlay: namespaces of networks that are gone).
  if (!ctx.keepUnknownNamespaces) {
    for (const name of ctx.drivers.names()) {
      const drv = ctx.drivers.get(name);
      if (!drv.sweep) continue;
      const live = [...state.networks.values()].filter((n) => n.driver === name);
      await step(`${name} leftovers`, async () => {
        for (const what of await drv.sweep!(ctx.driverCtx, live)) ctx.log.info(`reconcile: removed ${what}`);
      });
    }
  }
  if (!ctx.keepUnknownNamespaces) await step('orphan namespaces', async () => {
    const dir = join(ctx.execRoot, 'netns');
    const live = new Set([...state.sandboxes.values()].map((s) => s.netnsPath).filter(Boolean));
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, n);
      if (!live.has(p)) await ctx.nsProvider.remove(p).catch((e: Error) => errors.push(e));
    }
  });
  phase('sweeps');
  ctx.log.debug('reconcile phases (ms)', { phases: phases.join(' '), sandboxes: live.length });
  return errors;
}
