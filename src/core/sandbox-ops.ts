// Sandboxes: containers without images. A sandbox is a network side
// (net-sandbox.ts: namespace, endpoints, files) and a process that runs in
// it (process-ops.ts, through the Runtime); this puts the two together.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readExitCode } from '../runtime/proc.ts';
import { mountRootfs, unmountRootfs } from '../images/rootfs.ts';
import { forgetWritten } from '../sandbox/files.ts';
import type { Ctx } from './context.ts';
import { checkAttachment, runDirOf, writeSandboxFiles } from './endpoint-ops.ts';
import { netnsPathOf, setUpNetSandbox, tearDownNetSandbox } from './net-sandbox.ts';
import { checkRunConfig, logDirOf, startProcess } from './process-ops.ts';
import { CnmError, conflict, forbidden, invalid, notFound } from '../model/errors.ts';
import { newId, rfc3339Nano, shortId } from '../model/ids.ts';
import type { AttachmentConfig, SandboxRecord } from '../model/records.ts';
import { UndoStack } from './mutex.ts';
import { makeMountDirs, planMounts } from './mount-plan.ts';
import { removeAnonymousVolumes } from './volume-ops.ts';
import { generateName } from './names.ts';
import { checkSandboxNames } from './sandbox-validate.ts';

/** What a client asks for; the rest of a SandboxRecord is the daemon's. */
export type CreateSandboxRequest = Pick<SandboxRecord,
  'name' | 'hostname' | 'domainname' | 'cmd' | 'env' | 'image' | 'labels' | 'networkMode' | 'dns' | 'dnsSearch'
  | 'dnsOptions' | 'extraHosts' | 'ports' | 'publishAll' | 'autoRemove' | 'run'> & {
  /** Per network reference: its endpoint settings. */
  networks: { ref: string; att: Omit<AttachmentConfig, 'networkId'> }[];
  /** Config.Entrypoint; null or absent: the image's. `cmd` is Config.Cmd then. */
  entrypoint?: string[] | null;
};

const SANDBOX_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export { netnsPathOf };


/** 'host' | 'none' | 'container:x' modes, or a network by reference. */
export function modeKind(ctx: Ctx, mode: string): 'host' | 'none' | 'container' | 'network' {
  if (mode === 'host' || mode === 'none') return mode;
  if (mode.startsWith('container:')) return 'container';
  const net = ctx.state.lookupNetwork(mode);
  const caps = net ? ctx.drivers.get(net.driver).capabilities : null;
  // A network that gives no endpoints is a mode: the host's namespace, or
  // one with loopback only.
  if (caps && !caps.endpoints) return caps.ownNamespace ? 'none' : 'host';
  return 'network';
}

export async function createSandbox(ctx: Ctx, req: CreateSandboxRequest): Promise<SandboxRecord> {
  const id = newId();
  const name = req.name || generateName((n) => [...ctx.state.sandboxes.values()].some((s) => s.name === n));
  if (!SANDBOX_NAME.test(name)) {
    throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const clash = [...ctx.state.sandboxes.values()].find((s) => s.name === name.replace(/^\//, ''));
  if (clash) {
    throw conflict(`Conflict. The container name "/${clash.name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  }
  checkRunConfig(req);
  const fromImage = req.image ? await imageConfig(ctx, req) : undefined;
  const command = fromImage?.command ?? { entrypoint: req.entrypoint ?? null, cmd: req.cmd };
  const argv = [...(command.entrypoint ?? []), ...(command.cmd ?? [])];
  if (!argv.length) throw invalid(req.image ? 'No command specified' : 'no command specified: expected a command to run in the sandbox');
  // Binds, Mounts, Tmpfs, and an anonymous volume for each of Config.Volumes (the image's VOLUMEs merged in).
  const mountPlan = planMounts(ctx, fromImage?.run ?? req.run, []);
  checkSandboxNames({ ...req, name });
  const mode = req.networkMode || 'bridge';
  const kind = modeKind(ctx, mode);
  let networkMode = kind === 'network' ? (req.networkMode || 'bridge') : kind;
  if (kind === 'container') {
    // Docker's rules for sharing another container's network namespace.
    const target = ctx.state.findSandbox(mode.slice('container:'.length));
    if (req.hostname) throw invalid('conflicting options: hostname and the network mode');
    if (req.dns.length || req.dnsSearch.length || req.dnsOptions.length) throw invalid('conflicting options: dns and the network mode');
    if (req.extraHosts.length) throw invalid('conflicting options: custom host-to-IP mapping and the network mode');
    if (req.ports.length || req.publishAll) throw invalid('conflicting options: port publishing and the container type network mode');
    networkMode = `container:${target.id}`;
  }
  const refs = req.networks.length ? req.networks : kind === 'network' ? [{ ref: mode, att: emptyAtt() }] : [];
  if (kind !== 'network' && req.networks.some((n) => n.ref !== mode && modeKind(ctx, n.ref) === 'network')) {
    throw invalid(`conflicting options: ${mode} network mode cannot be combined with other networks`);
  }
  const attachments: AttachmentConfig[] = [];
  if (kind === 'network') {
    for (const { ref, att } of refs) {
      const net = ctx.state.findNetwork(ref);
      const drv = ctx.drivers.get(net.driver);
      if (!drv.capabilities.combinable && refs.length > 1) {
        throw invalid(`conflicting options: network ${net.name} (${net.driver}) cannot be combined with other networks`);
      }
      if (attachments.some((a) => a.networkId === net.id)) throw invalid(`network ${net.name} given twice`);
      const full = { ...att, networkId: net.id };
      checkAttachment(ctx, net, full);
      attachments.push(full);
    }
  }
  const sbx: SandboxRecord = {
    id,
    name: name.replace(/^\//, ''),
    hostname: req.hostname || (kind === 'host' ? hostHostname() : kind === 'container' ? ctx.state.findSandbox(networkMode.slice(10)).hostname : shortId(id)),
    domainname: req.domainname,
    cmd: argv,
    command,
    env: fromImage?.env ?? req.env,
    image: req.image,
    ...(fromImage ? { imageId: fromImage.id } : {}),
    labels: fromImage?.labels ?? req.labels,
    created: rfc3339Nano(),
    networkMode,
    attachments,
    dns: req.dns,
    dnsSearch: req.dnsSearch,
    dnsOptions: req.dnsOptions,
    extraHosts: req.extraHosts,
    ports: fromImage?.ports ?? req.ports,
    publishAll: req.publishAll,
    autoRemove: req.autoRemove,
    state: 'created',
    pid: 0,
    pidStart: '',
    exitCode: 0,
    startedAt: '0001-01-01T00:00:00Z',
    finishedAt: '0001-01-01T00:00:00Z',
    netnsPath: '',
    run: { ...(fromImage?.run ?? req.run), mounts: mountPlan.mounts },
    monitorPid: 0,
    monitorStart: '',
    restartCount: 0,
    stoppedByUser: false,
  };
  const undoDirs = await makeMountDirs(ctx, mountPlan);
  try {
    await ctx.state.commit([...mountPlan.volumes.map((put) => ({ kind: 'volume' as const, put })), { kind: 'sandbox', put: sbx }]);
  } catch (e) {
    await undoDirs();
    throw e;
  }
  return sbx;
}

interface FromImage {
  id: string;
  command: { entrypoint: string[] | null; cmd: string[] | null };
  env: string[];
  labels: Record<string, string>;
  ports: CreateSandboxRequest['ports'];
  run: CreateSandboxRequest['run'];
}

const keyOf = (kv: string): string => (kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv);

/**
 * The request merged with its image's config as Docker merges them (M
 * daemon/commit.go merge): the image's Entrypoint unless one is given, its
 * Cmd only when neither is given; its Env for names not given; its
 * WorkingDir, User and Labels as defaults; with -P its exposed ports too.
 */
async function imageConfig(ctx: Ctx, req: CreateSandboxRequest): Promise<FromImage> {
  if (!ctx.images) throw notFound(`No such image: ${req.image}`);
  const rec = ctx.images.resolve(req.image);
  const c = ((await ctx.images.config(rec.id)).config ?? {}) as {
    Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string; User?: string;
    Labels?: Record<string, string> | null; ExposedPorts?: Record<string, unknown> | null; Volumes?: Record<string, unknown> | null;
  };
  const given = req.entrypoint !== undefined && req.entrypoint !== null && req.entrypoint.length > 0;
  const entrypoint = given ? req.entrypoint! : (c.Entrypoint ?? null);
  const cmd = req.cmd.length ? req.cmd : given ? null : (c.Cmd ?? null);
  const names = new Set(req.env.map(keyOf));
  const env = [...req.env, ...(c.Env ?? []).filter((e) => !names.has(keyOf(e)))];
  const ports = [...req.ports];
  if (req.publishAll) {
    for (const k of Object.keys(c.ExposedPorts ?? {})) {
      const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(k);
      const proto = (m?.[2] ?? 'tcp') as (typeof ports)[number]['proto'];
      if (m && !ports.some((p) => p.containerPort === Number(m[1]) && p.proto === proto)) ports.push({ proto, containerPort: Number(m[1]), hostIp: '', hostPort: 0 });
    }
  }
  return {
    id: rec.id,
    command: { entrypoint, cmd },
    env,
    labels: { ...(c.Labels ?? {}), ...req.labels },
    ports,
    run: {
      ...req.run, workingDir: req.run.workingDir || c.WorkingDir || '', user: req.run.user || c.User || '',
      // The image's VOLUMEs join the request's Config.Volumes, as Docker merges them.
      volumes: [...new Set([...req.run.volumes, ...Object.keys(c.Volumes ?? {})])],
    },
  };
}

export const emptyAtt = (): Omit<AttachmentConfig, 'networkId'> => ({ aliases: [], gwPriority: 0, driverOpts: {} });

/** The host network shares the host's hostname, as in Docker. */
function hostHostname(): string {
  return hostname();
}


/** Namespace, endpoints, files and process; undone as a whole on failure. */
export async function startSandbox(ctx: Ctx, sbx: SandboxRecord, onExit: (id: string) => void): Promise<void> {
  if (sbx.state === 'running') throw new CnmError('CONFLICT', `container ${sbx.name} is already running`);
  const undo = new UndoStack();
  const runDir = runDirOf(ctx, sbx);
  const logDir = logDirOf(ctx, sbx);
  const kind = modeKind(ctx, sbx.networkMode);
  try {
    await mkdir(runDir, { recursive: true });
    await mkdir(logDir, { recursive: true });
    await rm(join(runDir, 'exit'), { force: true });
    await writeFile(join(runDir, 'hostname'), `${sbx.hostname}\n`);
    forgetWritten(runDir);
    await writeFile(join(runDir, 'hosts'), '');
    await writeFile(join(runDir, 'resolv.conf'), '');
    let netnsPath: string | null = null;
    let shared: SandboxRecord | undefined;
    if (kind === 'container') {
      // The other container's namespace and its hosts, resolv.conf and
      // hostname files: none of this sandbox's own.
      shared = ctx.state.findSandbox(sbx.networkMode.slice('container:'.length));
      if (shared.state !== 'running') throw new CnmError('CONFLICT', `cannot join network namespace of a non running container: ${shared.id}`);
      if (modeKind(ctx, shared.networkMode) === 'container') throw invalid(`cannot join network namespace of container ${shared.name}: it shares another's (${shared.networkMode})`);
      netnsPath = shared.netnsPath || null;
    } else {
      if (kind !== 'host') {
        ({ sbx } = await setUpNetSandbox(ctx, sbx, undo));
        netnsPath = sbx.netnsPath;
      }
      await writeSandboxFiles(ctx, sbx);
    }
    // Killed by id if the daemon dies before the record below says running
    // (reconcile removes every runtime container no running record owns).
    let rootfs: string | undefined;
    if (sbx.imageId) {
      if (!ctx.images) throw new CnmError('INTERNAL', `container ${sbx.name} runs an image but this daemon has no image store`);
      rootfs = await mountRootfs(ctx.images.store, sbx.imageId, logDir);
      // Undone after the process is gone (the undo runs newest first).
      undo.push('root filesystem', () => unmountRootfs(logDir));
    }
    undo.push('process', () => ctx.runtime.remove(sbx.id));
    const started = await startProcess(ctx, sbx, netnsPath, () => onExit(sbx.id), rootfs, shared);
    const next: SandboxRecord = {
      ...sbx, state: 'running', pid: started.pid, pidStart: started.pidStart, startedAt: rfc3339Nano(), exitCode: 0,
      monitorPid: started.monitorPid, monitorStart: started.monitorStart, stoppedByUser: false,
    };
    await ctx.state.commit([{ kind: 'sandbox', put: next }]);
  } catch (e) {
    for (const u of await undo.unwind()) ctx.log.error(u.message);
    throw e;
  }
}

/** Releases what a sandbox held after its process ended. */
export async function cleanupExited(ctx: Ctx, sbx: SandboxRecord): Promise<Error[]> {
  const errors: Error[] = await tearDownNetSandbox(ctx, sbx);
  const exitCode = await readExitCode(runDirOf(ctx, sbx));
  // The monitor deletes the container when it ends; this is for a monitor
  // that was killed, or a crash mid-start.
  try { await ctx.runtime.remove(sbx.id); } catch (e) { errors.push(e as Error); }
  if (sbx.imageId) {
    try { await unmountRootfs(logDirOf(ctx, sbx)); } catch (e) { errors.push(e as Error); }
  }
  const next: SandboxRecord = {
    ...sbx, state: 'exited', pid: 0, pidStart: '', monitorPid: 0, monitorStart: '', exitCode, finishedAt: rfc3339Nano(), netnsPath: '',
  };
  // Records are immutable: callers read the exited record from ctx.state.
  await ctx.state.commit([{ kind: 'sandbox', put: next }]);
  return errors;
}

/**
 * Forgets a sandbox and deletes its files. `readers` are streams still
 * reading its log (an attached docker run --rm): its files go once they are
 * done, so they lose none of its last output. `volumes`: also its anonymous
 * volumes no other container uses (docker rm -v, --rm).
 */
export async function removeSandboxRecord(ctx: Ctx, sbx: SandboxRecord, readers: Promise<unknown>[] = [], volumes = false): Promise<void> {
  if (sbx.state === 'running') throw forbidden(`cannot remove container ${sbx.name}: container is running`);
  forgetWritten(runDirOf(ctx, sbx));
  // Never a recursive removal through a mounted root.
  if (sbx.imageId) await unmountRootfs(logDirOf(ctx, sbx));
  await ctx.state.commit([{ kind: 'sandbox', del: sbx.id }]);
  if (volumes) await removeAnonymousVolumes(ctx, sbx);
  const files = async (): Promise<void> => {
    await rm(runDirOf(ctx, sbx), { recursive: true, force: true });
    await rm(logDirOf(ctx, sbx), { recursive: true, force: true });
  };
  if (!readers.length) return files();
  void Promise.allSettled(readers).then(files).catch((e: Error) => ctx.log.warn(`files of ${sbx.name}: ${e.message}`));
}
