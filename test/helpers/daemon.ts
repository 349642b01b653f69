// A cnm daemon in a world of its own: a fresh "host" namespace (a TestNetns),
// data and exec roots in a temp dir, a fake resolv.conf (never the machine's
// resolver). Used by end-to-end tests and the walkthrough.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client } from '../../src/client/client.ts';
import { TEST_PREFIX, TestNetns } from './netns.ts';
import { deleteRuntimeContainers, killRecorded, leftoverProcesses, recordPid, unmountUnder } from './pids.ts';
import { waitFor } from './wait.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CNM = join(ROOT, 'bin', 'cnm');

export interface DaemonHandle {
  ns: TestNetns;
  dir: string;
  socket: string;
  host: string;
  client: Client;
  proc: ChildProcess;
  logs: () => string;
  /** Stops the daemon: SIGTERM (graceful) or SIGKILL (crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same roots. */
  restart(): Promise<void>;
  /** Runs `cnm ARGS` against this daemon (in the daemon's namespace). */
  cli(args: string[], opts?: { input?: string; allowFail?: boolean }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Runs the docker CLI against this daemon. */
  docker(args: string[], opts?: { allowFail?: boolean }): Promise<{ stdout: string; stderr: string; code: number }>;
  destroy(): Promise<void>;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code, sig) => res({ stdout, stderr, code: code ?? (sig ? 128 : 1) }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

export async function startTestDaemon(opts: { args?: string[]; resolvConf?: string; ns?: TestNetns; execRoot?: string } = {}): Promise<DaemonHandle> {
  const ns = opts.ns ?? await TestNetns.create('host');
  const dir = mkdtempSync(`/tmp/${TEST_PREFIX}d-`);
  mkdirSync(join(dir, 'data'));
  const socket = join(dir, 'cnm.sock');
  const host = `unix://${socket}`;
  const resolvConf = join(dir, 'resolv.conf');
  const execRoot = opts.execRoot ?? join(dir, 'run');
  writeFileSync(resolvConf, opts.resolvConf ?? 'nameserver 192.0.2.53\nsearch example.test\n');
  let out = '';
  let proc!: ChildProcess;
  const launch = async () => {
    proc = spawn('nsenter', [`--net=${ns.path}`, CNM, 'daemon', '-H', host, '--data-root', join(dir, 'data'), '--exec-root', execRoot,
      '--resolv-conf', resolvConf, '--log-level', process.env.CNM_TEST_LOG ?? 'info', 
      ...(process.env.CNM_TEST_RUNTIME ? ['--runtime', process.env.CNM_TEST_RUNTIME] : []), ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    // nsenter execs the daemon: the PID is the daemon's.
    recordPid(dir, proc.pid);
    proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
    const client = new Client(host);
    const state = await waitFor(async () => {
      if (proc.exitCode !== null || proc.signalCode) return 'exited';
      if (!existsSync(socket)) return false;
      return client.ping().then(() => 'up', () => false);
    }, { what: () => `the daemon to answer on ${socket}:\n${out}`, timeoutMs: Number(process.env.CNM_TEST_DAEMON_WAIT_MS ?? 15_000) });
    if (state === 'exited') throw new Error(`daemon exited ${proc.exitCode ?? proc.signalCode}:\n${out}`);
  };
  await launch();
  const env = { ...process.env, CNM_HOST: host, DOCKER_HOST: host };
  const h: DaemonHandle = {
    ns, dir, socket, host,
    client: new Client(host),
    get proc() { return proc; },
    logs: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await done;
    },
    async restart() {
      await launch();
    },
    async cli(args, o = {}) {
      const r = await run('nsenter', [`--net=${ns.path}`, CNM, ...args], env, o.input);
      if (r.code !== 0 && !o.allowFail) throw new Error(`cnm ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r;
    },
    async docker(args, o = {}) {
      const r = await run('docker', args, env);
      if (r.code !== 0 && !o.allowFail) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r;
    },
    async destroy() {
      // Remove every sandbox through the API first (kills their processes).
      try {
        for (const c of await h.client.containerList(true)) await h.client.containerRemove(c.Id, true).catch(() => undefined);
      } catch { /* daemon already gone */ }
      await h.stop('SIGTERM');
      try {
        // Sandboxes the API could not remove (the daemon was stopped or
        // crashed first, maybe halfway through a start): the runtime's
        // containers first (delete --force kills them and removes their
        // cgroups), then by PID: what the store and DIR/pids record, the
        // cnm-monitors naming DIR and the processes rooted in it.
        deleteRuntimeContainers(join(execRoot, 'runtime'));
        killRecorded(dir);
        await cleanupRunDir(execRoot);
        // SIGKILLed processes are gone once the kernel has them reaped:
        // destroy returns when nothing of this daemon runs any more.
        await waitFor(() => leftoverProcesses(`${dir}/`).length === 0, {
          what: () => `the processes of the test daemon in ${dir} to end (${leftoverProcesses(`${dir}/`).map((p) => `${p.pid} ${p.cmd}`).join('; ')})`,
          timeoutMs: 10_000,
        });
      } finally {
        if (!opts.ns) await ns.destroy();
        // Roots of containers the API could not remove.
        unmountUnder(dir);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return h;
}

/** Kills processes left in sandbox namespaces under runDir and unmounts them (overlay namespaces too). */
export async function cleanupRunDir(runDir: string): Promise<void> {
  const ovlDir = join(runDir, 'overlay');
  if (existsSync(ovlDir)) {
    await run('sh', ['-c', `for f in "${ovlDir}"/*; do [ -e "$f" ] || continue; umount -l "$f" 2>/dev/null; rm -f "$f"; done; umount -l "${ovlDir}" 2>/dev/null; true`], process.env);
  }
  const nsDir = join(runDir, 'netns');
  if (!existsSync(nsDir)) return;
  await run('sh', ['-c', `for f in "${nsDir}"/*; do [ -e "$f" ] || continue; ino=$(stat -L -c %i "$f" 2>/dev/null); for p in /proc/[0-9]*; do [ "$(stat -L -c %i $p/ns/net 2>/dev/null)" = "$ino" ] && kill -9 \${p#/proc/} 2>/dev/null; done; umount -l "$f" 2>/dev/null; rm -f "$f"; done; umount -l "${nsDir}" 2>/dev/null; true`], process.env);
}
