// A container's mounts, resolved at create: Binds, Mounts and Tmpfs parsed
// and checked, the image's VOLUMEs added as anonymous volumes, volume names
// filled in and the volumes to create listed. planMounts writes nothing;
// makeMountDirs makes the directories just before the record is committed.
import { statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { invalid, notFound } from '../model/errors.ts';
import type { MountConfig, SandboxRunConfig, VolumeRecord } from '../model/records.ts';
import type { Mount } from '../runtime/types.ts';
import type { Ctx } from './context.ts';
import { DEFAULT_PROPAGATION, parseMounts, tmpfsOptions } from './mount-parse.ts';
import type { MountRequest } from './mount-parse.ts';
import { makeVolumeDir, newVolumeRecord, volumeDirOf, volumeSource } from './volume-ops.ts';

export interface MountPlan {
  mounts: MountConfig[];
  /** Volumes this create makes (anonymous ones, and named ones not there yet). */
  volumes: VolumeRecord[];
  /** Host directories of Binds that Docker creates when missing. */
  bindDirs: string[];
}

/**
 * An image's VOLUME paths that no mount of the container covers already:
 * each becomes a fresh anonymous volume (Docker gives every container its
 * own, with a random name).
 */
export function anonymousMounts(paths: readonly string[], taken: readonly MountConfig[]): MountRequest[] {
  const have = new Set(taken.map((m) => m.destination));
  const out: MountRequest[] = [];
  for (const p of paths) {
    const dest = posix.normalize(p).replace(/(.)\/$/, '$1');
    if (!dest.startsWith('/') || have.has(dest)) continue;
    have.add(dest);
    out.push({
      type: 'volume', source: '', destination: dest, readonly: false, propagation: DEFAULT_PROPAGATION, mode: '',
      noCopy: false, options: [], origin: 'image',
    });
  }
  return out;
}

type MountInput = Pick<SandboxRunConfig, 'binds' | 'mountSpecs' | 'tmpfs' | 'volumes'>;

/**
 * Checks every mount and decides the volumes; nothing is written. The
 * request's Config.Volumes and the image's VOLUMEs not covered by a mount
 * get an anonymous volume each.
 */
export function planMounts(ctx: Ctx, run: MountInput, imageVolumes: readonly string[]): MountPlan {
  const requests = parseMounts(run.binds, run.mountSpecs, run.tmpfs);
  for (const p of run.volumes) {
    if (!p.startsWith('/')) throw invalid(`invalid Volumes entry "${p}": invalid mount path: '${p}' mount path must be absolute`);
  }
  requests.push(...anonymousMounts([...run.volumes, ...imageVolumes], requests));
  const volumes: VolumeRecord[] = [];
  const bindDirs: string[] = [];
  const mounts = requests.map(({ create, ...m }): MountConfig => {
    if (m.type === 'bind') {
      let exists = true;
      try { statSync(m.source); } catch { exists = false; }
      // -v creates a missing host directory (Docker's legacy behaviour); --mount refuses it.
      if (!exists && m.origin === 'mounts') throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
      if (!exists) bindDirs.push(m.source);
      return m;
    }
    if (m.type === 'tmpfs') return { ...m, options: m.readonly ? tmpfsOptions([...m.options, 'ro']) : m.options };
    // moby setBindModeIfNull: a Binds or Mounts volume of the local driver
    // shows Mode "z" unless one was given; Config.Volumes and the image's do not.
    if (m.origin !== 'image' && !m.mode) m.mode = 'z';
    const named = m.source;
    const have = named ? ctx.state.volumes.get(named) ?? volumes.find((v) => v.name === named) : undefined;
    if (have) return m;
    const v = newVolumeRecord(ctx, { name: named, driver: create?.driver ?? 'local', driverOpts: create?.driverOpts ?? {}, labels: create?.labels ?? {} });
    volumes.push(v);
    return named ? m : { ...m, source: v.name, anonymous: true };
  });
  return { mounts, volumes, bindDirs };
}

/** Makes the plan's directories; returns the undo that removes the volumes' again. */
export async function makeMountDirs(ctx: Ctx, plan: MountPlan): Promise<() => Promise<void>> {
  for (const d of plan.bindDirs) await mkdir(d, { recursive: true, mode: 0o755 });
  for (const v of plan.volumes) await makeVolumeDir(ctx, v);
  return async () => {
    for (const v of plan.volumes) await rm(volumeDirOf(ctx, v.name), { recursive: true, force: true });
  };
}

/** Makes again the data directories of a container's volumes that a crash lost (see removeVolume). */
export async function ensureVolumeDirs(ctx: Ctx, mounts: readonly MountConfig[]): Promise<void> {
  for (const m of mounts) {
    const v = m.type === 'volume' ? ctx.state.volumes.get(m.source) : undefined;
    if (v) await makeVolumeDir(ctx, v);
  }
}

/** What the runtime mounts for a container's mounts: host paths and tmpfs options. */
export function runtimeMounts(ctx: Ctx, mounts: readonly MountConfig[]): Mount[] {
  return mounts.map((m): Mount => {
    if (m.type === 'tmpfs') return { type: 'tmpfs', destination: m.destination, readonly: m.readonly, options: m.options };
    if (m.type === 'bind') return { type: 'bind', source: m.source, destination: m.destination, readonly: m.readonly, propagation: m.propagation };
    const v = ctx.state.volumes.get(m.source);
    if (!v) throw notFound(`get ${m.source}: no such volume (mounted at ${m.destination})`);
    const src = volumeSource(v);
    if (src.kind === 'tmpfs') {
      const options = tmpfsOptions([...src.options, ...(m.readonly ? ['ro'] : [])]);
      return { type: 'tmpfs', destination: m.destination, readonly: options.includes('ro'), options };
    }
    return {
      type: 'bind', source: src.source, destination: m.destination, readonly: m.readonly || src.readonly,
      propagation: src.propagation ?? m.propagation,
    };
  });
}
