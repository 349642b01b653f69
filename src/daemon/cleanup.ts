// `cnm cleanup`: removes what a stopped daemon leaves in the current network
// namespace and its exec root: cnm's nftables tables, its bridges (those
// cnm's tables name, and the default `cnm0`) with the links on them, and the
// namespace files of its sandboxes. It holds the namespace's daemon lock
// while it works, so it refuses while a daemon runs here and no daemon can
// start halfway through.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NftFirewall } from '../firewall/index.ts';
import { Netns } from '../netlink/index.ts';
import { acquireNetnsLock } from './netns-lock.ts';

/** The default bridge's device (Docker's docker0). */
export const DEFAULT_BRIDGE = 'cnm0';

export interface CleanupReport {
  tables: string[];
  links: string[];
  namespaces: string[];
  errors: string[];
}

export async function cleanup(o: { execRoot: string; dryRun?: boolean }): Promise<CleanupReport> {
  const lock = await acquireNetnsLock({ pid: process.pid, host: '(cnm cleanup)', dataRoot: '', execRoot: o.execRoot });
  const report: CleanupReport = { tables: [], links: [], namespaces: [], errors: [] };
  const fail = (what: string) => (e: unknown) => { report.errors.push(`${what}: ${(e as Error).message}`); };
  const fw = new NftFirewall({ nsPath: `/proc/${process.pid}/ns/net`, watch: false });
  const host = await Netns.open('/proc/self/ns/net');
  try {
    const t = await fw.inspectTables();
    const names = new Set(t.bridges.map((b) => b.replace(/^"|"$/g, '')));
    names.add(DEFAULT_BRIDGE);
    const links = await host.rtnl.linkList();
    const bridges = links.filter((l) => l.kind === 'bridge' && names.has(l.name));
    const idx = new Set(bridges.map((b) => b.index));
    // Ports first (veths of sandboxes), then the bridges themselves.
    for (const l of [...links.filter((x) => x.master !== null && idx.has(x.master)), ...bridges]) {
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
    if (!o.dryRun) await rm(join(o.execRoot, 'instance-id'), { force: true }).catch(fail('exec root id'));
  } finally {
    host.close();
    await fw.close();
    await lock.release();
  }
  return report;
}
