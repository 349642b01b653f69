// Volumes of the local driver, in Docker's layout: the data of volume NAME
// is <data-root>/volumes/NAME/_data, its record is in the store (key
// volumes/NAME). cnm never mounts anything on the host for a volume: runc
// binds _data (or the device of a `type=none o=bind` volume, or a tmpfs for
// `type=tmpfs`) inside the container's own mount namespace, so nothing is
// left to unmount when a daemon or a container dies.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { CnmError, conflict, invalid, notFound } from '../model/errors.ts';
import { newId } from '../model/ids.ts';
import type { SandboxRecord, VolumeRecord } from '../model/records.ts';
import type { Ctx } from './context.ts';
import { labelMatches } from './network-ops.ts';
import { tmpfsOptionProblem, volumeNameProblem } from './mount-parse.ts';
import { treeBytes } from './disk-usage.ts';
import { mountPoints } from '../images/rootfs.ts';

/** moby volume/service: the label of volumes created without a name (API >= 1.42 prunes only these by default). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface CreateVolumeRequest {
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
  labels: Record<string, string>;
}

export const volumeDirOf = (ctx: Ctx, name: string): string => join(ctx.dataRoot, 'volumes', name);

/** RFC 3339 in seconds, as Docker shows a volume's CreatedAt. */
const createdNow = (): string => `${new Date().toISOString().slice(0, 19)}Z`;

// moby volume/local/local_unix.go: validOpts and mandatoryOpts.
const VALID_OPTS = new Set(['type', 'device', 'o', 'size']);
const MANDATORY: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };
const BIND_FLAGS = new Set(['bind', 'rbind', 'ro', 'rw', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/**
 * The local driver's options, checked at create. cnm supports the two kinds
 * that need no mount on the host: `type=tmpfs` (each container gets a tmpfs
 * of its own) and `type=none o=bind device=/path`.
 */
export function checkLocalOptions(opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) if (!VALID_OPTS.has(k)) throw invalid(`invalid option: "${k}": expected type, device or o`);
  for (const [k, needs] of Object.entries(MANDATORY)) {
    if (opts[k] === undefined) continue;
    for (const n of needs) if (opts[n] === undefined) throw invalid(`missing required option: "${n}"`);
  }
  if (opts.size !== undefined) throw invalid('quota size requested but no quota support');
  const type = opts.type;
  if (type === undefined) return;
  const o = opts.o ? opts.o.split(',') : [];
  if (type === 'tmpfs') {
    const bad = tmpfsOptionProblem(o);
    if (bad) throw invalid(`invalid option o=${JSON.stringify(opts.o)} for type tmpfs: ${bad}`);
    return;
  }
  if (type === 'none' || o.includes('bind') || o.includes('rbind')) {
    if (!o.includes('bind') && !o.includes('rbind')) throw invalid('invalid option o for type none: expected o=bind');
    const bad = o.find((x) => !BIND_FLAGS.has(x));
    if (bad) throw invalid(`invalid option o=${JSON.stringify(opts.o)}: "${bad}" is not a bind mount option (bind, ro, rw or a propagation)`);
    if (!isAbsolute(opts.device ?? '')) throw invalid(`invalid option device=${JSON.stringify(opts.device)}: expected an absolute host path to bind`);
    return;
  }
  throw invalid(`volume type "${type}" needs a mount on the host, which cnm does not make: expected type=tmpfs, or type=none with o=bind`);
}

/** Checks a create request and returns the record it makes (nothing is written). */
export function newVolumeRecord(ctx: Ctx, req: CreateVolumeRequest): VolumeRecord {
  const driver = req.driver || 'local';
  const name = req.name || newId();
  // Docker's messages name the volume: "create NAME: invalid option ...".
  if (driver !== 'local') throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  const bad = volumeNameProblem(name);
  if (bad) throw invalid(`create ${name}: ${bad}`);
  try {
    checkLocalOptions(req.driverOpts);
  } catch (e) {
    throw invalid(`create ${name}: ${(e as Error).message}`);
  }
  return {
    name, driver: 'local', created: createdNow(), mountpoint: join(volumeDirOf(ctx, name), '_data'),
    labels: { ...req.labels, ...(req.name ? {} : { [ANONYMOUS_LABEL]: '' }) }, options: req.driverOpts,
  };
}

/** Makes a volume's directories (again, if a crash lost them), as Docker's: 0701 and _data 0755. */
export async function makeVolumeDir(ctx: Ctx, v: VolumeRecord): Promise<void> {
  await mkdir(volumeDirOf(ctx, v.name), { recursive: true, mode: 0o701 });
  await mkdir(v.mountpoint, { recursive: true, mode: 0o755 });
}

/**
 * docker volume create: an existing volume of that name is returned as it
 * is (Docker's create is idempotent; labels and options of the call are
 * ignored then).
 */
export async function createVolume(ctx: Ctx, req: CreateVolumeRequest): Promise<VolumeRecord> {
  const have = req.name ? ctx.state.volumes.get(req.name) : undefined;
  if (have) {
    if ((req.driver || 'local') !== have.driver) throw conflict(`volume name ${req.name} already in use by driver ${have.driver}`);
    return have;
  }
  const v = newVolumeRecord(ctx, req);
  await makeVolumeDir(ctx, v);
  try {
    const [stored] = await ctx.state.commit([{ kind: 'volume', put: v }]);
    ctx.events.emit('volume', 'create', v.name, { driver: v.driver });
    return stored;
  } catch (e) {
    await rm(volumeDirOf(ctx, v.name), { recursive: true, force: true });
    throw e;
  }
}

/** IDs of the containers (running or not) that mount the volume. */
export function volumeUsers(ctx: Ctx, name: string): string[] {
  return [...ctx.state.sandboxes.values()]
    .filter((s) => s.run.mounts.some((m) => m.type === 'volume' && m.source === name))
    .map((s) => s.id);
}

export function findVolume(ctx: Ctx, name: string): VolumeRecord {
  const v = ctx.state.volumes.get(name);
  if (!v) throw notFound(`get ${name}: no such volume`);
  return v;
}

/**
 * docker volume rm: refused while any container mounts it (force does not
 * change that in Docker either; it only ignores a missing volume). The data
 * goes first, then the record: a crash between leaves a record whose
 * directory is made again at its next use.
 */
export async function removeVolume(ctx: Ctx, name: string, force: boolean): Promise<void> {
  const v = ctx.state.volumes.get(name);
  if (!v) {
    if (force) return;
    throw notFound(`get ${name}: no such volume`);
  }
  const users = volumeUsers(ctx, name);
  if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
  // cnm mounts nothing there, but someone may have: a recursive removal
  // would go on into that filesystem.
  const dir = volumeDirOf(ctx, name);
  const mounted = [...(await mountPoints())].find((p) => p === dir || p.startsWith(`${dir}/`));
  if (mounted) throw conflict(`remove ${name}: ${mounted} is a mount point on the host: unmount it first`);
  await rm(dir, { recursive: true, force: true });
  await ctx.state.commit([{ kind: 'volume', del: name }]);
  ctx.events.emit('volume', 'destroy', name, { driver: v.driver });
}


/** Bytes in a volume (each inode once), as Docker's df reports its size. */
export const dirSize = treeBytes;

export interface VolumePruneFilter {
  label: string[];
  labelNot: string[];
  /** Named volumes too (API >= 1.42 prunes anonymous ones only unless all=true). */
  all: boolean;
}

/** docker volume prune: unused volumes matching the filter; their names and the bytes freed. */
export async function pruneVolumes(ctx: Ctx, f: VolumePruneFilter): Promise<{ names: string[]; bytes: number }> {
  const names: string[] = [];
  let bytes = 0;
  for (const v of [...ctx.state.volumes.values()]) {
    if (!f.all && !Object.hasOwn(v.labels, ANONYMOUS_LABEL)) continue;
    if (!f.label.every((l) => labelMatches(v.labels, l))) continue;
    if (f.labelNot.some((l) => labelMatches(v.labels, l))) continue;
    if (volumeUsers(ctx, v.name).length) continue;
    const size = await dirSize(v.mountpoint);
    try {
      await removeVolume(ctx, v.name, false);
    } catch (e) {
      if (e instanceof CnmError && e.code === 'CONFLICT') continue;
      throw e;
    }
    names.push(v.name);
    bytes += size;
  }
  return { names, bytes };
}

/** How a volume is mounted into a container: a bind of its data or device, or a tmpfs of its own. */
export type VolumeSource =
  | { kind: 'bind'; source: string; readonly: boolean; propagation: string | null }
  | { kind: 'tmpfs'; options: string[] };

export function volumeSource(v: VolumeRecord): VolumeSource {
  const o = v.options.o ? v.options.o.split(',') : [];
  if (v.options.type === 'tmpfs') return { kind: 'tmpfs', options: o };
  if (v.options.device && (o.includes('bind') || o.includes('rbind'))) {
    const prop = o.find((x) => x.includes('private') || x.includes('shared') || x.includes('slave')) ?? null;
    return { kind: 'bind', source: v.options.device, readonly: o.includes('ro'), propagation: prop };
  }
  return { kind: 'bind', source: v.mountpoint, readonly: false, propagation: null };
}

/**
 * The anonymous volumes of a removed container (docker rm -v, --rm), as
 * moby's removeMountPoints: those made for it without a name; named ones
 * stay, and one another container mounts too is left (best effort, logged).
 */
export async function removeAnonymousVolumes(ctx: Ctx, sbx: SandboxRecord): Promise<void> {
  for (const m of sbx.run.mounts) {
    if (m.type !== 'volume' || !m.anonymous) continue;
    try {
      await removeVolume(ctx, m.source, true);
    } catch (e) {
      ctx.log.warn(`volume ${m.source} of container ${sbx.name} not removed: ${(e as Error).message}`);
    }
  }
}

/**
 * At start: directories under volumes/ that no record owns, left by a
 * create that died before its commit, are removed when empty. One with
 * data is left (and logged): its record may have been lost, not its use.
 */
export async function sweepVolumeDirs(ctx: Ctx): Promise<string[]> {
  const root = join(ctx.dataRoot, 'volumes');
  const removed: string[] = [];
  let names: string[];
  try { names = await readdir(root); } catch { return removed; }
  for (const n of names) {
    if (ctx.state.volumes.has(n)) continue;
    const data = join(root, n, '_data');
    const inside = await readdir(data).catch(() => [] as string[]);
    if (inside.length) {
      ctx.log.warn(`volume directory ${join(root, n)} has no record but holds data: left as it is`);
      continue;
    }
    await rm(join(root, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
