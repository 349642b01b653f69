// Container commands other than run and exec: ps, start, stop, rm,
// inspect, logs, port — named, flagged and printed like docker's.
import type { Command } from 'commander';
import { ApiError } from '../client/client.ts';
import type { FilterArg } from '../client/client.ts';
import { CliError } from './cli-error.ts';
import { errorText, inspectAll, naturalCompare } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand, exitWith } from './docker-command.ts';
import { collectFilter, parseIntFlag } from './flags.ts';
import { renderList } from './format.ts';
import { logsCommand } from './logs.ts';
import { CONTAINER_LIST, containerRow } from './rows.ts';

function psCommand(ctx: CliContext): Command {
  return new DockerCommand('ps')
    .description('List containers')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collectFilter, {})
    .option('--format <string>', "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only display container IDs')
    .action(async (o: { all?: boolean; filter: FilterArg; format?: string; trunc: boolean; quiet?: boolean }, cmd: Command) => {
      const list = await ctx.client(cmd).containerList(!!o.all, Object.keys(o.filter).length ? o.filter : undefined);
      ctx.stdout.write(renderList(list.map((c) => containerRow(c, o.trunc)), o.format ?? '', CONTAINER_LIST, !!o.quiet));
    });
}

/** Runs `fn` per argument; prints each name on success, errors at the end (docker's stop/rm). */
async function eachContainer(ctx: CliContext, refs: string[], fn: (ref: string) => Promise<void>, skip?: (e: unknown) => boolean): Promise<void> {
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      await fn(ref);
      ctx.stdout.write(`${ref}\n`);
    } catch (e) {
      if (skip?.(e)) continue;
      errors.push(errorText(e));
    }
  }
  if (errors.length) {
    ctx.stderr.write(`${errors.join('\n')}\n`);
    exitWith(1);
  }
}

function startCommand(ctx: CliContext): Command {
  return new DockerCommand('start')
    .description('Start one or more stopped containers')
    .argument('<container...>')
    .action(async (refs: string[], _o: object, cmd: Command) => {
      const client = ctx.client(cmd);
      const failed: string[] = [];
      for (const ref of refs) {
        try {
          await client.containerStart(ref);
          ctx.stdout.write(`${ref}\n`);
        } catch (e) {
          ctx.stderr.write(`${errorText(e)}\n`);
          failed.push(ref);
        }
      }
      if (failed.length) {
        ctx.stderr.write(`Error: failed to start containers: ${failed.join(', ')}\n`);
        exitWith(1);
      }
    });
}

function stopCommand(ctx: CliContext): Command {
  return new DockerCommand('stop')
    .description('Stop one or more running containers')
    .argument('<container...>')
    .option('-t, --timeout <int>', 'Seconds to wait before killing the container', parseIntFlag)
    .action(async (refs: string[], o: { timeout?: number }, cmd: Command) => {
      const client = ctx.client(cmd);
      await eachContainer(ctx, refs, (r) => client.containerStop(r, o.timeout));
    });
}

function rmCommand(ctx: CliContext): Command {
  return new DockerCommand('rm')
    .description('Remove one or more containers')
    .argument('<container...>')
    .option('-f, --force', 'Force the removal of a running container')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .action(async (refs: string[], o: { force?: boolean; volumes?: boolean }, cmd: Command) => {
      const client = ctx.client(cmd);
      // docker rm -f ignores containers that do not exist.
      await eachContainer(ctx, refs, (r) => client.containerRemove(r, !!o.force, !!o.volumes), (e) => !!o.force && e instanceof ApiError && e.status === 404);
    });
}

function inspectCommand(ctx: CliContext): Command {
  return new DockerCommand('inspect')
    .description('Return low-level information on containers, images and networks')
    .argument('<name...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('--type <string>', 'Only inspect objects of the given type (container, image or network)')
    .action(async (refs: string[], o: { format?: string; type?: string }, cmd: Command) => {
      if (o.type && !['container', 'image', 'network'].includes(o.type)) {
        throw new CliError({ code: 'BAD_FLAG', flag: '--type', value: o.type, expected: 'container, image or network' });
      }
      const client = ctx.client(cmd);
      // Like docker inspect: a container first, then an image, then a network of that name.
      const get = async (ref: string): Promise<unknown> => {
        const notFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
        const kinds: [string, (r: string) => Promise<unknown>][] = [
          ['container', (r) => client.containerInspect(r)], ['image', (r) => client.imageInspect(r)], ['network', (r) => client.networkInspect(r)],
        ];
        for (const [kind, inspect] of kinds) {
          if (o.type && o.type !== kind) continue;
          try {
            return await inspect(ref);
          } catch (e) {
            if (!notFound(e) || o.type === kind) throw e;
          }
        }
        throw new Error(`Error: ${new CliError({ code: 'NO_SUCH_OBJECT', name: ref }).message}`);
      };
      await inspectAll(ctx, refs, o.format ?? '', get);
    });
}

const joinHostPort = (ip: string, port: string): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

function portCommand(ctx: CliContext): Command {
  return new DockerCommand('port')
    .description('List port mappings or a specific mapping for the container')
    .argument('<container>')
    .argument('[private_port]', 'PRIVATE_PORT[/PROTO]')
    .action(async (ref: string, want: string | undefined, _o: object, cmd: Command) => {
      const c = await ctx.client(cmd).containerInspect(ref);
      const ports = c.NetworkSettings?.Ports ?? {};
      const out: string[] = [];
      if (want) {
        const [port = '', proto = 'tcp'] = want.split('/');
        if (!/^\d+$/.test(port) || Number(port) > 65535) throw new CliError({ code: 'BAD_FLAG', flag: 'PRIVATE_PORT', value: want, expected: 'PORT[/PROTO] with PORT 0-65535' });
        const frontends = ports[`${port}/${proto}`] ?? [];
        if (!frontends.length) throw new CliError({ code: 'NO_PUBLIC_PORT', port: want, container: ref });
        for (const f of frontends) out.push(joinHostPort(f.HostIp ?? '', f.HostPort ?? ''));
      } else {
        for (const [from, frontends] of Object.entries(ports)) {
          for (const f of frontends ?? []) out.push(`${from} -> ${joinHostPort(f.HostIp ?? '', f.HostPort ?? '')}`);
        }
      }
      out.sort(naturalCompare);
      if (out.length) ctx.stdout.write(`${out.join('\n')}\n`);
    });
}

export function containerCommands(ctx: CliContext): Command[] {
  return [psCommand(ctx), startCommand(ctx), stopCommand(ctx), rmCommand(ctx), inspectCommand(ctx), logsCommand(ctx), portCommand(ctx)];
}
