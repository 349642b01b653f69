// Exec instances (docker exec): created against a running sandbox, started
// once, inspected for their exit code. They live in the daemon's memory
// only, as in Docker (moby's execStore is not persisted either).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecProcess } from '../runtime/types.ts';
import { checkUserSyntax, resolveUser } from '../runtime/user.ts';
import type { Ctx } from './context.ts';
import { conflict, CnmError, invalid, notFound } from '../model/errors.ts';
import { newId } from '../model/ids.ts';
import { emitContainer } from './events.ts';

export interface ExecConfig {
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  privileged: boolean;
  detachKeys: string;
  /** [rows, cols]; [0, 0] = unset. */
  consoleSize: [number, number];
}

export interface ExecInstance {
  id: string;
  sandboxId: string;
  config: ExecConfig;
  running: boolean;
  /** null until the process has ended (Docker's ExitCode is null then too). */
  exitCode: number | null;
  /** Why it never ran, if it did not. */
  error: string;
  proc: ExecProcess | null;
  /** When it ended (ms since the epoch); 0 while not ended. */
  endedAt: number;
}

/** Ended instances are forgotten after this long, or when their sandbox goes. */
const KEEP_ENDED_MS = 60 * 60 * 1000;
/** A unix socket path holds 108 bytes (sun_path) with its NUL. */
const MAX_SOCKET_PATH = 100;

const KEY = /^(ctrl-[a-z@[\\\]^_]|.)$/;

/** Docker's --detach-keys: comma-separated "ctrl-X" or single letters (moby pkg/term ToBytes). */
function checkDetachKeys(keys: string): void {
  if (keys && !keys.split(',').every((k) => KEY.test(k))) throw invalid(`Invalid detach keys (${keys}) provided`);
}

export class ExecTable {
  private readonly ctx: Ctx;
  private readonly all = new Map<string, ExecInstance>();

  constructor(ctx: Ctx) {
    this.ctx = ctx;
  }

  create(sandboxRef: string, c: ExecConfig): ExecInstance {
    const sbx = this.ctx.state.findSandbox(sandboxRef);
    if (sbx.state !== 'running') throw conflict(`container ${sbx.id} is not running`);
    // Docker names the container as the client did (moby getActiveContainer).
    if (sbx.paused) throw conflict(`Container ${sandboxRef} is paused, unpause the container before exec`);
    if (!c.cmd.length || !c.cmd[0]) throw invalid('No exec command specified');
    const why = checkUserSyntax(c.user);
    if (why) throw invalid(why);
    if (c.workingDir && !c.workingDir.startsWith('/')) {
      throw invalid(`the working directory '${c.workingDir}' is invalid, it needs to be an absolute path`);
    }
    for (const e of c.env) if (!e || e.startsWith('=')) throw invalid(`invalid environment variable: "${e}": expected KEY=VALUE`);
    checkDetachKeys(c.detachKeys);
    // A privileged exec would need every capability, which the sandbox's
    // bounding set does not hold: confinement would have to be lifted.
    if (c.privileged && !sbx.run.privileged) {
      throw new CnmError('NOT_IMPLEMENTED', 'cnm does not run privileged exec in a confined sandbox: run the sandbox with --privileged, or exec without it');
    }
    // runc takes numeric ids only; the sandbox sees the host's passwd.
    try { resolveUser(c.user); } catch (e) { throw invalid((e as Error).message); }
    this.prune();
    const inst: ExecInstance = { id: newId(), sandboxId: sbx.id, config: c, running: false, exitCode: null, error: '', proc: null, endedAt: 0 };
    this.all.set(inst.id, inst);
    // Docker's action carries the command: "exec_create: sh -c date".
    emitContainer(this.ctx.events, sbx, `exec_create: ${c.cmd.join(' ')}`, { execID: inst.id });
    return inst;
  }

  find(id: string): ExecInstance {
    const inst = this.all.get(id);
    if (!inst) throw notFound(`No such exec instance: ${id}`);
    return inst;
  }

  /** Refuses a second start and a stopped sandbox (moby daemon/exec.go ContainerExecStart). */
  checkStartable(inst: ExecInstance): void {
    if (inst.exitCode !== null || inst.endedAt) throw conflict(`Error: Exec command ${inst.id} has already run`);
    if (inst.running) throw conflict(`Error: Exec command ${inst.id} is already running`);
    const sbx = this.ctx.state.sandboxes.get(inst.sandboxId);
    if (!sbx || sbx.state !== 'running') throw conflict(`container ${inst.sandboxId} is not running`);
  }

  /** Starts the process; `stdin` is whether anything will feed it. */
  start(inst: ExecInstance, stdin: boolean): ExecProcess {
    this.checkStartable(inst);
    const c = inst.config;
    const u = c.user ? resolveUser(c.user) : null;
    const env = c.tty && !c.env.some((e) => e.startsWith('TERM=')) ? [...c.env, 'TERM=xterm'] : c.env;
    const dir = this.filesDir(inst.id);
    const files = { pidFile: join(dir, 'pid'), logFile: join(dir, 'runtime.log'), consoleSocket: join(dir, 'console.sock') };
    const proc = this.ctx.runtime.exec({
      id: inst.sandboxId, args: c.cmd, env, tty: c.tty,
      ...(c.workingDir ? { cwd: c.workingDir } : {}), ...(u ? { user: `${u.uid}:${u.gid}` } : {}),
    }, files, stdin && c.attachStdin);
    inst.proc = proc;
    inst.running = true;
    const sbx = this.ctx.state.sandboxes.get(inst.sandboxId);
    if (sbx) emitContainer(this.ctx.events, sbx, `exec_start: ${c.cmd.join(' ')}`, { execID: inst.id });
    if (c.tty && c.consoleSize[0] > 0) proc.resize(c.consoleSize[0], c.consoleSize[1]);
    void proc.done.then((r) => {
      inst.running = false;
      inst.exitCode = r.code;
      inst.error = r.error ?? '';
      inst.endedAt = Date.now();
      const cur = this.ctx.state.sandboxes.get(inst.sandboxId);
      if (cur) emitContainer(this.ctx.events, cur, 'exec_die', { execID: inst.id, exitCode: String(r.code) });
      rmSync(dir, { recursive: true, force: true });
    });
    return proc;
  }

  /** The exec's pid, runtime log and console socket: short paths under the exec root. */
  private filesDir(id: string): string {
    const base = join(this.ctx.execRoot, 'exec');
    const dir = join(base, id.slice(0, 12));
    if (join(dir, 'console.sock').length <= MAX_SOCKET_PATH) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    }
    return mkdtempSync(join(tmpdir(), 'cnm-exec-'));
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, inst] of this.all) {
      const gone = !this.ctx.state.sandboxes.has(inst.sandboxId);
      if ((inst.endedAt && now - inst.endedAt > KEEP_ENDED_MS) || (gone && !inst.running)) this.all.delete(id);
    }
  }
}
