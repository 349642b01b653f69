// Links out of service, waiting for the reaper (core/reaper.ts deletes the
// REAP_GROUP of a namespace in one request): how a driver dooms a link, and
// how a name a doomed link still holds is freed when it is wanted again.
import type { Link, NetnsHandle } from '../netlink/index.ts';
import { REAP_GROUP, reapName } from './link-mark.ts';

const isMissing = (e: unknown): boolean => ['ENODEV', 'ENOENT', 'ESRCH'].includes((e as { code?: string }).code ?? '');

/** Puts a link out of service: down (no traffic, its routes go) and in REAP_GROUP. Gone already: nothing to do. */
export async function doom(ns: NetnsHandle, name: string): Promise<void> {
  try {
    await ns.rtnl.linkSet(name, { up: false, group: REAP_GROUP });
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

/**
 * The live link named `name`, or null; a doomed one (down, in REAP_GROUP)
 * gives the name up on the way (renamed after its index).
 */
export async function liveLink(ns: NetnsHandle, name: string): Promise<Link | null> {
  const l = await ns.rtnl.linkGet(name);
  if (!l || l.group !== REAP_GROUP) return l;
  // The reaper may take it first: then the name is free all the same.
  await ns.rtnl.linkSet(l.index, { name: reapName(l.index) }).catch((e: unknown) => { if (!isMissing(e)) throw e; });
  return null;
}

/** The kinds of link cnm's drivers put into sandboxes. */
const SANDBOX_KINDS = ['veth', 'macvlan', 'ipvlan'];

/**
 * Frees `name` in a sandbox where no endpoint has it (the core chose it as
 * free): the link holding it is stale, e.g. the sandbox end of a veth whose
 * host end waits for the reaper (a disconnect just before). Down first (a
 * link must be down to be renamed), then renamed and doomed. False when the
 * link is of a kind cnm never puts there (the container's own): not ours.
 */
export async function moveAside(ns: NetnsHandle, name: string): Promise<boolean> {
  const l = await ns.rtnl.linkGet(name);
  if (!l) return true;
  if (l.group !== REAP_GROUP && !SANDBOX_KINDS.includes(l.kind ?? '')) return false;
  try {
    await ns.rtnl.linkSet(l.index, { up: false });
    await ns.rtnl.linkSet(l.index, { name: reapName(l.index), group: REAP_GROUP });
  } catch (e) {
    // The reaper deleted it (or its pair) meanwhile: the name is free.
    if (!isMissing(e)) throw e;
  }
  return true;
}
