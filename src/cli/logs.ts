// `cnm logs [-f] [-n N]` and the output copying `cnm run` does in the
// foreground. The logs API returns whole logs (no follow mode yet), so
// following means polling and writing only what was added.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ApiError } from '../client/client.ts';
import type { Client } from '../client/client.ts';
import type { CliContext } from './context.ts';
import { DockerCommand } from './docker-command.ts';

/** How often a follower polls the logs. */
export const LOG_POLL_MS = 200;

const NEWLINE = 0x0a;

/** The last `n` lines of a log ("all" = everything), as docker logs --tail. */
export function tailLines(buf: Buffer, n: number | 'all'): Buffer {
  if (n === 'all') return buf;
  if (n <= 0) return buf.subarray(buf.length);
  // A final newline ends the last line; it does not start another.
  let end = buf.length;
  if (end > 0 && buf[end - 1] === NEWLINE) end--;
  let i = end;
  let lines = 0;
  while (i > 0) {
    if (buf[i - 1] === NEWLINE && ++lines === n) break;
    i--;
  }
  return buf.subarray(i);
}

/**
 * Returns a function that writes what was added to the sandbox's logs since
 * its last call; `skip` is what was already shown (stdout, stderr bytes).
 */
export function logCopier(ctx: CliContext, client: Client, id: string, skip: { out: number; err: number } = { out: 0, err: 0 }): () => Promise<void> {
  let outDone = skip.out;
  let errDone = skip.err;
  return async () => {
    const { stdout, stderr } = await client.containerLogs(id);
    if (stdout.length > outDone) ctx.stdout.write(stdout.subarray(outDone));
    if (stderr.length > errDone) ctx.stderr.write(stderr.subarray(errDone));
    outDone = Math.max(outDone, stdout.length);
    errDone = Math.max(errDone, stderr.length);
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parseTail(v: string): number | 'all' {
  if (v === 'all') return 'all';
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a number of lines or "all"');
  return Number(v);
}

export function logsCommand(ctx: CliContext): Command {
  return new DockerCommand('logs')
    .description('Fetch the logs of a container')
    .argument('<container>')
    .option('-f, --follow', 'Follow log output until the container stops')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', parseTail, 'all' as number | 'all')
    .action(async (ref: string, o: { follow?: boolean; tail: number | 'all' }, cmd: Command) => {
      const client = ctx.client(cmd);
      const { stdout, stderr } = await client.containerLogs(ref);
      ctx.stdout.write(tailLines(stdout, o.tail));
      ctx.stderr.write(tailLines(stderr, o.tail));
      if (!o.follow) return;
      const copy = logCopier(ctx, client, ref, { out: stdout.length, err: stderr.length });
      // Until the sandbox stops; the last copy after that catches its final words.
      for (;;) {
        let running: boolean;
        try {
          running = !!(await client.containerInspect(ref)).State?.Running;
          await copy();
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) return; // removed (--rm): nothing more to follow
          throw e;
        }
        if (!running) return;
        await sleep(LOG_POLL_MS);
      }
    });
}
