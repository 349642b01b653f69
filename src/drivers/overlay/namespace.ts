// The per-network overlay namespaces: files under <execRoot>/overlay (not
// <execRoot>/netns, whose files the core sweeps as sandboxes'), opened once
// and kept open. Nothing of an overlay network ever lives in the host's own
// namespace, so overlapping subnets of different overlay networks cannot
// collide in its routing table (PROTOCOLS §6.4 item 7).
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Netns } from '../../netlink/index.ts';
import type { DriverContext } from '../driver.ts';
import { OVL_VXLAN, ovlNsName } from './options.ts';

/** Where namespaces go when the context names no exec root (cnm's default one). */
const DEFAULT_EXEC_ROOT = '/run/cnm';

export const ovlDir = (ctx: Pick<DriverContext, 'execRoot'>): string => join(ctx.execRoot ?? DEFAULT_EXEC_ROOT, 'overlay');
export const ovlPath = (ctx: Pick<DriverContext, 'execRoot'>, networkId: string): string => join(ovlDir(ctx), ovlNsName(networkId));

const isMissing = (e: unknown): boolean => ['ENOENT', 'ENODEV', 'ESRCH', 'EINVAL'].includes((e as { code?: string }).code ?? '');

/** Open handles by path; creations under way by path (two joins at once make one namespace). */
const handles = new Map<string, Netns>();
const making = new Map<string, Promise<Netns>>();

/** "dev:ino" of the namespace mounted at path, or null when none is. */
async function mountedId(path: string): Promise<string | null> {
  try {
    const st = await stat(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * The open handle on the namespace at path, when it is still the one
 * mounted there (a namespace removed by hand is forgotten; a stat is
 * cheaper than any netlink call).
 */
export async function openOvl(path: string): Promise<Netns | null> {
  const h = handles.get(path);
  const id = await mountedId(path);
  if (h && id === h.id) return h;
  if (h) {
    handles.delete(path);
    h.close();
  }
  if (!id) return null;
  try {
    const ns = await Netns.open(path);
    handles.set(path, ns);
    return ns;
  } catch (e) {
    // A plain file left by a crash between creating and mounting it.
    if (isMissing(e)) return null;
    throw e;
  }
}

/** Opens the namespace, making it first if it is missing; `made` says which. */
export async function ensureOvl(path: string): Promise<{ ns: Netns; made: boolean }> {
  const have = await openOvl(path);
  if (have) return { ns: have, made: false };
  const pending = making.get(path);
  if (pending) return { ns: await pending, made: false };
  const p = (async () => {
    await mkdir(join(path, '..'), { recursive: true });
    // A leftover plain file (no namespace mounted on it) would make create fail.
    await Netns.remove(path).catch(() => undefined);
    const ns = await Netns.create(path);
    // The overlay namespace only switches frames: br0 and vxlan0 get no
    // IPv6 link-local address (addr_gen_mode 1 = none), so they send no
    // router solicitations or MLD reports onto the overlay. IPv6 stays
    // enabled on them: disable_ipv6 would refuse vxlan0's IPv6 neighbour
    // entries ("IPv6 is disabled on this device").
    await ns.sysctlSet('net/ipv6/conf/default/addr_gen_mode', '1').catch((e: unknown) => { if (!isMissing(e)) throw e; });
    // With br_netfilter loaded (cnm's bridge firewall needs it), frames
    // bridged on br0 would also run the IP-layer hooks of this namespace,
    // a per-packet cost for nothing: no firewall lives here. Per namespace
    // since Linux 5.3; absent without br_netfilter.
    for (const f of ['iptables', 'ip6tables', 'arptables']) {
      await ns.sysctlSet(`net/bridge/bridge-nf-call-${f}`, '0').catch((e: unknown) => { if (!isMissing(e)) throw e; });
    }
    handles.set(path, ns);
    return ns;
  })();
  making.set(path, p);
  try {
    return { ns: await p, made: true };
  } finally {
    making.delete(path);
  }
}

/** Closes and removes the namespace (its links go with it); absent is fine. */
export async function removeOvl(path: string): Promise<void> {
  const h = handles.get(path) ?? await openOvl(path).catch(() => null);
  handles.delete(path);
  // The namespace itself is torn down later, by the kernel's cleanup work;
  // its vxlan0 would hold the VNI (and the UDP port) until then. Deleted
  // now, a network made again with the same VNI right away finds it free.
  if (h) await h.rtnl.linkDel(OVL_VXLAN).catch(() => undefined);
  h?.close();
  try {
    await Netns.remove(path);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

/** The overlay namespaces present under the exec root, by network ID prefix (12 hex). */
export async function listOvl(ctx: Pick<DriverContext, 'execRoot'>): Promise<Array<{ path: string; idPrefix: string }>> {
  const dir = ovlDir(ctx);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith('ovl-')).map((n) => ({ path: join(dir, n), idPrefix: n.slice(4) }));
}
