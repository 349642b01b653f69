// `cnm logs [-f] [-t] [-n N] [--since T] [--until T]`: the daemon streams the
// log from disk (tail, time window and follow are done there), and the
// frames go to stdout and stderr as they come.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Client, LogQuery } from '../client/client.ts';
import type { CliContext } from './context.ts';
import { DockerCommand } from './docker-command.ts';

function parseTail(v: string): number | 'all' {
  if (v === 'all') return 'all';
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a number of lines or "all"');
  return Number(v);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * docker's --since/--until: a Go duration ("10m", "1h30m") before now, an
 * RFC 3339 time, or unix seconds; sent as unix seconds (or as given).
 */
export function parseLogTime(v: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(v)) return v;
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length && parts.map((p) => p[0]).join('') === v) {
    const secs = parts.reduce((acc, p) => acc + Number(p[1]) * (DURATION_UNITS[p[2] ?? 's'] ?? 1), 0);
    return ((now / 1000) - secs).toFixed(9);
  }
  if (!Number.isNaN(Date.parse(v))) return v;
  throw new InvalidArgumentError('expected a duration (10m), an RFC 3339 time or unix seconds');
}

/** Copies a log stream to the CLI's stdout and stderr. */
export function copyLogs(ctx: CliContext, client: Client, id: string, q: LogQuery): Promise<void> {
  return client.containerLogsStream(id, q, (stream, data) => {
    (stream === 2 ? ctx.stderr : ctx.stdout).write(data);
  });
}

export function logsCommand(ctx: CliContext): Command {
  return new DockerCommand('logs')
    .description('Fetch the logs of a container')
    .argument('<container>')
    .option('-f, --follow', 'Follow log output until the container stops')
    .option('-t, --timestamps', 'Show timestamps')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', parseTail, 'all' as number | 'all')
    .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)', (v) => parseLogTime(v))
    .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)', (v) => parseLogTime(v))
    .action(async (ref: string, o: { follow?: boolean; timestamps?: boolean; tail: number | 'all'; since?: string; until?: string }, cmd: Command) => {
      await copyLogs(ctx, ctx.client(cmd), ref, {
        follow: !!o.follow, timestamps: !!o.timestamps, tail: o.tail, ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}),
      });
    });
}
