// Sandbox processes: started detached (they outlive a daemon restart), in new
// UTS, mount and PID namespaces and the sandbox's network namespace, with the
// host's filesystem. The shim (shim.sh) is PID 1 inside and records the exit
// status in a file, so a restarted daemon still learns how a process ended.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SHIM = join(dirname(fileURLToPath(import.meta.url)), 'shim.sh');

export interface StartSpec {
  runDir: string;
  /** null: the daemon's own namespace (host network mode). */
  netnsPath: string | null;
  cmd: string[];
  env: string[];
  stdoutPath: string;
  stderrPath: string;
}

export interface Started { pid: number; pidStart: string }

/** Field 22 of /proc/PID/stat: the start time, which tells a reused PID apart. */
export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number, pidStart: string): boolean {
  if (pid <= 0) return false;
  const st = procStartTime(pid);
  if (st !== pidStart) return false;
  try {
    // A zombie is not alive: it only waits to be reaped.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 400; i++) {
    try {
      const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim();
      if (kids) return Number(kids.split(' ')[0]);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`sandbox process ${pid} did not start its command`);
}

/**
 * Starts the command; resolves with the PID of the shim (PID 1 of the
 * sandbox), which is what `exec` joins and what stop signals.
 */
export async function startProcess(spec: StartSpec, onExit: () => void): Promise<Started> {
  const out = openSync(spec.stdoutPath, 'a');
  const err = openSync(spec.stderrPath, 'a');
  const unshare = ['unshare', '--uts', '--mount', '--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', '--', '/bin/sh', SHIM, spec.runDir, ...spec.cmd];
  const argv = spec.netnsPath ? ['nsenter', `--net=${spec.netnsPath}`, '--', ...unshare] : unshare;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };
  for (const kv of spec.env) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const child = spawn(argv[0] ?? 'nsenter', argv.slice(1), { detached: true, stdio: ['ignore', out, err], env });
  closeSync(out);
  closeSync(err);
  child.on('exit', onExit);
  child.on('error', onExit);
  child.unref();
  const ready = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  await ready;
  const pid = await childOf(child.pid ?? 0);
  return { pid, pidStart: procStartTime(pid) ?? '' };
}

/** The exit status the shim recorded, or 137 (killed) when there is none. */
export async function readExitCode(runDir: string): Promise<number> {
  try {
    const n = Number((await readFile(join(runDir, 'exit'), 'utf8')).trim());
    return Number.isInteger(n) ? n : 137;
  } catch {
    return 137;
  }
}

export function signal(pid: number, pidStart: string, sig: NodeJS.Signals): boolean {
  if (!isAlive(pid, pidStart)) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the process is gone, up to ms; true when it is gone. */
export async function waitGone(pid: number, pidStart: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isAlive(pid, pidStart)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !isAlive(pid, pidStart);
}
