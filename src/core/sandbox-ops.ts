// Sandboxes: containers without images. A sandbox is a network namespace
// (unless it uses the host's) and one process tree started in it.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { NetnsHandle } from '../netlink/index.ts';
import { isAlive, procStartTime, readExitCode, waitGone } from '../runtime/proc.ts';
import { parseBind } from '../runtime/binds.ts';
import { checkUserSyntax, resolveUser } from '../runtime/user.ts';
import type { ProcessSpec } from '../runtime/types.ts';
import { forgetWritten } from '../sandbox/files.ts';
import type { Ctx } from './context.ts';
import { applyGateway, attach, checkAttachment, detach, runDirOf, writeSandboxFiles } from './endpoint-ops.ts';
import { CnmError, conflict, forbidden, invalid, notFound } from '../model/errors.ts';
import { newId, rfc3339Nano, shortId } from '../model/ids.ts';
import type { AttachmentConfig, SandboxRecord } from '../model/records.ts';
import { UndoStack } from './mutex.ts';
import { checkSandboxNames } from './sandbox-validate.ts';

/** What a client asks for; the rest of a SandboxRecord is the daemon's. */
export type CreateSandboxRequest = Pick<SandboxRecord,
  'name' | 'hostname' | 'domainname' | 'cmd' | 'env' | 'image' | 'labels' | 'networkMode' | 'dns' | 'dnsSearch'
  | 'dnsOptions' | 'extraHosts' | 'ports' | 'publishAll' | 'autoRemove' | 'run'> & {
  /** Per network reference: its endpoint settings. */
  networks: { ref: string; att: Omit<AttachmentConfig, 'networkId'> }[];
};

const SANDBOX_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export const netnsPathOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.execRoot, 'netns', shortId(sbx.id));
export const logDirOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.dataRoot, 'containers', sbx.id);
/** Docker's json-file name: <data root>/containers/<id>/<id>-json.log (rotated: .1, .2, ...). */
export const logPathOf = (ctx: Ctx, sbx: SandboxRecord): string => join(logDirOf(ctx, sbx), `${sbx.id}-json.log`);

const RESTART_POLICIES = new Set(['no', 'always', 'unless-stopped', 'on-failure']);

/** The run settings are checked before anything is recorded. */
function checkRunConfig(req: CreateSandboxRequest): void {
  const r = req.run;
  if (req.image) {
    // Until images land, a sandbox runs host binaries: an image would be
    // silently ignored, so it is refused as Docker refuses an unknown one.
    throw notFound(`No such image: ${req.image}`);
  }
  for (const b of r.binds) {
    try { parseBind(b); } catch (e) { throw invalid((e as Error).message); }
  }
  const why = checkUserSyntax(r.user);
  if (why) throw invalid(why);
  if (r.workingDir && !r.workingDir.startsWith('/')) throw invalid(`invalid working directory "${r.workingDir}": expected an absolute path`);
  if (!RESTART_POLICIES.has(r.restartPolicy.name)) {
    throw invalid(`invalid restart policy "${r.restartPolicy.name}": expected no, always, unless-stopped or on-failure`);
  }
  if (r.restartPolicy.maximumRetryCount && r.restartPolicy.name !== 'on-failure') {
    throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if (req.autoRemove && r.restartPolicy.name !== 'no') throw invalid('conflicting options: cannot both remove and restart containers');
  const nums: [string, number][] = [['Memory', r.memory], ['NanoCpus', r.nanoCpus], ['log max-size', r.logMaxSize]];
  for (const [k, v] of nums) if (!Number.isSafeInteger(v) || v < 0) throw invalid(`invalid ${k} ${v}: expected a whole number >= 0`);
  if (r.memory > 0 && r.memory < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
  if (!Number.isSafeInteger(r.pidsLimit)) throw invalid(`invalid PidsLimit ${r.pidsLimit}: expected a whole number`);
  if (!Number.isSafeInteger(r.logMaxFile) || r.logMaxFile < 1) throw invalid(`invalid log max-file ${r.logMaxFile}: expected a number >= 1`);
}

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
  const name = req.name || generatedName(id);
  if (!SANDBOX_NAME.test(name)) {
    throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const clash = [...ctx.state.sandboxes.values()].find((s) => s.name === name.replace(/^\//, ''));
  if (clash) {
    throw conflict(`Conflict. The container name "/${clash.name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  }
  if (!req.cmd.length) throw invalid('no command specified: expected a command to run in the sandbox');
  checkRunConfig(req);
  checkSandboxNames({ ...req, name });
  const mode = req.networkMode || 'bridge';
  const kind = modeKind(ctx, mode);
  if (kind === 'container') throw invalid('container: network mode is not supported yet: expected bridge, host, none or a network');
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
    hostname: req.hostname || (kind === 'host' ? hostHostname() : shortId(id)),
    domainname: req.domainname,
    cmd: req.cmd,
    env: req.env,
    image: req.image,
    labels: req.labels,
    created: rfc3339Nano(),
    networkMode: kind === 'network' ? (req.networkMode || 'bridge') : kind,
    attachments,
    dns: req.dns,
    dnsSearch: req.dnsSearch,
    dnsOptions: req.dnsOptions,
    extraHosts: req.extraHosts,
    ports: req.ports,
    publishAll: req.publishAll,
    autoRemove: req.autoRemove,
    state: 'created',
    pid: 0,
    pidStart: '',
    exitCode: 0,
    startedAt: '0001-01-01T00:00:00Z',
    finishedAt: '0001-01-01T00:00:00Z',
    netnsPath: '',
    run: req.run,
    monitorPid: 0,
    monitorStart: '',
    restartCount: 0,
    stoppedByUser: false,
  };
  await ctx.state.commit([{ kind: 'sandbox', put: sbx }]);
  return sbx;
}

export const emptyAtt = (): Omit<AttachmentConfig, 'networkId'> => ({ aliases: [], gwPriority: 0, driverOpts: {} });

/** The host network shares the host's hostname, as in Docker. */
function hostHostname(): string {
  return hostname();
}

/** Docker-style random names are adjective_noun; ours are short and plain. */
function generatedName(id: string): string {
  return `sandbox_${id.slice(0, 8)}`;
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
    let ns: NetnsHandle | null = null;
    if (kind !== 'host') {
      const path = netnsPathOf(ctx, sbx);
      // Recorded before it exists, so a crash cannot leak it; a failed
      // start gives the record back as it was.
      const before = sbx;
      [sbx] = await ctx.state.commit([{ kind: 'sandbox', put: { ...sbx, netnsPath: path } }]);
      undo.push('namespace path', () => ctx.state.commit([{ kind: 'sandbox', put: before }]));
      ns = await ctx.nsProvider.create(path);
      ctx.netns.set(sbx.id, ns);
      undo.push('namespace', async () => {
        ctx.netns.delete(sbx.id);
        ns?.close();
        await ctx.nsProvider.remove(path);
      });
      await ns.rtnl.linkSet('lo', { up: true });
      for (const att of sbx.attachments) {
        const ep = await attach(ctx, sbx, att, ns);
        undo.push(`endpoint ${ep.ifName}`, () => detach(ctx, ep, ns));
      }
      await applyGateway(ctx, sbx, ns);
    }
    await writeSandboxFiles(ctx, sbx);
    const spec = processSpec(ctx, sbx, ns ? sbx.netnsPath : null);
    // Killed by id if the daemon dies before the record below says running
    // (reconcile removes every runtime container no running record owns).
    undo.push('process', () => ctx.runtime.remove(sbx.id));
    const started = await ctx.runtime.start(spec, runDir, () => onExit(sbx.id)).catch((e: Error) => {
      // As Docker words it; a missing command is the caller's mistake.
      const msg = `failed to create task for container: OCI runtime create failed: ${e.message}`;
      throw new CnmError(/executable file not found|no such file or directory|permission denied/i.test(e.message) ? 'INVALID' : 'INTERNAL', msg, { cause: e });
    });
    const next: SandboxRecord = {
      ...sbx, state: 'running', pid: started.pid, pidStart: started.pidStart, startedAt: rfc3339Nano(), exitCode: 0,
      monitorPid: started.monitorPid, monitorStart: procStartTime(started.monitorPid) ?? '', stoppedByUser: false,
    };
    await ctx.state.commit([{ kind: 'sandbox', put: next }]);
  } catch (e) {
    for (const u of await undo.unwind()) ctx.log.error(u.message);
    throw e;
  }
}

/** Releases what a sandbox held after its process ended. */
export async function cleanupExited(ctx: Ctx, sbx: SandboxRecord): Promise<Error[]> {
  const errors: Error[] = [];
  const ns = ctx.netns.get(sbx.id) ?? null;
  for (const ep of ctx.state.endpointsOf(sbx.id)) errors.push(...await detach(ctx, ep, ns));
  ctx.netns.delete(sbx.id);
  ns?.close();
  if (sbx.netnsPath) {
    try { await ctx.nsProvider.remove(sbx.netnsPath); } catch (e) { errors.push(e as Error); }
  }
  const exitCode = await readExitCode(runDirOf(ctx, sbx));
  // The monitor deletes the container when it ends; this is for a monitor
  // that was killed, or a crash mid-start.
  try { await ctx.runtime.remove(sbx.id); } catch (e) { errors.push(e as Error); }
  const next: SandboxRecord = {
    ...sbx, state: 'exited', pid: 0, pidStart: '', monitorPid: 0, monitorStart: '', exitCode, finishedAt: rfc3339Nano(), netnsPath: '',
  };
  // Records are immutable: callers read the exited record from ctx.state.
  await ctx.state.commit([{ kind: 'sandbox', put: next }]);
  return errors;
}

/** What the runtime is told to run; the user is resolved here, at start. */
export function processSpec(ctx: Ctx, sbx: SandboxRecord, netnsPath: string | null): ProcessSpec {
  const runDir = runDirOf(ctx, sbx);
  let user;
  try {
    user = resolveUser(sbx.run.user);
  } catch (e) {
    throw invalid((e as Error).message);
  }
  return {
    id: sbx.id,
    hostname: sbx.hostname,
    args: sbx.cmd,
    env: sbx.env,
    cwd: sbx.run.workingDir || '/',
    user,
    netnsPath,
    files: { hosts: join(runDir, 'hosts'), resolvConf: join(runDir, 'resolv.conf'), hostname: join(runDir, 'hostname') },
    binds: sbx.run.binds.map(parseBind),
    resources: { memory: sbx.run.memory, nanoCpus: sbx.run.nanoCpus, pidsLimit: sbx.run.pidsLimit },
    privileged: sbx.run.privileged,
    init: sbx.run.init,
    hidden: ctx.hiddenPaths,
    log: { path: logPathOf(ctx, sbx), maxSize: sbx.run.logMaxSize, maxFile: sbx.run.logMaxFile },
  };
}

/** SIGTERM, then SIGKILL after the timeout (Docker's default is 10 s). */
export async function killProcess(ctx: Ctx, sbx: SandboxRecord, timeoutS: number): Promise<void> {
  await killInit(ctx, sbx, timeoutS);
  // Then the monitor writes the exit status and ends: wait for it, so the
  // sandbox is seen stopped when this returns.
  await waitGone(sbx.monitorPid, sbx.monitorStart, 5000);
}

async function killInit(ctx: Ctx, sbx: SandboxRecord, timeoutS: number): Promise<void> {
  if (!isAlive(sbx.pid, sbx.pidStart)) return;
  if (timeoutS > 0) {
    await ctx.runtime.kill(sbx.id, 'SIGTERM');
    if (await waitGone(sbx.pid, sbx.pidStart, timeoutS * 1000)) return;
  }
  // PID 1 of the sandbox: killing it ends every process in its namespace.
  await ctx.runtime.kill(sbx.id, 'SIGKILL');
  if (await waitGone(sbx.pid, sbx.pidStart, 5000)) return;
  // The runtime lost track of it (its state gone): the process itself.
  try { process.kill(sbx.pid, 'SIGKILL'); } catch { /* already gone */ }
  await waitGone(sbx.pid, sbx.pidStart, 5000);
}

export async function removeSandboxRecord(ctx: Ctx, sbx: SandboxRecord): Promise<void> {
  if (sbx.state === 'running') throw forbidden(`cannot remove container ${sbx.name}: container is running`);
  forgetWritten(runDirOf(ctx, sbx));
  await ctx.state.commit([{ kind: 'sandbox', del: sbx.id }]);
  await rm(runDirOf(ctx, sbx), { recursive: true, force: true });
  await rm(logDirOf(ctx, sbx), { recursive: true, force: true });
}
