// HostConfig and Config fields that say how a sandbox runs -> the domain's
// SandboxRunConfig, with Docker's log-opt syntax for json-file rotation.
import { invalid } from '../model/errors.ts';
import type { MountSpec, RestartPolicyName, SandboxRunConfig } from '../model/records.ts';
import { DEFAULT_RUN } from '../core/state.ts';
import type { ContainerCreateWire, MountWire } from './wire.ts';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** "10m", "1g", "512k", "1048576" (docker's units.RAMInBytes). */
export function parseByteSize(v: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const mult = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || mult === undefined) throw invalid(`invalid ${field} "${v}": expected a size such as 10m, 1g or 512k`);
  return Math.round(Number(m[1]) * mult);
}

/** [rows, cols] as Docker sends it; anything else is refused. */
export function consoleSize(v: number[] | null | undefined): [number, number] {
  if (!v || v.length === 0) return [0, 0];
  const [h, w] = v;
  if (v.length !== 2 || !Number.isInteger(h) || !Number.isInteger(w) || (h ?? -1) < 0 || (w ?? -1) < 0) {
    throw invalid(`invalid ConsoleSize ${JSON.stringify(v)}: expected [height, width], two whole numbers >= 0`);
  }
  return [h ?? 0, w ?? 0];
}

/** A HostConfig.Mounts entry (wire) -> MountSpec; the core checks the rest (core/mount-parse.ts). */
export function mountSpecFromWire(m: MountWire, i: number): MountSpec {
  const bo = m.BindOptions ?? {};
  const vo = m.VolumeOptions ?? null;
  const to = m.TmpfsOptions ?? null;
  const refuse = (what: string): never => { throw invalid(`HostConfig.Mounts[${i}]: ${what} is not supported by cnm`); };
  if (bo.NonRecursive) refuse('BindOptions.NonRecursive');
  if (bo.CreateMountpoint) refuse('BindOptions.CreateMountpoint');
  if (vo?.Subpath) refuse('VolumeOptions.Subpath');
  return {
    type: (m.Type ?? '') as MountSpec['type'],
    source: m.Source ?? '',
    target: m.Target ?? '',
    readOnly: !!m.ReadOnly,
    ...(bo.Propagation ? { propagation: bo.Propagation } : {}),
    ...(vo ? {
      noCopy: !!vo.NoCopy,
      ...(vo.Labels ? { volumeLabels: vo.Labels } : {}),
      ...(vo.DriverConfig?.Name ? { volumeDriver: vo.DriverConfig.Name } : {}),
      ...(vo.DriverConfig?.Options ? { volumeDriverOpts: vo.DriverConfig.Options } : {}),
    } : {}),
    ...(to?.SizeBytes !== undefined ? { sizeBytes: to.SizeBytes } : {}),
    ...(to?.Mode !== undefined ? { mode: to.Mode } : {}),
  };
}

export function runConfigFromWire(w: ContainerCreateWire): SandboxRunConfig {
  const hc = w.HostConfig ?? {};
  const log = hc.LogConfig ?? {};
  const type = log.Type || 'json-file';
  if (type !== 'json-file') throw invalid(`logging driver "${type}" is not supported: expected json-file`);
  const opts = log.Config ?? {};
  for (const k of Object.keys(opts)) {
    if (k !== 'max-size' && k !== 'max-file') throw invalid(`unknown log opt '${k}' for json-file log driver: expected max-size or max-file`);
  }
  const maxFile = opts['max-file'] === undefined ? undefined : Number(opts['max-file']);
  if (maxFile !== undefined && (!Number.isInteger(maxFile) || maxFile < 1)) {
    throw invalid(`invalid value for max-file "${opts['max-file']}": expected a whole number >= 1`);
  }
  const rp = hc.RestartPolicy ?? {};
  return {
    ...DEFAULT_RUN,
    workingDir: w.WorkingDir ?? '',
    user: w.User ?? '',
    binds: hc.Binds ?? [],
    mountSpecs: (hc.Mounts ?? []).map(mountSpecFromWire),
    tmpfs: hc.Tmpfs ?? {},
    volumes: Object.keys(w.Volumes ?? {}),
    memory: hc.Memory ?? 0,
    nanoCpus: hc.NanoCpus ?? 0,
    pidsLimit: hc.PidsLimit ?? 0,
    privileged: hc.Privileged ?? false,
    // Sandboxes run under an init by default; image containers, as in Docker, only with --init.
    init: hc.Init ?? (w.Image ? false : DEFAULT_RUN.init),
    restartPolicy: { name: (rp.Name || 'no') as RestartPolicyName, maximumRetryCount: rp.MaximumRetryCount ?? 0 },
    ...(opts['max-size'] !== undefined ? { logMaxSize: parseByteSize(opts['max-size'], 'max-size') } : {}),
    ...(maxFile !== undefined ? { logMaxFile: maxFile } : {}),
    tty: !!w.Tty,
    openStdin: !!w.OpenStdin,
    stdinOnce: !!w.StdinOnce,
    attachStdin: !!w.AttachStdin,
    attachStdout: !!w.AttachStdout,
    attachStderr: !!w.AttachStderr,
    consoleSize: consoleSize(hc.ConsoleSize),
  };
}
