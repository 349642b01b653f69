// Sandboxes: containers without images. A sandbox is a network namespace
// (unless it uses the host's) and one process tree started in it.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../netlink/index.ts';
import { isAlive, readExitCode, signal, startProcess, waitGone } from '../sandbox/process.ts';
import { forgetWritten } from '../sandbox/files.ts';
import type { Ctx } from './context.ts';
import { applyGateway, attach, checkAttachment, detach, runDirOf, writeSandboxFiles } from './endpoint-ops.ts';
import { CnmError, conflict, forbidden, invalid } from './errors.ts';
import { newId, rfc3339Nano, shortId } from './ids.ts';
import type { AttachmentConfig, SandboxRecord } from './model.ts';
import { UndoStack } from './mutex.ts';
import { checkSandboxNames } from './sandbox-validate.ts';

/** What a client asks for; the rest of a SandboxRecord is the daemon's. */
export type CreateSandboxRequest = Pick<SandboxRecord,
  'name' | 'hostname' | 'domainname' | 'cmd' | 'env' | 'image' | 'labels' | 'networkMode' | 'dns' | 'dnsSearch'
  | 'dnsOptions' | 'extraHosts' | 'ports' | 'publishAll' | 'autoRemove'> & {
  /** Per network reference: its endpoint settings. */
  networks: { ref: string; att: Omit<AttachmentConfig, 'networkId'> }[];
};

const SANDBOX_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export const netnsPathOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.execRoot, 'netns', shortId(sbx.id));
export const logDirOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.dataRoot, 'containers', sbx.id);

/** 'host' | 'none' | 'container:x' modes, or a network by reference. */
export function modeKind(ctx: Ctx, mode: string): 'host' | 'none' | 'container' | 'network' {
  if (mode === 'host' || mode === 'none') return mode;
  if (mode.startsWith('container:')) return 'container';
  const net = ctx.state.lookupNetwork(mode);
  if (net?.driver === 'host') return 'host';
  if (net?.driver === 'null') return 'none';
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
      checkAttachment(net, full);
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
    let ns: Netns | null = null;
    if (kind !== 'host') {
      const path = netnsPathOf(ctx, sbx);
      // Recorded before it exists, so a crash cannot leak it.
      await ctx.state.commit([{ kind: 'sandbox', put: { ...sbx, netnsPath: path } }]);
      sbx.netnsPath = path;
      ns = await Netns.create(path);
      ctx.netns.set(sbx.id, ns);
      undo.push('namespace', async () => {
        ctx.netns.delete(sbx.id);
        ns?.close();
        await Netns.remove(path);
      });
      await ns.rtnl.linkSet('lo', { up: true });
      for (const att of sbx.attachments) {
        const ep = await attach(ctx, sbx, att, ns);
        undo.push(`endpoint ${ep.ifName}`, () => detach(ctx, ep, ns));
      }
      await applyGateway(ctx, sbx, ns);
    }
    await writeSandboxFiles(ctx, sbx);
    const started = await startProcess({
      runDir,
      netnsPath: ns ? sbx.netnsPath : null,
      cmd: sbx.cmd,
      env: sbx.env,
      stdoutPath: join(logDir, 'stdout.log'),
      stderrPath: join(logDir, 'stderr.log'),
    }, () => onExit(sbx.id));
    const next: SandboxRecord = { ...sbx, state: 'running', pid: started.pid, pidStart: started.pidStart, startedAt: rfc3339Nano(), exitCode: 0 };
    await ctx.state.commit([{ kind: 'sandbox', put: next }]);
    Object.assign(sbx, next);
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
    try { await Netns.remove(sbx.netnsPath); } catch (e) { errors.push(e as Error); }
  }
  const exitCode = await readExitCode(runDirOf(ctx, sbx));
  const next: SandboxRecord = { ...sbx, state: 'exited', pid: 0, pidStart: '', exitCode, finishedAt: rfc3339Nano(), netnsPath: '' };
  await ctx.state.commit([{ kind: 'sandbox', put: next }]);
  Object.assign(sbx, next);
  return errors;
}

/** SIGTERM, then SIGKILL after the timeout (Docker's default is 10 s). */
export async function killProcess(sbx: SandboxRecord, timeoutS: number): Promise<void> {
  if (!isAlive(sbx.pid, sbx.pidStart)) return;
  signal(sbx.pid, sbx.pidStart, 'SIGTERM');
  if (await waitGone(sbx.pid, sbx.pidStart, timeoutS * 1000)) return;
  // PID 1 of the sandbox: killing it ends every process in its namespace.
  signal(sbx.pid, sbx.pidStart, 'SIGKILL');
  await waitGone(sbx.pid, sbx.pidStart, 5000);
}

export async function removeSandboxRecord(ctx: Ctx, sbx: SandboxRecord): Promise<void> {
  if (sbx.state === 'running') throw forbidden(`cannot remove container ${sbx.name}: container is running`);
  forgetWritten(runDirOf(ctx, sbx));
  await ctx.state.commit([{ kind: 'sandbox', del: sbx.id }]);
  await rm(runDirOf(ctx, sbx), { recursive: true, force: true });
  await rm(logDirOf(ctx, sbx), { recursive: true, force: true });
}
