// The process side of a sandbox: what the runtime is told to run, starting
// it, stopping it, and where its log lives. The network side (namespace,
// endpoints, files) is net-sandbox.ts; sandbox-ops.ts puts the two together.
import { join } from 'node:path';
import { isAlive, procStartTime, waitGone } from '../runtime/proc.ts';
import { checkUserSyntax, resolveUser } from '../runtime/user.ts';
import type { ProcessSpec, Started } from '../runtime/types.ts';
import type { Ctx } from './context.ts';
import { runDirOf } from './endpoint-ops.ts';
import { copyUpVolumes } from './copy-up.ts';
import { ensureVolumeDirs, runtimeMounts } from './mount-plan.ts';
import { CnmError, invalid } from '../model/errors.ts';
import type { SandboxRecord } from '../model/records.ts';
import type { CreateSandboxRequest } from './sandbox-ops.ts';

export const logDirOf = (ctx: Ctx, sbx: SandboxRecord): string => join(ctx.dataRoot, 'containers', sbx.id);
/** Docker's json-file name: <data root>/containers/<id>/<id>-json.log (rotated: .1, .2, ...). */
export const logPathOf = (ctx: Ctx, sbx: SandboxRecord): string => join(logDirOf(ctx, sbx), `${sbx.id}-json.log`);

const RESTART_POLICIES = new Set(['no', 'always', 'unless-stopped', 'on-failure']);

/** The run settings are checked before anything is recorded. */
export function checkRunConfig(req: CreateSandboxRequest): void {
  const r = req.run;
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

/** What the runtime is told to run; the user is resolved here, at start. */
export function processSpec(ctx: Ctx, sbx: SandboxRecord, netnsPath: string | null, rootfs?: string, shared?: SandboxRecord): ProcessSpec {
  const runDir = runDirOf(ctx, sbx);
  // With --network container:X, X's files (Docker shares them too).
  const filesDir = shared ? runDirOf(ctx, shared) : runDir;
  let user;
  try {
    // Names are the image's (its /etc/passwd and /etc/group), or the host's.
    user = resolveUser(sbx.run.user, rootfs ? join(rootfs, 'etc') : '/etc');
  } catch (e) {
    throw invalid((e as Error).message);
  }
  return {
    id: sbx.id,
    hostname: sbx.hostname,
    args: sbx.cmd,
    // Docker sets TERM=xterm for a terminal unless given (moby container.CreateDaemonEnvironment).
    env: sbx.run.tty && !sbx.env.some((e) => e.startsWith('TERM=')) ? [...sbx.env, 'TERM=xterm'] : sbx.env,
    cwd: sbx.run.workingDir || '/',
    user,
    netnsPath,
    ...(rootfs ? { rootfs } : {}),
    files: { hosts: join(filesDir, 'hosts'), resolvConf: join(filesDir, 'resolv.conf'), hostname: join(filesDir, 'hostname') },
    mounts: runtimeMounts(ctx, sbx.run.mounts),
    resources: { memory: sbx.run.memory, nanoCpus: sbx.run.nanoCpus, pidsLimit: sbx.run.pidsLimit },
    privileged: sbx.run.privileged,
    init: sbx.run.init,
    hidden: ctx.hiddenPaths,
    log: { path: logPathOf(ctx, sbx), maxSize: sbx.run.logMaxSize, maxFile: sbx.run.logMaxFile },
    tty: sbx.run.tty,
    openStdin: sbx.run.openStdin,
    stdinOnce: sbx.run.stdinOnce,
    consoleSize: sbx.run.consoleSize,
    linger: (ctx.attachWaiting.get(sbx.id) ?? 0) > 0,
  };
}

/** Starts the sandbox's process; the runtime's failure in Docker's words. */
export async function startProcess(ctx: Ctx, sbx: SandboxRecord, netnsPath: string | null, onExit: () => void, rootfs?: string, shared?: SandboxRecord): Promise<Started & { monitorStart: string }> {
  await ensureVolumeDirs(ctx, sbx.run.mounts);
  // Docker's copy-up into empty volumes, from the image's root mounted for this start.
  if (rootfs) await copyUpVolumes(ctx, sbx.run.mounts, rootfs);
  const started = await ctx.runtime.start(processSpec(ctx, sbx, netnsPath, rootfs, shared), runDirOf(ctx, sbx), onExit).catch((e: Error) => {
    // A missing command is the caller's mistake.
    const msg = `failed to create task for container: OCI runtime create failed: ${e.message}`;
    throw new CnmError(/executable file not found|no such file or directory|permission denied/i.test(e.message) ? 'INVALID' : 'INTERNAL', msg, { cause: e });
  });
  return { ...started, monitorStart: procStartTime(started.monitorPid) ?? '' };
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
