// Process facts read from /proc: a PID plus its start time names one process
// for good (a recycled PID has another start time).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The fields of /proc/PID/stat after the command name, or null when gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Field 22 of /proc/PID/stat: the start time, which tells a reused PID apart. */
export function procStartTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

export function isAlive(pid: number, pidStart: string): boolean {
  if (pid <= 0) return false;
  const f = statFields(pid);
  // A zombie (state Z) is not alive: it only waits to be reaped.
  return !!f && f[19] === pidStart && f[0] !== 'Z';
}

/** The exit status the monitor recorded, or 137 (killed) when there is none. */
export async function readExitCode(runDir: string): Promise<number> {
  try {
    const n = Number((await readFile(join(runDir, 'exit'), 'utf8')).trim());
    return Number.isInteger(n) ? n : 137;
  } catch {
    return 137;
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
