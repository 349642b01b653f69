// The network side of a sandbox: its namespace, its endpoints, its default
// route and its /etc/hosts and resolv.conf. The process that runs in it is
// process-ops.ts's; sandbox-ops.ts puts the two together.
import { join } from 'node:path';
import type { NetnsHandle } from '../netlink/index.ts';
import type { Ctx } from './context.ts';
import { applyGateway, attach, detach } from './endpoint-ops.ts';
import { shortId } from '../model/ids.ts';
import type { SandboxRecord } from '../model/records.ts';
import type { UndoStack } from './mutex.ts';

export const netnsPathOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.execRoot, 'netns', shortId(sbx.id));

/**
 * Makes the sandbox's namespace and attaches its endpoints; pushes the undo
 * of each step. Returns the stored record (its namespace path set) and the
 * namespace handle.
 */
export async function setUpNetSandbox(ctx: Ctx, sbx: SandboxRecord, undo: UndoStack): Promise<{ sbx: SandboxRecord; ns: NetnsHandle }> {
  const path = netnsPathOf(ctx, sbx);
  // Recorded before it exists, so a crash cannot leak it; a failed
  // start gives the record back as it was.
  const before = sbx;
  [sbx] = await ctx.state.commit([{ kind: 'sandbox', put: { ...sbx, netnsPath: path } }]);
  undo.push('namespace path', () => ctx.state.commit([{ kind: 'sandbox', put: before }]));
  const ns = await ctx.nsProvider.create(path);
  ctx.netns.set(sbx.id, ns);
  const id = sbx.id;
  undo.push('namespace', async () => {
    ctx.netns.delete(id);
    ns.close();
    await ctx.nsProvider.remove(path);
  });
  await ns.rtnl.linkSet('lo', { up: true });
  for (const att of sbx.attachments) {
    const ep = await attach(ctx, sbx, att, ns);
    undo.push(`endpoint ${ep.ifName}`, () => detach(ctx, ep, ns));
  }
  await applyGateway(ctx, sbx, ns);
  return { sbx, ns };
}

/** Detaches every endpoint and removes the namespace; best effort, errors collected. */
export async function tearDownNetSandbox(ctx: Ctx, sbx: SandboxRecord): Promise<Error[]> {
  const errors: Error[] = [];
  const ns = ctx.netns.get(sbx.id) ?? null;
  for (const ep of ctx.state.endpointsOf(sbx.id)) errors.push(...await detach(ctx, ep, ns));
  ctx.netns.delete(sbx.id);
  ns?.close();
  if (sbx.netnsPath) {
    try { await ctx.nsProvider.remove(sbx.netnsPath); } catch (e) { errors.push(e as Error); }
  }
  return errors;
}
