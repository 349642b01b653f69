// `cnm volume create|ls|inspect|rm|prune`, flagged and printed like
// `docker volume ...` (docker/cli cli/command/volume).
import type { Command } from 'commander';
import type { FilterArg } from '../client/client.ts';
import type { VolumeWire } from '../api/wire.ts';
import { confirm, inspectAll, naturalCompare, removeEach } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand } from './docker-command.ts';
import { collect, collectFilter, collectLabel, kvMap } from './flags.ts';
import { renderList } from './format.ts';
import type { ListSpec } from './format.ts';

const PRUNE_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?';
const PRUNE_ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

/** docker's volume formatter (cli/command/formatter/volume.go). */
export const VOLUME_LIST: ListSpec = {
  table: 'table {{.Driver}}\t{{.Name}}',
  headers: { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' },
};

function volumeRow(v: VolumeWire): object {
  return {
    Driver: v.Driver, Labels: Object.entries(v.Labels ?? {}).map(([k, x]) => `${k}=${x}`).join(','), Links: 'N/A',
    Mountpoint: v.Mountpoint, Name: v.Name, Scope: v.Scope, Size: 'N/A',
    Label: (name: unknown) => v.Labels?.[String(name)] ?? '',
  };
}

/** go-units HumanSize: decimal units, %.4g ("1kB", "6B", "123.5MB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

function createCommand(ctx: CliContext): Command {
  return new DockerCommand('create')
    .description('Create a volume')
    .argument('[volume]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('-o, --opt <key=value>', 'Set driver specific options', collect, [])
    .option('--label <key=value>', 'Set metadata for a volume', collectLabel, [])
    .action(async (name: string | undefined, o: { driver: string; opt: string[]; label: string[] }, cmd: Command) => {
      const v = await ctx.client(cmd).volumeCreate({ Name: name ?? '', Driver: o.driver, DriverOpts: kvMap(o.opt), Labels: kvMap(o.label) });
      ctx.stdout.write(`${v.Name}\n`);
    });
}

function listCommand(ctx: CliContext): Command {
  return new DockerCommand('ls')
    .alias('list')
    .description('List volumes')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "dangling=true")', collectFilter, {})
    .option('--format <string>', "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option('-q, --quiet', 'Only display volume names')
    .action(async (o: { filter: FilterArg; format?: string; quiet?: boolean }, cmd: Command) => {
      const list = (await ctx.client(cmd).volumeList(o.filter)).Volumes ?? [];
      list.sort((a, b) => naturalCompare(a.Name, b.Name));
      if (o.quiet && (!o.format || o.format === 'table')) {
        ctx.stdout.write(list.map((v) => `${v.Name}\n`).join(''));
        return;
      }
      ctx.stdout.write(renderList(list.map(volumeRow), o.format ?? '', VOLUME_LIST, false));
    });
}

function inspectCommand(ctx: CliContext): Command {
  return new DockerCommand('inspect')
    .description('Display detailed information on one or more volumes')
    .argument('<volume...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const client = ctx.client(cmd);
      await inspectAll(ctx, refs, o.format ?? '', (r) => client.volumeInspect(r));
    });
}

function removeCommand(ctx: CliContext): Command {
  return new DockerCommand('rm')
    .alias('remove')
    .description('Remove one or more volumes')
    .argument('<volume...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(async (refs: string[], o: { force?: boolean }, cmd: Command) => {
      const client = ctx.client(cmd);
      await removeEach(ctx, refs, !!o.force, (ref) => client.volumeRemove(ref, !!o.force));
    });
}

function pruneCommand(ctx: CliContext): Command {
  return new DockerCommand('prune')
    .description('Remove unused local volumes')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collectFilter, {})
    .action(async (o: { all?: boolean; force?: boolean; filter: FilterArg }, cmd: Command) => {
      if (!o.force && !(await confirm(ctx, o.all ? PRUNE_ALL_WARNING : PRUNE_WARNING))) return;
      const filters: FilterArg = { ...o.filter, ...(o.all ? { all: ['true'] } : {}) };
      const r = await ctx.client(cmd).volumePrune(filters);
      const names = r.VolumesDeleted ?? [];
      if (names.length) ctx.stdout.write(`Deleted Volumes:\n${names.map((n) => `${n}\n`).join('')}\n`);
      ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
    });
}

export function volumeCommand(ctx: CliContext): Command {
  const vol = new DockerCommand('volume').description('Manage volumes');
  vol.action(() => vol.help());
  for (const c of [createCommand(ctx), listCommand(ctx), inspectCommand(ctx), removeCommand(ctx), pruneCommand(ctx)]) vol.addCommand(c);
  return vol;
}
