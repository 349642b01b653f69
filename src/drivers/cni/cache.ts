// libcni's result cache (libcni/api.go cachedInfo): one file per attachment,
// <cacheDir>/results/<network>-<containerID>-<ifName>, holding the config the
// chain ran with and its final result. DEL needs both (prevResult, and the
// config even when the network's definition changed or the daemon restarted),
// so the file is written as soon as any plugin has added something and goes
// only when DEL has run through.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapabilityArgs, CniResult } from './types.ts';

export interface CacheEntry {
  kind: 'cniCacheV1';
  containerId: string;
  /** The conflist, base64 (libcni keeps the bytes). */
  config: string;
  ifName: string;
  networkName: string;
  netns: string;
  cniArgs: Array<[string, string]>;
  capabilityArgs: CapabilityArgs;
  result: CniResult | null;
}

const fileOf = (dir: string, net: string, containerId: string, ifName: string): string =>
  join(dir, 'results', `${net}-${containerId}-${ifName}`);

export function readCache(dir: string, net: string, containerId: string, ifName: string): CacheEntry | null {
  try {
    return JSON.parse(readFileSync(fileOf(dir, net, containerId, ifName), 'utf8')) as CacheEntry;
  } catch {
    return null;
  }
}

/** Written whole through a rename: a kill -9 leaves the old file or the new one. */
export function writeCache(dir: string, e: CacheEntry): void {
  mkdirSync(join(dir, 'results'), { recursive: true, mode: 0o700 });
  const p = fileOf(dir, e.networkName, e.containerId, e.ifName);
  writeFileSync(`${p}.tmp`, JSON.stringify(e), { mode: 0o600 });
  renameSync(`${p}.tmp`, p);
}

export function dropCache(dir: string, net: string, containerId: string, ifName: string): void {
  rmSync(fileOf(dir, net, containerId, ifName), { force: true });
}

/** Every cached attachment of network `net` (for GC at start). */
export function listCache(dir: string, net: string): CacheEntry[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, 'results'));
  } catch {
    return [];
  }
  const out: CacheEntry[] = [];
  for (const n of names) {
    if (!n.startsWith(`${net}-`) || n.endsWith('.tmp')) continue;
    try {
      const e = JSON.parse(readFileSync(join(dir, 'results', n), 'utf8')) as CacheEntry;
      if (e.networkName === net) out.push(e);
    } catch { /* a torn or foreign file: not ours to judge */ }
  }
  return out;
}
