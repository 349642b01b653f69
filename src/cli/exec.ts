// `cnm exec`: runs a command inside a running sandbox, through the sandbox's
// OCI runtime (`runc exec`), so the command is confined exactly as the
// sandbox is (capabilities, seccomp, cgroup, namespaces). The CLI runs on the
// daemon's host and learns the runtime from container inspect.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { ApiError } from '../client/client.ts';
import type { CliContext } from './context.ts';
import { DockerCommand, exitWith } from './docker-command.ts';
import { collect } from './flags.ts';
import { RuncRuntime } from '../runtime/runc.ts';
import { resolveUser } from '../runtime/user.ts';

/** Shells report death by signal n as 128 + n (docker exec does the same). */
export const SIGNAL_EXIT_BASE = 128;

export interface ChildLike {
  on(event: 'exit', fn: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  kill(signal?: NodeJS.Signals): unknown;
}

export type SpawnLike = (file: string, args: string[], opts: {
  stdio: ['inherit' | 'ignore', 'inherit', 'inherit'];
  env: NodeJS.ProcessEnv;
}) => ChildLike;

export interface ExecOpts { interactive?: boolean; tty?: boolean; env: string[]; workdir?: string; user?: string }


export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? constants.signals[signal] : undefined;
  return n === undefined ? 1 : SIGNAL_EXIT_BASE + n;
}

/** `-e K=V` or `-e K` (taken from the CLI's environment, as docker does). */
function envWith(base: NodeJS.ProcessEnv, list: string[]): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const e of list) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

export function runChild(ctx: CliContext, file: string, args: string[], opts: ExecOpts): Promise<number> {
  const doSpawn: SpawnLike = ctx.spawn ?? ((f, a, o) => spawn(f, a, o));
  return new Promise((resolve, reject) => {
    const child = doSpawn(file, args, { stdio: [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'], env: envWith(process.env, opts.env) });
    // Ctrl-C reaches the child through the terminal's process group; the CLI
    // stays to report the child's status. Other signals are passed on.
    const onInt = (): void => {};
    const forward = (sig: NodeJS.Signals): void => { child.kill(sig); };
    const cleanup = (): void => {
      process.removeListener('SIGINT', onInt);
      for (const s of FORWARDED) process.removeListener(s, forward);
    };
    process.on('SIGINT', onInt);
    for (const s of FORWARDED) process.on(s, forward);
    child.on('error', (e) => { cleanup(); reject(e); });
    child.on('exit', (code, signal) => { cleanup(); resolve(exitStatusOf(code, signal)); });
  });
}

export function execCommand(ctx: CliContext): Command {
  return new DockerCommand('exec')
    .description('Execute a command in a running container')
    .argument('<container>')
    .argument('<command>')
    .argument('[args...]')
    .passThroughOptions()
    .option('-i, --interactive', 'Keep STDIN open')
    .option('-t, --tty', 'Allocate a pseudo-TTY (when stdin is a terminal)')
    .option('-e, --env <K=V>', 'Set environment variables', collect, [])
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user[:group]>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .action(async (ref: string, command: string, args: string[], o: ExecOpts, cmd: Command) => {
      const c = await ctx.client(cmd).containerInspect(ref);
      // Same words as dockerd's error, so scripts matching on it keep working.
      if (!c.State?.Running || !c.State.Pid) throw new ApiError(409, `container ${c.Id} is not running`);
      if (!c.CnmRuntime) throw new ApiError(500, `container ${c.Id} has no runtime to exec through`);
      let user: string | undefined;
      if (o.user) {
        const u = resolveUser(o.user);
        user = `${u.uid}:${u.gid}`;
      }
      const rt = new RuncRuntime({ binary: c.CnmRuntime.Path, root: c.CnmRuntime.Root, monitor: '' });
      const [file = '', ...argv] = rt.execArgv({
        id: c.Id, args: [command, ...args], env: o.env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`)),
        tty: !!o.tty && !!o.interactive && !!process.stdin.isTTY, ...(o.workdir ? { cwd: o.workdir } : {}), ...(user ? { user } : {}),
      });
      const status = await runChild(ctx, file, argv, { ...o, env: [] });
      if (status !== 0) exitWith(status);
    });
}
