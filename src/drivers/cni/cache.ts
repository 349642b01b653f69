// libcni's result cache (libcni/api.go cachedInfo): one file per attachment,
// <cacheDir>/results/<network>-<containerID>-<ifName>, holding the config the
// chain ran with and its final result. DEL needs both (prevResult, and the
// config even when the network's definition changed or the daemon restarted),
// so the file goes only when DEL has run through.
//
// While a chain runs, its progress is kept beside it in `<file>.adding-<i>`
// (the result after plugin i; -0: before the first), so that a daemon killed
// mid-chain leaves the attachment findable and GC at start DELs it. Every
// write makes a new file and never replaces one: on ext4 (auto_da_alloc)
// replacing a file by rename or truncation flushes its data first, about a
// millisecond each, where creating one costs a twentieth of that.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const ADDING = '.adding-';
const baseOf = (net: string, containerId: string, ifName: string): string => `${net}-${containerId}-${ifName}`;
const results = (dir: string): string => join(dir, 'results');

function parse(p: string): CacheEntry | null {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as CacheEntry;
  } catch {
    return null;
  }
}

function names(dir: string): string[] {
  try {
    return readdirSync(results(dir));
  } catch {
    return [];
  }
}

/** The progress files of one attachment, newest (highest stage) first. */
function progressOf(all: readonly string[], base: string): string[] {
  const stage = (n: string): number => Number(n.slice(base.length + ADDING.length));
  return all.filter((n) => n.startsWith(`${base}${ADDING}`)).sort((a, b) => stage(b) - stage(a));
}

/** The attachment's final entry, else the newest progress of a chain that never finished. */
export function readCache(dir: string, net: string, containerId: string, ifName: string): CacheEntry | null {
  const base = baseOf(net, containerId, ifName);
  const done = parse(join(results(dir), base));
  if (done) return done;
  for (const n of progressOf(names(dir), base)) {
    const e = parse(join(results(dir), n));
    if (e) return e;
  }
  return null;
}

/** Records the chain's progress after `stage` plugins (a new file; the previous stage's goes). */
export function writeProgress(dir: string, e: CacheEntry, stage: number): void {
  const base = baseOf(e.networkName, e.containerId, e.ifName);
  if (stage === 0) mkdirSync(results(dir), { recursive: true, mode: 0o700 });
  writeFileSync(join(results(dir), `${base}${ADDING}${stage}`), JSON.stringify(e), { mode: 0o600 });
  if (stage > 0) rmSync(join(results(dir), `${base}${ADDING}${stage - 1}`), { force: true });
}

/**
 * The final entry, then the progress file of `stage` goes. Written in
 * place (it is new): a kill -9 mid-write leaves a torn final entry, which
 * readCache passes over for the progress file still beside it.
 */
export function writeCache(dir: string, e: CacheEntry, stage: number): void {
  const base = baseOf(e.networkName, e.containerId, e.ifName);
  writeFileSync(join(results(dir), base), JSON.stringify(e), { mode: 0o600 });
  rmSync(join(results(dir), `${base}${ADDING}${stage}`), { force: true });
}

export function dropCache(dir: string, net: string, containerId: string, ifName: string): void {
  const base = baseOf(net, containerId, ifName);
  rmSync(join(results(dir), base), { force: true });
  for (const n of progressOf(names(dir), base)) rmSync(join(results(dir), n), { force: true });
}

/** Every cached attachment of network `net`, finished or not (for GC at start). */
export function listCache(dir: string, net: string): CacheEntry[] {
  const out = new Map<string, CacheEntry>();
  // Final entries first: an attachment with both keeps its final one.
  const all = names(dir).filter((n) => n.startsWith(`${net}-`) && !n.endsWith('.tmp'));
  all.sort((a, b) => Number(a.includes(ADDING)) - Number(b.includes(ADDING)));
  for (const n of all) {
    const e = parse(join(results(dir), n));
    if (!e || e.networkName !== net) continue;
    const key = `${e.containerId}/${e.ifName}`;
    if (!out.has(key)) out.set(key, e);
  }
  return [...out.values()];
}
