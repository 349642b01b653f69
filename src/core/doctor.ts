// `cnm doctor`: what differs between the store and the kernel, without
// changing anything. The firewall reports its own drift separately.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelView } from '../drivers/driver.ts';
import { REAP_GROUP, isOwnMark } from '../drivers/link-mark.ts';
import { isAlive } from '../runtime/proc.ts';
import type { Ctx } from './context.ts';

const STRAY_BRIDGE = /^br-[0-9a-f]{12}$/;

export interface KernelReport {
  ok: boolean;
  problems: string[];
}

export async function checkKernel(ctx: Ctx): Promise<KernelReport> {
  const problems: string[] = [];
  const { state } = ctx;
  const hostLinks = await ctx.hostNs.rtnl.linkList();
  const byName = new Map(hostLinks.map((l) => [l.name, l]));
  const byIndex = new Map(hostLinks.map((l) => [l.index, l]));
  const owned = new Set<string>();
  for (const net of state.networks.values()) {
    const drv = ctx.drivers.get(net.driver);
    for (const n of drv.ownedLinks(net, state.endpointsOn(net.id))) owned.add(n);
    for (const dev of drv.requiredLinks?.(net) ?? []) {
      if (!byName.has(dev)) problems.push(`network ${net.name}: ${drv.name} link ${dev} is missing`);
    }
  }
  for (const sbx of state.sandboxes.values()) {
    if (sbx.state !== 'running') continue;
    if (!isAlive(sbx.pid, sbx.pidStart)) problems.push(`sandbox ${sbx.name}: process ${sbx.pid} is gone`);
    const ns = ctx.netns.get(sbx.id);
    if (!ns) continue;
    const [links, addrs] = await Promise.all([ns.rtnl.linkList(), ns.rtnl.addrList()]);
    const view: KernelView = { hostLinks: byName, hostByIndex: byIndex, sandboxLinks: new Map(links.map((l) => [l.name, l])), sandboxAddrs: addrs };
    for (const ep of state.endpointsOf(sbx.id)) {
      const net = state.networks.get(ep.networkId);
      if (!net) continue;
      const drv = ctx.drivers.get(net.driver);
      if (drv.intact && !drv.intact(net, ep, view, ctx.driverCtx.owner)) problems.push(`sandbox ${sbx.name}: endpoint ${ep.ifName} on ${net.name} is incomplete (${drv.hostInterface?.(ep) ?? '-'} / ${ep.ipv4 ?? ep.ipv6 ?? ''})`);
      // A driver with a check of its own (cni: CHECK through the chain) is asked too.
      const why = await drv.checkEndpoint?.(net, ep, { id: sbx.id, netnsPath: sbx.netnsPath });
      if (why) problems.push(`sandbox ${sbx.name}: endpoint ${ep.ifName} on ${net.name}: ${why}`);
    }
  }
  for (const l of hostLinks) {
    // Links waiting for the reaper (core/reaper.ts) are on their way out.
    if (l.group === REAP_GROUP) continue;
    // Only links cnm made count: a user's port on a bridge is theirs.
    if (isOwnMark(l.alias, ctx.driverCtx.owner) && !owned.has(l.name)) problems.push(`link ${l.name} made by cnm belongs to no network or endpoint`);
    // br-<12 hex> is the name cnm gives a network's bridge: an unmarked one
    // (made before cnm marked its links) that no record owns is left from a
    // failed or interrupted create, or a lost store.
    if (l.kind === 'bridge' && l.alias === undefined && STRAY_BRIDGE.test(l.name) && !owned.has(l.name)) problems.push(`bridge ${l.name} belongs to no network`);
  }
  for (const name of ctx.drivers.names()) {
    const drv = ctx.drivers.get(name);
    if (drv.check) problems.push(...await drv.check(ctx.driverCtx, [...state.networks.values()].filter((n) => n.driver === name)));
  }
  const dir = join(ctx.execRoot, 'netns');
  const live = new Set([...state.sandboxes.values()].map((s) => s.netnsPath).filter(Boolean));
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!live.has(join(dir, n))) problems.push(`namespace ${join(dir, n)} belongs to no sandbox`);
  }
  return { ok: problems.length === 0, problems };
}
