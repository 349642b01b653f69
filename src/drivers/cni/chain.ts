// A conflist run as a chain (SPEC.md "Network configuration lists",
// libcni/api.go AddNetworkList/DelNetworkList/CheckNetworkList): ADD in list
// order, each plugin given the previous one's result as `prevResult`; DEL in
// reverse with the final ADD result; CHECK in order with it. A failed ADD
// DELs the whole chain (DEL must be called even for the plugin that failed,
// and every plugin's DEL tolerates what was never made), so nothing is left
// half-made. The cache is written after every plugin that added something.
import { dropCache, readCache, writeCache, writeProgress } from './cache.ts';
import type { CacheEntry } from './cache.ts';
import { pluginError, runPlugin } from './exec.ts';
import type { CniCommand } from './exec.ts';
import { resultProblem } from './result.ts';
import type { Attachment, CapabilityArgs, CniConfList, CniPluginConf, CniResult } from './types.ts';

export interface ChainEnv {
  binDirs: readonly string[];
  cacheDir: string;
  timeoutMs: number;
  /** Each chain's figures when it ends (the daemon's debug log, the benchmark). */
  onStats?: (what: string, s: ChainStats) => void;
}

/** Time spent per chain: in the plugins' processes, and in all (the difference is cnm's). */
export interface ChainStats { calls: number; pluginMs: number; totalMs: number }

/**
 * One plugin's stdin: its config with the list's cniVersion and name, the
 * runtime values of the capabilities it declares (and only those, as libcni
 * does), and the previous result. `capabilities` is the runtime's, not the
 * plugin's, to read.
 */
export function pluginStdin(list: CniConfList, p: CniPluginConf, caps: CapabilityArgs, prev: CniResult | null): string {
  const { capabilities, ...conf } = p;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [k, on] of Object.entries(capabilities ?? {})) {
    const v = (caps as Record<string, unknown>)[k];
    if (on && v !== undefined) runtimeConfig[k] = v;
  }
  return JSON.stringify({
    ...conf,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prev ? { prevResult: prev } : {}),
  });
}

const entryOf = (list: CniConfList, att: Attachment, result: CniResult | null): CacheEntry => ({
  kind: 'cniCacheV1',
  containerId: att.containerId,
  config: Buffer.from(JSON.stringify(list)).toString('base64'),
  ifName: att.ifName,
  networkName: list.name,
  netns: att.netns,
  cniArgs: att.args ? att.args.split(';').map((kv) => kv.split('=', 2) as [string, string]) : [],
  capabilityArgs: att.capabilityArgs,
  result,
});

async function call(env: ChainEnv, stats: ChainStats, command: CniCommand, list: CniConfList, p: CniPluginConf, att: Attachment, prev: CniResult | null): Promise<string> {
  const out = await runPlugin({
    binDirs: env.binDirs, type: p.type, command, timeoutMs: env.timeoutMs,
    env: { containerId: att.containerId, netns: att.netns, ifName: att.ifName, args: att.args },
    stdin: pluginStdin(list, p, att.capabilityArgs, prev),
  });
  stats.calls++;
  stats.pluginMs += out.runMs;
  return out.stdout;
}

/** DEL of every plugin, last first; every failure is collected, none stops the rest. */
async function delAll(env: ChainEnv, stats: ChainStats, list: CniConfList, att: Attachment, prev: CniResult | null): Promise<Error[]> {
  const errors: Error[] = [];
  for (const p of [...list.plugins].reverse()) {
    try {
      await call(env, stats, 'DEL', list, p, att, prev);
    } catch (e) {
      errors.push(e as Error);
    }
  }
  return errors;
}

/** Runs ADD through the chain; the final result. On failure everything is DEL'd and the first error thrown. */
export async function addChain(env: ChainEnv, list: CniConfList, att: Attachment): Promise<CniResult> {
  const t0 = performance.now();
  const stats: ChainStats = { calls: 0, pluginMs: 0, totalMs: 0 };
  let prev: CniResult | null = null;
  try {
    // Progress is written before the first plugin runs and after each but
    // the last: a daemon killed mid-chain leaves the attachment findable,
    // and GC at start DELs it.
    writeProgress(env.cacheDir, entryOf(list, att, null), 0);
    for (const [i, p] of list.plugins.entries()) {
      const stdout = await call(env, stats, 'ADD', list, p, att, prev);
      const r = resultProblem(stdout);
      if ('problem' in r) throw pluginError(p.type, 'ADD', r.problem);
      prev = r.result;
      if (i < list.plugins.length - 1) writeProgress(env.cacheDir, entryOf(list, att, prev), i + 1);
    }
    writeCache(env.cacheDir, entryOf(list, att, prev), list.plugins.length - 1);
  } catch (e) {
    const errs = await delAll(env, stats, list, att, prev);
    if (!errs.length) dropCache(env.cacheDir, list.name, att.containerId, att.ifName);
    throw e;
  } finally {
    env.onStats?.(`ADD ${list.name} ${att.ifName}`, { ...stats, totalMs: performance.now() - t0 });
  }
  return prev!;
}

/**
 * DEL through the chain with what the cache holds (its config and result;
 * `list` and `att` when nothing was cached). The cache goes when every
 * plugin's DEL succeeded; otherwise the first error is thrown and the
 * entry stays for the next try.
 */
export async function delChain(env: ChainEnv, list: CniConfList, att: Attachment): Promise<void> {
  const t0 = performance.now();
  const stats: ChainStats = { calls: 0, pluginMs: 0, totalMs: 0 };
  const cached = readCache(env.cacheDir, list.name, att.containerId, att.ifName);
  const useList = cached ? JSON.parse(Buffer.from(cached.config, 'base64').toString()) as CniConfList : list;
  const useAtt = cached ? { ...att, capabilityArgs: cached.capabilityArgs } : att;
  const errs = await delAll(env, stats, useList, useAtt, cached?.result ?? null);
  env.onStats?.(`DEL ${list.name} ${att.ifName}`, { ...stats, totalMs: performance.now() - t0 });
  if (errs.length) throw errs[0]!;
  dropCache(env.cacheDir, list.name, att.containerId, att.ifName);
}

/** DEL of a cached attachment alone (GC: its network or endpoint is gone). */
export async function delCached(env: ChainEnv, e: CacheEntry, netnsExists: boolean): Promise<void> {
  const list = JSON.parse(Buffer.from(e.config, 'base64').toString()) as CniConfList;
  const att: Attachment = { containerId: e.containerId, netns: netnsExists ? e.netns : '', ifName: e.ifName, args: e.cniArgs.map(([k, v]) => `${k}=${v}`).join(';'), capabilityArgs: e.capabilityArgs };
  await delChain(env, list, att);
}

/** CHECK through the chain with the cached result; throws the first plugin's complaint. */
export async function checkChain(env: ChainEnv, list: CniConfList, att: Attachment): Promise<void> {
  // CHECK exists from spec 0.4.0; disableCheck turns it off (SPEC.md).
  if (list.disableCheck || ['0.3.0', '0.3.1'].includes(list.cniVersion)) return;
  const cached = readCache(env.cacheDir, list.name, att.containerId, att.ifName);
  if (!cached?.result) throw new Error(`no cached CNI result for ${list.name} ${att.ifName}`);
  const stats: ChainStats = { calls: 0, pluginMs: 0, totalMs: 0 };
  for (const p of list.plugins) await call(env, stats, 'CHECK', list, p, { ...att, capabilityArgs: cached.capabilityArgs }, cached.result);
}
