// `cnm exec`: runs a command inside a running sandbox through the daemon's
// exec API, as `docker exec` does (create, hijacked start, inspect for the
// exit code). The daemon runs it through the sandbox's OCI runtime
// (`runc exec`), so it is confined exactly as the sandbox is.
import type { Duplex } from 'node:stream';
import type { Command } from 'commander';
import type { Client } from '../client/client.ts';
import { demuxer } from '../client/demux.ts';
import type { CliContext } from './context.ts';
import { DockerCommand, exitWith } from './docker-command.ts';
import { collect } from './flags.ts';

export interface ExecOpts { interactive?: boolean; tty?: boolean; env: string[]; workdir?: string; user?: string }

interface Terminal { isTTY?: boolean; rows?: number; columns?: number; setRawMode?: (raw: boolean) => unknown }

/** `-e K=V`, or `-e K` taken from the CLI's environment (as docker does; unset: left out). */
function envList(list: string[]): string[] {
  return list.flatMap((e) => {
    if (e.includes('=')) return [e];
    const v = process.env[e];
    return v === undefined ? [] : [`${e}=${v}`];
  });
}

/** The terminal's size as [rows, cols]; [0, 0] when stdout is no terminal. */
function sizeOf(out: Terminal): [number, number] {
  return out.isTTY && out.rows && out.columns ? [out.rows, out.columns] : [0, 0];
}

/**
 * Relays the hijacked stream: output to stdout/stderr (demultiplexed
 * unless a terminal), stdin to the daemon with -i (half-closed at its end,
 * so the process sees EOF). Resolves when the daemon ends the stream.
 */
function relay(ctx: CliContext, socket: Duplex, tty: boolean, interactive: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onFrame = demuxer((s, d) => {
      if (s === 3) reject(new Error(d.toString().trim()));
      else (s === 2 ? ctx.stderr : ctx.stdout).write(d);
    });
    socket.on('data', (d: Buffer) => { if (tty) ctx.stdout.write(d); else onFrame(d); });
    const stdin = ctx.stdin;
    const onIn = (d: Buffer | string): void => { socket.write(d); };
    const onEnd = (): void => { socket.end(); };
    const stop = (): void => {
      stdin.removeListener('data', onIn);
      stdin.removeListener('end', onEnd);
      stdin.pause();
    };
    if (interactive) {
      stdin.on('data', onIn);
      stdin.on('end', onEnd);
      stdin.resume();
    }
    socket.on('error', (e) => { stop(); reject(e); });
    socket.on('close', () => { stop(); resolve(); });
  });
}

export async function runExec(ctx: CliContext, client: Client, ref: string, argv: string[], o: ExecOpts): Promise<number> {
  const tty = !!o.tty;
  const interactive = !!o.interactive;
  const termIn = ctx.stdin as unknown as Terminal;
  const termOut = ctx.stdout as Terminal;
  // docker's words (cli/command/container/exec.go via streams.In.CheckTty).
  if (tty && interactive && !termIn.isTTY) throw new Error('the input device is not a TTY');
  const size = tty ? sizeOf(termOut) : [0, 0];
  const { Id } = await client.execCreate(ref, {
    Cmd: argv, Env: envList(o.env), WorkingDir: o.workdir ?? '', User: o.user ?? '', Tty: tty, Privileged: false,
    AttachStdin: interactive, AttachStdout: true, AttachStderr: true, DetachKeys: '', ConsoleSize: size,
  });
  const { socket } = await client.execStart(Id, { Detach: false, Tty: tty, ConsoleSize: size });
  const raw = tty && interactive && !!termIn.setRawMode;
  if (raw) termIn.setRawMode?.(true);
  const onResize = (): void => {
    const [rows, cols] = sizeOf(termOut);
    if (rows) void client.execResize(Id, rows, cols).catch(() => undefined);
  };
  if (tty) process.on('SIGWINCH', onResize);
  try {
    if (tty && size[0]) onResize();
    await relay(ctx, socket, tty, interactive);
  } finally {
    if (tty) process.removeListener('SIGWINCH', onResize);
    if (raw) termIn.setRawMode?.(false);
  }
  return (await client.execInspect(Id)).ExitCode ?? 0;
}

export function execCommand(ctx: CliContext): Command {
  return new DockerCommand('exec')
    .description('Execute a command in a running container')
    .argument('<container>')
    .argument('<command>')
    .argument('[args...]')
    .passThroughOptions()
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-e, --env <K=V>', 'Set environment variables', collect, [])
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user[:group]>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .action(async (ref: string, command: string, args: string[], o: ExecOpts, cmd: Command) => {
      const status = await runExec(ctx, ctx.client(cmd), ref, [command, ...args], o);
      if (status !== 0) exitWith(status);
    });
}
