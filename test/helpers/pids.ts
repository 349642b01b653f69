// Processes tests start, killed by PID in teardown. A PID is recorded with
// its start time (/proc/PID/stat field 22) so that a PID the kernel has since
// given to another process is never killed. Daemons are recorded when
// started; a daemon's sandboxes are found in its store (their records carry
// PID and start time), so they are killed even when the daemon is gone.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
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
 * process whose arguments, working directory or root name DIR; returns the
 * PIDs killed.
 */
export function killRecorded(dir: string): number[] {
  const killed: number[] = [];
  // Processes naming DIR (the daemon, cnm-monitors) and a sandbox's own
  // (its init, what it runs): those name nothing of DIR, but their "/" is a
  // rootfs under it.
  for (const p of leftoverProcesses(`${dir}/`)) if (killIfSame(p.pid, p.start)) killed.push(p.pid);
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

/** The OCI runtime test daemons use (CNM_TEST_RUNTIME, else runc). */
function runtimeBinary(): string | null {
  const wanted = process.env.CNM_TEST_RUNTIME;
  if (wanted?.includes('/')) return existsSync(wanted) ? wanted : null;
  const name = wanted ?? 'runc';
  return ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin', '/bin'].map((d) => join(d, name)).find((b) => existsSync(b)) ?? null;
}

/**
 * Deletes (--force: SIGKILL, then its state and cgroup) every container the
 * runtime state at root holds; returns their IDs. A container whose monitor
 * was killed is still there: only this removes its cgroup.
 */
export function deleteRuntimeContainers(root: string): string[] {
  const bin = runtimeBinary();
  if (!bin || !existsSync(root)) return [];
  const list = spawnSync(bin, ['--root', root, 'list', '-q'], { encoding: 'utf8', timeout: 30_000 });
  const ids = (list.stdout ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  for (const id of ids) spawnSync(bin, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 30_000 });
  return ids;
}

export interface Leftover { pid: number; start: string; why: string; cmd: string }

/** The mount a process sees as "/": its path in the host's tree (runc's rootfs for a sandbox). */
function rootMountSource(pid: number): string | null {
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] === '/') return (f[3] ?? '').replace(/\\040/g, ' ');
  }
  return null;
}

/**
 * Processes that belong to a test's temp directory (a path starting with
 * prefix, e.g. "/tmp/cnmt-"): their command line names it (daemons,
 * cnm-monitor), their working directory is in it, or their "/" is a rootfs in
 * it (a sandbox's processes, `sleep infinity` included, even when the
 * directory is gone); and, given netnsPrefix, processes in a namespace
 * /run/netns/<netnsPrefix>*. Zombies are left out: they are already dead.
 */
export function leftoverProcesses(prefix: string, netnsPrefix?: string): Leftover[] {
  const needle = Buffer.from(prefix);
  const nsInodes = new Map<number, string>();
  if (netnsPrefix) {
    for (const n of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
      if (!n.startsWith(netnsPrefix)) continue;
      try { nsInodes.set(statSync(join('/run/netns', n)).ino, n); } catch { /* removed meanwhile */ }
    }
  }
  const out: Leftover[] = [];
  for (const n of readdirSync('/proc')) {
    const pid = Number(n);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const raw = readFileSync(`/proc/${pid}/cmdline`);
      if (!raw.length) continue; // a zombie or a kernel thread
      const cmd = raw.toString().replace(/\0+$/, '').replace(/\0/g, ' ');
      let why = '';
      if (raw.includes(needle)) why = 'command line';
      else if (readlinkSync(`/proc/${pid}/cwd`).startsWith(prefix)) why = 'working directory';
      else if (rootMountSource(pid)?.startsWith(prefix)) why = `root ${rootMountSource(pid)}`;
      else if (nsInodes.size) {
        const ns = nsInodes.get(statSync(`/proc/${pid}/ns/net`).ino);
        if (ns) why = `network namespace ${ns}`;
      }
      if (!why) continue;
      const start = procStartTime(pid);
      if (start) out.push({ pid, start, why, cmd });
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/**
 * Unmounts every mount point under dir (containers' overlay roots a test
 * left), deepest first, lazily; returns them. Never a recursive removal
 * through a mount.
 */
export function unmountUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
  return points;
}
