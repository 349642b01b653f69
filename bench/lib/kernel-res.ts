// Snapshots of the kernel resources a big load uses up, to say which one runs
// out first: memory (/proc/meminfo), the slab caches that grew
// (/proc/slabinfo, root only), file descriptors, processes and the network
// devices and nftables objects in one namespace.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ResSnap {
  meminfo: Map<string, number>; // kB
  slabs: Map<string, number>; // bytes held (num_objs * objsize)
  fileNr: number; // allocated file handles, system-wide
  procs: number;
  links: number; // network devices in the namespace
  nftLines: number; // lines of `nft list ruleset` in the namespace
  daemonFds: number;
  daemonFdKinds: Map<string, number>; // socket, anon_inode:[eventfd], a path's top directory, ...
}

function meminfo(): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const r = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (r) m.set(r[1] ?? '', Number(r[2]));
  }
  return m;
}

function slabs(): Map<string, number> {
  const m = new Map<string, number>();
  try {
    for (const line of readFileSync('/proc/slabinfo', 'utf8').split('\n').slice(2)) {
      const f = line.split(/\s+/);
      if (f.length > 4) m.set(f[0] ?? '', Number(f[2]) * Number(f[3]));
    }
  } catch { /* not root */ }
  return m;
}

const count = (cmd: string, args: string[]): number => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 }).split('\n').filter(Boolean).length;
  } catch {
    return NaN;
  }
};

export function snapshot(nsPath: string, daemonPid: number): ResSnap {
  let daemonFds = NaN;
  const daemonFdKinds = new Map<string, number>();
  try {
    const fds = readdirSync(`/proc/${daemonPid}/fd`);
    daemonFds = fds.length;
    for (const fd of fds) {
      let t = '?';
      try { t = readlinkSync(`/proc/${daemonPid}/fd/${fd}`).replace(/:\[\d+\]$/, '').replace(/^(\/[^/]+\/[^/]+).*/, '$1'); } catch { /* closed meanwhile */ }
      daemonFdKinds.set(t, (daemonFdKinds.get(t) ?? 0) + 1);
    }
  } catch { /* gone */ }
  return {
    meminfo: meminfo(),
    slabs: slabs(),
    fileNr: Number(readFileSync('/proc/sys/fs/file-nr', 'utf8').split(/\s+/)[0]),
    procs: readdirSync('/proc').filter((f) => /^\d+$/.test(f)).length,
    links: count('nsenter', [`--net=${nsPath}`, 'ip', '-o', 'link', 'show']),
    nftLines: count('nsenter', [`--net=${nsPath}`, 'nft', 'list', 'ruleset']),
    daemonFds,
    daemonFdKinds,
  };
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

/** What grew between two snapshots, per unit of `per` (e.g. per endpoint). */
export function describeGrowth(a: ResSnap, b: ResSnap, per: number, unit: string): string {
  const d = (k: string): number => (b.meminfo.get(k) ?? 0) - (a.meminfo.get(k) ?? 0);
  const lines = [
    `MemAvailable ${mb(a.meminfo.get('MemAvailable') ?? 0)} -> ${mb(b.meminfo.get('MemAvailable') ?? 0)} (used ${mb(-d('MemAvailable'))}, ${(-d('MemAvailable') / per).toFixed(1)} kB per ${unit})`,
    `Slab +${mb(d('Slab'))} (unreclaimable +${mb(d('SUnreclaim'))}), Percpu +${mb(d('Percpu'))}, KernelStack +${mb(d('KernelStack'))}, PageTables +${mb(d('PageTables'))}`,
    `file handles ${a.fileNr} -> ${b.fileNr}; processes ${a.procs} -> ${b.procs}; devices in the daemon's namespace ${a.links} -> ${b.links}; nft ruleset lines ${a.nftLines} -> ${b.nftLines}; daemon fds ${a.daemonFds} -> ${b.daemonFds}`,
  ];
  lines.push(`daemon fds by kind: ${[...b.daemonFdKinds].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const grown = [...b.slabs].map(([k, v]) => [k, v - (a.slabs.get(k) ?? 0)] as const).sort((x, y) => y[1] - x[1]).slice(0, 8);
  if (grown.length) lines.push(`slab caches grown most: ${grown.map(([k, v]) => `${k} +${(v / 1048576).toFixed(1)} MB`).join(', ')}`);
  return lines.join('\n  ');
}

/**
 * A process's memory three ways (MB): RSS; PSS (shared pages split among
 * their users); USS (its private pages). A Node daemon's RSS holds ~50 MB of
 * the node binary's text, shared with every other Node process; a Go
 * daemon's holds its own binary's.
 */
export function procMem(pid: number): { rss: number; pss: number; uss: number; file: number } {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN);
    return {
      rss: kb('Rss') / 1024,
      pss: kb('Pss') / 1024,
      uss: (kb('Private_Clean') + kb('Private_Dirty')) / 1024,
      file: kb('Pss_File') / 1024,
    };
  } catch {
    return { rss: NaN, pss: NaN, uss: NaN, file: NaN };
  }
}

export const fmtMem = (m: { rss: number; pss: number; uss: number }): string => `RSS ${m.rss.toFixed(1)} MB, PSS ${m.pss.toFixed(1)} MB, USS ${m.uss.toFixed(1)} MB`;
