// Processes tests start, killed by PID in teardown. A PID is recorded with
// its start time (/proc/PID/stat field 22) so that a PID the kernel has since
// given to another process is never killed. Daemons are recorded when
// started; a daemon's sandboxes are found in its store (their records carry
// PID and start time), so they are killed even when the daemon is gone.
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { procStartTime } from '../../src/runtime/proc.ts';

const PIDS_FILE = 'pids';

/** Appends "PID STARTTIME" to DIR/pids. */
export function recordPid(dir: string, pid: number | undefined): void {
  if (!pid) return;
  const start = procStartTime(pid);
  if (start) appendFileSync(join(dir, PIDS_FILE), `${pid} ${start}\n`);
}

/** SIGKILLs pid if it is still the process that was recorded; true when it did. */
export function killIfSame(pid: number, start: string): boolean {
  if (!pid || procStartTime(pid) !== start) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Sandboxes a daemon's store names: PID and start time of each. */
export function storedSandboxPids(dataRoot: string): { pid: number; pidStart: string }[] {
  const file = join(dataRoot, 'cnm.db');
  if (!existsSync(file)) return [];
  let db: DatabaseSync | null = null;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    const rows = db.prepare("SELECT value FROM kv WHERE key >= 'sandboxes/' AND key < 'sandboxes0'").all() as { value: string }[];
    return rows.map((r) => JSON.parse(r.value) as { pid?: number; pidStart?: string })
      .filter((s) => s.pid && s.pidStart).map((s) => ({ pid: s.pid ?? 0, pidStart: s.pidStart ?? '' }));
  } catch (e) {
    if (process.env.CNM_TEST_DEBUG) console.error(e);
    return [];
  } finally {
    db?.close();
  }
}

/**
 * Processes whose command line names a path under dir: a daemon's sandboxes
 * carry their run directory (DIR/run/sandboxes/ID) in their arguments, even
 * one the daemon started but never recorded (killed with -9 in between).
 */
export function pidsNaming(dir: string): { pid: number; start: string }[] {
  const needle = Buffer.from(`${dir}/`);
  const out: { pid: number; start: string }[] = [];
  for (const n of readdirSync('/proc')) {
    const pid = Number(n);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`).includes(needle)) continue;
      const start = procStartTime(pid);
      if (start) out.push({ pid, start });
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/**
 * Kills what DIR/pids records, the sandboxes of DIR/data's store and any
 * process whose arguments name DIR; returns the PIDs killed.
 */
export function killRecorded(dir: string): number[] {
  const killed: number[] = [];
  for (const p of pidsNaming(dir)) if (killIfSame(p.pid, p.start)) killed.push(p.pid);
  for (const s of storedSandboxPids(join(dir, 'data'))) if (killIfSame(s.pid, s.pidStart)) killed.push(s.pid);
  const file = join(dir, PIDS_FILE);
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [pid, start] = line.split(' ');
      if (pid && start && killIfSame(Number(pid), start)) killed.push(Number(pid));
    }
  }
  return killed;
}
