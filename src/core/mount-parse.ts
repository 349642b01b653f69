// Docker's three ways of asking for mounts, parsed into one list before
// anything is made: HostConfig.Binds ("-v SRC:DST[:MODE]"), HostConfig.Mounts
// ("--mount type=...") and HostConfig.Tmpfs ("--tmpfs /x:size=64m"). The
// rules and messages are moby's (volume/mounts/linux_parser.go,
// validate.go); a bad one is a 400 naming the value.
import { isAbsolute, posix } from 'node:path';
import { invalid } from '../model/errors.ts';
import type { MountConfig, MountSpec } from '../model/records.ts';

/** A mount as asked; a volume's source '' is a new anonymous volume. */
export interface MountRequest extends MountConfig {
  /** A volume made for this mount: its labels, driver and options (Mounts' VolumeOptions). */
  create?: { labels: Record<string, string>; driver: string; driverOpts: Record<string, string> };
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const CONSISTENCY = new Set(['consistent', 'cached', 'delegated']);
export const DEFAULT_PROPAGATION = 'rprivate';

/** The local driver's volume names (moby volume/local: validName). */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function volumeNameProblem(name: string): string | null {
  if (VOLUME_NAME.test(name)) return null;
  if (name.length < 2 && /^[a-zA-Z0-9]*$/.test(name)) return `volume name is too short, names should be at least two alphanumeric characters`;
  return `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`;
}

/** moby ValidMountMode: at most one of each of rw|ro, z|Z, a propagation, nocopy, a consistency. */
function modeProblem(mode: string): boolean {
  if (!mode) return false;
  const seen = { rw: 0, label: 0, prop: 0, copy: 0 };
  for (const o of mode.split(',')) {
    if (o === 'rw' || o === 'ro') seen.rw++;
    else if (o === 'z' || o === 'Z') seen.label++;
    else if (PROPAGATIONS.has(o)) seen.prop++;
    else if (o === 'nocopy') seen.copy++;
    else if (!CONSISTENCY.has(o)) return true;
  }
  return Object.values(seen).some((n) => n > 1);
}

const spec = (raw: string): string => `invalid volume specification: '${raw}'`;
const config = (type: string, why: string): string => `invalid mount config for type "${type}": ${why}`;
const pathProblem = (p: string): string => `invalid mount path: '${p}' mount path must be absolute`;

function checkTarget(type: string, target: string, raw?: string): void {
  const wrap = (why: string): never => { throw invalid(raw === undefined ? why : `${spec(raw)}: ${why}`); };
  if (!target) wrap(config(type, 'field Target must not be empty'));
  if (!isAbsolute(target)) wrap(config(type, pathProblem(target)));
  if (posix.normalize(target) === '/') wrap('invalid specification: destination can\'t be \'/\'');
  if (/[\0\n]/.test(target)) wrap(config(type, `invalid mount path: ${JSON.stringify(target)} has control characters`));
}

const clean = (p: string): string => posix.normalize(p).replace(/(.)\/$/, '$1');

/** One HostConfig.Binds entry: /host:/ctr[:MODE], name:/ctr[:MODE] or /ctr (an anonymous volume). */
export function parseBind(raw: string): MountRequest {
  const parts = raw.split(':');
  if (parts.some((p) => p === '')) throw invalid(spec(raw));
  let source = '';
  let target = '';
  let mode = '';
  if (parts.length === 1) target = parts[0] ?? '';
  else if (parts.length === 2) {
    // "/foo:rw" is a destination with a mode: volumes cannot carry one (moby).
    if (!modeProblem(parts[1] ?? '')) throw invalid(spec(raw));
    [source = '', target = ''] = parts;
  } else if (parts.length === 3) [source = '', target = '', mode = ''] = parts;
  else throw invalid(spec(raw));
  if (modeProblem(mode)) throw invalid(`invalid mode: ${mode} (in volume specification '${raw}'): expected ro or rw, z or Z, nocopy, and a propagation (rprivate, rshared, rslave, private, shared, slave), comma-separated`);
  const type = isAbsolute(source) ? 'bind' : 'volume';
  checkTarget(type, target, raw);
  const opts = mode ? mode.split(',') : [];
  if (type === 'bind' && opts.includes('nocopy')) throw invalid(`${spec(raw)}: ${config('bind', 'field VolumeOptions must not be specified')}`);
  if (type === 'volume' && source) {
    const bad = volumeNameProblem(source);
    if (bad) throw invalid(`create ${source}: ${bad}`);
  }
  if (/[\0\n]/.test(source)) throw invalid(`${spec(JSON.stringify(raw))}: control characters`);
  return {
    type, source: type === 'bind' ? clean(source) : source, destination: clean(target), readonly: opts.includes('ro'),
    propagation: opts.find((o) => PROPAGATIONS.has(o)) ?? DEFAULT_PROPAGATION,
    mode, noCopy: opts.includes('nocopy'), options: [], origin: 'binds',
  };
}

/** One HostConfig.Mounts entry (moby validateMountConfigImpl). */
export function parseMountSpec(m: MountSpec): MountRequest {
  const t = m.type as string;
  if (t !== 'bind' && t !== 'volume' && t !== 'tmpfs') throw invalid(config(t, 'mount type unknown: expected bind, volume or tmpfs'));
  checkTarget(t, m.target);
  const notFor = (field: string): never => { throw invalid(config(t, `field ${field} must not be specified`)); };
  const base = { destination: clean(m.target), readonly: m.readOnly, mode: '', origin: 'mounts' as const };
  if (m.type === 'bind') {
    if (m.noCopy !== undefined || m.volumeLabels || m.volumeDriverOpts) notFor('VolumeOptions');
    if (m.sizeBytes !== undefined || m.mode !== undefined) notFor('TmpfsOptions');
    if (!m.source) throw invalid(config(t, 'field Source must not be empty'));
    if (!isAbsolute(m.source)) throw invalid(config(t, pathProblem(m.source)));
    const prop = m.propagation || DEFAULT_PROPAGATION;
    if (!PROPAGATIONS.has(prop)) throw invalid(`invalid propagation mode: ${prop}: expected rprivate, private, rshared, shared, rslave or slave`);
    return { ...base, type: 'bind', source: clean(m.source), propagation: prop, noCopy: false, options: [] };
  }
  if (m.type === 'volume') {
    if (m.propagation) notFor('BindOptions');
    if (m.sizeBytes !== undefined || m.mode !== undefined) notFor('TmpfsOptions');
    if (m.source) {
      const bad = volumeNameProblem(m.source);
      if (bad) throw invalid(`create ${m.source}: ${bad}`);
    }
    return {
      ...base, type: 'volume', source: m.source, propagation: DEFAULT_PROPAGATION, noCopy: !!m.noCopy, options: [],
      create: { labels: m.volumeLabels ?? {}, driver: m.volumeDriver || 'local', driverOpts: m.volumeDriverOpts ?? {} },
    };
  }
  if (m.source) notFor('Source');
  if (m.propagation) notFor('BindOptions');
  if (m.noCopy !== undefined || m.volumeLabels || m.volumeDriverOpts) notFor('VolumeOptions');
  const size = m.sizeBytes ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) throw invalid(config(t, `invalid tmpfs size ${size}: expected a whole number of bytes >= 0`));
  const mode = m.mode ?? 0;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw invalid(config(t, `invalid tmpfs mode ${mode}: expected file mode bits (0 to 07777)`));
  const given = [...(m.readOnly ? ['ro'] : []), ...(mode ? [`mode=${mode.toString(8)}`] : []), ...(size ? [`size=${size}`] : [])];
  return { ...base, type: 'tmpfs', source: '', propagation: '', noCopy: false, options: tmpfsOptions(given) };
}

/** tmpfs(5) options cnm passes on; anything else is refused here rather than by mount(2) at start. */
const TMPFS_FLAGS = new Set([
  'ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'relatime', 'norelatime',
  'strictatime', 'nostrictatime', 'diratime', 'nodiratime', 'sync', 'async', 'dirsync', 'mand', 'nomand',
  ...PROPAGATIONS,
]);
const TMPFS_SIZE = /^\d+[kmgKMG%]?$/;
const TMPFS_KEYS: Record<string, { re: RegExp; want: string }> = {
  size: { re: TMPFS_SIZE, want: 'a size such as 64m, 1g, 512k or 50%' },
  nr_blocks: { re: /^\d+[kmgKMG%]?$/, want: 'a number of blocks' },
  nr_inodes: { re: /^\d+[kmgKMG%]?$/, want: 'a number of inodes' },
  mode: { re: /^[0-7]{1,4}$/, want: 'octal file mode bits such as 1777' },
  uid: { re: /^\d+$/, want: 'a numeric user id' },
  gid: { re: /^\d+$/, want: 'a numeric group id' },
  huge: { re: /^(never|always|within_size|advise)$/, want: 'never, always, within_size or advise' },
};

/** Checks tmpfs options ("size=64m,uid=1000"); returns the problem or null. */
export function tmpfsOptionProblem(opts: string[]): string | null {
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq < 0) {
      if (!TMPFS_FLAGS.has(o)) return `unknown tmpfs option "${o}"`;
      continue;
    }
    const rule = TMPFS_KEYS[o.slice(0, eq)];
    if (!rule) return `unknown tmpfs option "${o}"`;
    if (!rule.re.test(o.slice(eq + 1))) return `invalid tmpfs option "${o}": expected ${rule.want}`;
  }
  return null;
}

/** The opposite of each flag: a later one replaces an earlier one (moby mount.MergeTmpfsOptions). */
const OPPOSITE: Record<string, string> = {
  ro: 'rw', exec: 'noexec', suid: 'nosuid', dev: 'nodev', atime: 'noatime', diratime: 'nodiratime', relatime: 'norelatime',
  strictatime: 'nostrictatime', sync: 'async', mand: 'nomand',
};
for (const [a, b] of Object.entries(OPPOSITE)) OPPOSITE[b] = a;

/**
 * Docker's tmpfs defaults (noexec, nosuid, nodev; moby daemon/oci_linux.go)
 * with the given options merged over them: the last of a flag and its
 * opposite wins, and so does the last value of a key.
 */
export function tmpfsOptions(given: string[]): string[] {
  const out: string[] = [];
  for (const o of ['noexec', 'nosuid', 'nodev', ...given]) {
    const eq = o.indexOf('=');
    const drop = eq >= 0 ? (x: string) => x.startsWith(o.slice(0, eq + 1)) : (x: string) => x === o || x === OPPOSITE[o] || (PROPAGATIONS.has(o) && PROPAGATIONS.has(x));
    const i = out.findIndex(drop);
    if (i >= 0) out.splice(i, 1);
    out.push(o);
  }
  return out;
}

/** One HostConfig.Tmpfs entry: path -> "size=64m,mode=1777". */
export function parseTmpfs(path: string, opts: string): MountRequest {
  checkTarget('tmpfs', path);
  const given = opts ? opts.split(',') : [];
  const bad = tmpfsOptionProblem(given);
  if (bad) throw invalid(`invalid Tmpfs ${JSON.stringify(`${path}:${opts}`)}: ${bad}`);
  const options = tmpfsOptions(given);
  return {
    type: 'tmpfs', source: '', destination: clean(path), readonly: options.includes('ro'),
    propagation: '', mode: opts, noCopy: false, options, origin: 'tmpfs',
  };
}

/** Binds, Mounts and Tmpfs in that order; two mounts on one path are refused, as in Docker. */
export function parseMounts(binds: string[], specs: MountSpec[], tmpfs: Record<string, string>): MountRequest[] {
  const out = [...binds.map(parseBind), ...specs.map(parseMountSpec), ...Object.entries(tmpfs).map(([p, o]) => parseTmpfs(p, o))];
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.destination)) throw invalid(`Duplicate mount point: ${m.destination}`);
    seen.add(m.destination);
  }
  return out;
}

/**
 * Mounts of a record stored before they were resolved at create: host-path
 * binds only, checked then by a looser rule ("ro,rw" passed), so a spec
 * today's parser refuses is read the old way instead of failing the load.
 */
export function legacyMounts(binds: string[]): MountConfig[] {
  return binds.map((b) => {
    try {
      const { create: _create, ...m } = parseBind(b);
      return m;
    } catch {
      const [source = '', destination = '', mode = ''] = b.split(':');
      return {
        type: 'bind', source, destination, readonly: mode.split(',').includes('ro'), propagation: DEFAULT_PROPAGATION, mode, noCopy: false,
        options: [], origin: 'binds',
      };
    }
  });
}
