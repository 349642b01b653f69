// An OCI runtime (runc, or crun, which takes the same commands) behind the
// Runtime seam. Each sandbox gets a bundle in its run directory and a
// monitor process (src/native/monitor) that creates and starts the
// container, holds its output, and outlives the daemon.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { access, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { buildOciConfig, capsFromMask, HOST_ROOT_SKIPPED } from './oci-spec.ts';
import type { HostRoot } from './oci-spec.ts';
import { procStartTime } from './proc.ts';
import { spawnPipeExec, spawnTtyExec } from './exec.ts';
import { attachMonitor, attachSocketPath, resizeMonitor } from './attach-socket.ts';
import type { Duplex } from 'node:stream';
import type { ExecFiles, ExecProcess, ExecSpec, ProcessSpec, Runtime, Started } from './types.ts';

const run = promisify(execFile);

export interface RuncOptions {
  /** The runtime binary (runc or crun). */
  binary: string;
  /** Its state directory (--root), under cnm's exec root. */
  root: string;
  /** cnm's monitor binary; also the sandboxes' init. */
  monitor: string;
}

/** A runtime name found in PATH (and the sbin directories root has), or a path. */
export function findRuntimeBinary(name: string): string {
  if (name.includes('/')) {
    if (!existsSync(name)) throw new Error(`OCI runtime "${name}" not found`);
    return name;
  }
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  throw new Error(`OCI runtime "${name}" not found in PATH: install it (apt-get install ${name}) or pass --runtime PATH`);
}

/** The host's "/" as a sandbox sees it (read once per start: cheap). */
export function readHostRoot(hidden: string[]): HostRoot {
  const dirs: string[] = [];
  const links: [string, string][] = [];
  for (const e of readdirSync('/', { withFileTypes: true })) {
    if (HOST_ROOT_SKIPPED.has(e.name) || hidden.includes(`/${e.name}`)) continue;
    if (e.isDirectory()) dirs.push(e.name);
    else if (e.isSymbolicLink()) links.push([e.name, readlinkSync(`/${e.name}`)]);
  }
  const capBnd = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return {
    dirs: dirs.sort(), links, hasEtcHostname: existsSync('/etc/hostname'), boundingCaps: capsFromMask(capBnd),
    cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers'),
  };
}

/** The runtime's own last words when a command fails. */
function failure(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  return (err.stderr || err.message || String(e)).trim();
}

export class RuncRuntime implements Runtime {
  readonly name: string;
  private readonly o: RuncOptions;

  constructor(o: RuncOptions) {
    this.o = o;
    this.name = basename(o.binary);
  }

  async start(spec: ProcessSpec, runDir: string, onExit: () => void): Promise<Started> {
    const bundle = join(runDir, 'bundle');
    const rootfs = join(bundle, 'rootfs');
    const host = readHostRoot(spec.hidden);
    await mkdir(rootfs, { recursive: true });
    for (const [name, target] of spec.rootfs ? [] : host.links) {
      await symlink(target, join(rootfs, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
    await writeFile(join(bundle, 'config.json'), JSON.stringify(buildOciConfig(spec, host, this.o.monitor)));
    await rm(join(runDir, 'exit'), { force: true });
    await rm(join(runDir, 'runtime.log'), { force: true });
    // No container of this ID can be left here: a failed start removes its
    // own (the monitor, and the start's undo), and a crash's is removed by
    // reconcile before the daemon serves.
    const child = spawn(this.o.monitor, [
      '--runtime', this.o.binary, '--root', this.o.root, '--id', spec.id, '--bundle', bundle, '--run-dir', runDir,
      '--log', spec.log.path, '--max-size', String(spec.log.maxSize), '--max-file', String(spec.log.maxFile),
      '--exit', join(runDir, 'exit'), ...(spec.tty ? ['--tty'] : []),
      ...(spec.openStdin ? ['--stdin', ...(spec.stdinOnce ? ['--stdin-once'] : [])] : []), ...(spec.linger ? ['--linger'] : []),
    ], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const statusPipe = child.stdio[3] as NodeJS.ReadableStream | null;
    const status = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.once('error', reject);
      if (!statusPipe) return reject(new Error('monitor status pipe missing'));
      statusPipe.on('data', (d: Buffer) => { text += d.toString(); });
      statusPipe.on('end', () => resolve(text.trim()));
      statusPipe.on('error', () => resolve(text.trim()));
    });
    child.on('exit', onExit);
    child.unref();
    const m = /^ok (\d+)$/.exec(status);
    if (!m) throw new Error(status.replace(/^error /, '') || 'the sandbox monitor ended before the sandbox started');
    const pid = Number(m[1]);
    return { pid, pidStart: procStartTime(pid) ?? '', monitorPid: child.pid ?? 0 };
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<boolean> {
    try {
      await run(this.o.binary, ['--root', this.o.root, 'kill', id, signal]);
      return true;
    } catch {
      return false;
    }
  }

  async pause(id: string): Promise<void> {
    try {
      await run(this.o.binary, ['--root', this.o.root, 'pause', id]);
    } catch (e) {
      throw new Error(`${this.name} pause ${id}: ${failure(e)}`);
    }
  }

  async resume(id: string): Promise<void> {
    try {
      await run(this.o.binary, ['--root', this.o.root, 'resume', id]);
    } catch (e) {
      throw new Error(`${this.name} resume ${id}: ${failure(e)}`);
    }
  }

  async remove(id: string): Promise<void> {
    // The runtime keeps a directory per container under its root (runc and
    // crun both): none means nothing to delete, and no process start for
    // it (the monitor deletes its container at exit; this is the safety net).
    if (!existsSync(join(this.o.root, id))) return;
    try {
      await run(this.o.binary, ['--root', this.o.root, 'delete', '--force', id]);
    } catch (e) {
      const why = failure(e);
      if (!/does not exist|not found|no such/i.test(why)) throw new Error(`${this.name} delete ${id}: ${why}`);
    }
  }

  /**
   * The containers under the runtime's root: one directory each, holding
   * runc's state.json or crun's status. Read directly: `runc list` loads
   * every container's state and checks its process, 1.3 s of CPU with a
   * thousand of them, at each daemon start; only the IDs are needed.
   */
  async list(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.o.root, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new Error(`${this.name} list: reading ${this.o.root}: ${(e as Error).message}`);
    }
    const ids = entries.filter((d) => d.isDirectory()).map((d) => d.name);
    const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
    const known = await Promise.all(ids.map(async (id) => await exists(join(this.o.root, id, 'state.json')) || exists(join(this.o.root, id, 'status'))));
    return ids.filter((_, i) => known[i]);
  }

  attach(runDir: string, monitorPid: number, o: { stdin: boolean; replay: boolean }): Promise<Duplex> {
    return attachMonitor(attachSocketPath(runDir, monitorPid), o);
  }

  resize(runDir: string, monitorPid: number, rows: number, cols: number): Promise<void> {
    return resizeMonitor(attachSocketPath(runDir, monitorPid), rows, cols);
  }

  describe(): { name: string; path: string; root: string } {
    return { name: this.name, path: this.o.binary, root: this.o.root };
  }

  execArgv(e: ExecSpec): string[] {
    return [
      this.o.binary, '--root', this.o.root, ...(e.logFile ? ['--log', e.logFile, '--log-format', 'json'] : []), 'exec',
      ...(e.tty ? ['-t'] : []), ...(e.consoleSocket ? ['-d', '--console-socket', e.consoleSocket] : []),
      ...(e.pidFile ? ['--pid-file', e.pidFile] : []), ...(e.cwd ? ['--cwd', e.cwd] : []),
      ...(e.user ? ['--user', e.user] : []), ...e.env.flatMap((kv) => ['--env', kv]), e.id, ...e.args,
    ];
  }

  exec(e: Omit<ExecSpec, 'pidFile' | 'logFile' | 'consoleSocket'>, files: ExecFiles, stdin: boolean): ExecProcess {
    if (!e.tty) return spawnPipeExec(this.execArgv({ ...e, pidFile: files.pidFile, logFile: files.logFile }), files, stdin);
    // runc refuses a detached terminal without a console socket
    // (checkTerminal); the monitor listens on it and relays the master.
    return spawnTtyExec(this.o.monitor, this.execArgv({ ...e, ...files }), files, stdin);
  }
}
