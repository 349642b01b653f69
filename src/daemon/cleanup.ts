// `cnm cleanup`: removes what a stopped daemon leaves in the current network
// namespace and its exec root: its sandboxes still running under the OCI
// runtime, cnm's nftables tables, the links cnm made (those carrying its
// alias mark; bridges cnm's tables name, and the default `cnm0`, from before
// marks), and the namespace files of its sandboxes and overlay networks. A user's link, even on a
// cnm bridge, stays. It holds the namespace's daemon lock
// while it works, so it refuses while a daemon runs here and no daemon can
// start halfway through.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NftFirewall } from '../firewall/index.ts';
import { Netns } from '../netlink/index.ts';
import { acquireNetnsLock } from './netns-lock.ts';
import { removeOvl } from '../drivers/overlay/namespace.ts';
import { findRuntimeBinary, RuncRuntime } from '../runtime/runc.ts';
import { existsSync } from 'node:fs';

/** The runtime state a daemon on this exec root used (runc's, if installed). */
function runtimeFor(execRoot: string): RuncRuntime | null {
  const root = join(execRoot, 'runtime');
  if (!existsSync(root)) return null;
  try {
    return new RuncRuntime({ binary: findRuntimeBinary('runc'), root, monitor: '' });
  } catch {
    return null; // no runc installed: no sandboxes of its to stop
  }
}

/** The default bridge's device (Docker's docker0). */
export const DEFAULT_BRIDGE = 'cnm0';

export interface CleanupReport {
  tables: string[];
  links: string[];
  namespaces: string[];
  sandboxes: string[];
  errors: string[];
}

/** cnm's alias mark (src/drivers/link-mark.ts), whatever daemon made the link. */
const MARK = /^cnm:[0-9a-f]{12}:/;
/** Host ends of cnm's veths before links were marked: veth + 7 hex. */
const LEGACY_VETH = /^veth[0-9a-f]{7}$/;

export async function cleanup(o: { execRoot: string; dryRun?: boolean }): Promise<CleanupReport> {
  const lock = await acquireNetnsLock({ pid: process.pid, host: '(cnm cleanup)', dataRoot: '', execRoot: o.execRoot });
  const report: CleanupReport = { tables: [], links: [], namespaces: [], sandboxes: [], errors: [] };
  const fail = (what: string) => (e: unknown) => { report.errors.push(`${what}: ${(e as Error).message}`); };
  const fw = new NftFirewall({ nsPath: `/proc/${process.pid}/ns/net`, watch: false });
  const host = await Netns.open('/proc/self/ns/net');
  try {
    // Sandboxes first: their processes hold the namespaces.
    const runtime = runtimeFor(o.execRoot);
    for (const id of runtime ? await runtime.list().catch(() => [] as string[]) : []) {
      report.sandboxes.push(id);
      if (!o.dryRun) await runtime?.remove(id).catch(fail(`sandbox ${id.slice(0, 12)}`));
    }
    const t = await fw.inspectTables();
    const names = new Set(t.bridges.map((b) => b.replace(/^"|"$/g, '')));
    names.add(DEFAULT_BRIDGE);
    const links = await host.rtnl.linkList();
    const marked = (l: { alias?: string }): boolean => MARK.test(l.alias ?? '');
    const bridges = links.filter((l) => l.kind === 'bridge' && (marked(l) || (l.alias === undefined && names.has(l.name))));
    const idx = new Set(bridges.map((b) => b.index));
    const ports = links.filter((x) => x.kind !== 'bridge'
      && (marked(x) || (x.alias === undefined && x.master !== null && idx.has(x.master) && LEGACY_VETH.test(x.name))));
    // Ports first (veths of sandboxes), then the bridges themselves.
    for (const l of [...ports, ...bridges]) {
      report.links.push(l.name);
      if (!o.dryRun) await host.rtnl.linkDel(l.name).catch(fail(`link ${l.name}`));
    }
    if (t.present) {
      report.tables.push('inet cnm', 'bridge cnm');
      if (!o.dryRun) await fw.removeTables().catch(fail('nftables tables'));
    }
    const dir = join(o.execRoot, 'netns');
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, n);
      report.namespaces.push(p);
      if (!o.dryRun) await Netns.remove(p).catch(fail(`namespace ${p}`));
    }
    // Overlay networks' namespaces (src/drivers/overlay): their vxlan0 goes
    // first, so its VNI and UDP socket are freed at once.
    const ovl = join(o.execRoot, 'overlay');
    for (const n of await readdir(ovl).catch(() => [] as string[])) {
      const p = join(ovl, n);
      report.namespaces.push(p);
      if (!o.dryRun) await removeOvl(p).catch(fail(`namespace ${p}`));
    }
    if (!o.dryRun) await rm(join(o.execRoot, 'instance-id'), { force: true }).catch(fail('exec root id'));
  } finally {
    host.close();
    await fw.close();
    await lock.release();
  }
  return report;
}
