// `cnm images` / `cnm image ls|inspect|history|tag|rm|prune`, `cnm tag`,
// `cnm rmi`: named, flagged and printed like docker's (cli/command/image).
import type { Command } from 'commander';
import type { FilterArg } from '../client/client.ts';
import type { ImageDeleteWire, ImageHistoryWire } from '../client/image-wire.ts';
import { parseReference, referenceName, withDefaultTag } from '../images/reference.ts';
import { confirm, errorText, inspectAll } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand, exitWith } from './docker-command.ts';
import { collectFilter } from './flags.ts';
import { renderList } from './format.ts';
import type { ListSpec } from './format.ts';
import { MARSHAL_JSON, goJsonMarshal } from './go-fmt.ts';
import { IMAGE_LIST, IMAGE_LIST_DIGESTS, imageRows } from './image-rows.ts';
import { ellipsis, humanDuration, shortId } from './rows.ts';
import { humanSize, humanSizeWithPrecision } from './units.ts';

const ALL_WARNING = 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?';
const DANGLING_WARNING = 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?';

interface ListOpts { all?: boolean; quiet?: boolean; digests?: boolean; trunc: boolean; filter: FilterArg; format?: string }

function listAction(ctx: CliContext) {
  return async (match: string | undefined, o: ListOpts, cmd: Command): Promise<void> => {
    const filters: FilterArg = { ...o.filter };
    if (match) filters.reference = [...(filters.reference ?? []), match];
    const list = await ctx.client(cmd).imageList(!!o.all, filters);
    let format = o.format ?? '';
    // A custom table with --digests gets the DIGEST column appended (NewImageFormat).
    if (o.digests && format.startsWith('table ') && !format.includes('{{.Digest}}')) format += '\t{{.Digest}}';
    const showDigest = !!o.digests || format.includes('{{.Digest}}');
    const rows = list.flatMap((i) => imageRows(i, { trunc: o.trunc, digests: !!o.digests, showDigest }));
    ctx.stdout.write(renderList(rows, format, o.digests ? IMAGE_LIST_DIGESTS : IMAGE_LIST, !!o.quiet));
  };
}

function listCommand(ctx: CliContext, name: string): Command {
  return new DockerCommand(name)
    .description('List images')
    .argument('[repository]', 'REPOSITORY[:TAG]')
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collectFilter, {})
    .option('--format <string>', "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(listAction(ctx));
}

function inspectCommand(ctx: CliContext): Command {
  return new DockerCommand('inspect')
    .description('Display detailed information on one or more images')
    .argument('<image...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const client = ctx.client(cmd);
      await inspectAll(ctx, refs, o.format ?? '', (r) => client.imageInspect(r));
    });
}

const HISTORY_LIST: ListSpec = {
  table: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
  headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
};

const pad2 = (n: number): string => String(Math.abs(n)).padStart(2, '0');

/** Go's time.Unix(sec, 0).Format(time.RFC3339) in the local zone. */
function rfc3339(sec: number): string {
  const d = new Date(sec * 1000);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${pad2(Math.trunc(off / 60))}:${pad2(off % 60)}`;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}${zone}`;
}

/** docker's historyContext. */
function historyRow(h: ImageHistoryWire, o: { human: boolean; trunc: boolean }, now = Date.now()): object {
  const createdBy = h.CreatedBy.replace(/\t/g, ' ');
  const fields = {
    Comment: h.Comment,
    CreatedAt: rfc3339(h.Created),
    CreatedBy: o.trunc ? ellipsis(createdBy, 45) : createdBy,
    CreatedSince: o.human ? `${humanDuration(now - h.Created * 1000)} ago` : rfc3339(h.Created),
    ID: o.trunc ? shortId(h.Id) : h.Id,
    Size: o.human ? humanSizeWithPrecision(h.Size, 3) : String(h.Size),
  };
  return { ...fields, [MARSHAL_JSON]: () => goJsonMarshal(fields) };
}

function historyCommand(ctx: CliContext): Command {
  return new DockerCommand('history')
    .description('Show the history of an image')
    .argument('<image>')
    .option('--format <string>', "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option('-H, --human', 'Print sizes and dates in human readable format (default true)')
    .option('--no-human', 'Print sizes in bytes and dates as RFC 3339')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (ref: string, o: { format?: string; human?: boolean; trunc: boolean; quiet?: boolean }, cmd: Command) => {
      const hist = await ctx.client(cmd).imageHistory(ref);
      const rows = hist.map((h) => historyRow(h, { human: o.human !== false, trunc: o.trunc }));
      ctx.stdout.write(renderList(rows, o.format ?? '', HISTORY_LIST, !!o.quiet));
    });
}

/** The repo and tag `docker tag` sends for TARGET (TagNameOnly: no tag means latest). */
export function tagTarget(target: string): { repo: string; tag: string } {
  const ref = withDefaultTag(parseReference(target));
  if (ref.digest !== undefined) throw new Error('refusing to create a tag with a digest reference');
  return { repo: referenceName(ref), tag: ref.tag ?? 'latest' };
}

function tagAction(ctx: CliContext) {
  return async (source: string, target: string, _o: object, cmd: Command): Promise<void> => {
    const { repo, tag } = tagTarget(target);
    await ctx.client(cmd).imageTag(source, repo, tag);
  };
}

export const tagCommand = (ctx: CliContext, name = 'tag'): Command => new DockerCommand(name)
  .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
  .argument('<source>', 'SOURCE_IMAGE[:TAG]')
  .argument('<target>', 'TARGET_IMAGE[:TAG]')
  .action(tagAction(ctx));

const deleteLine = (d: ImageDeleteWire): string => (d.Deleted ? `Deleted: ${d.Deleted}\n` : `Untagged: ${d.Untagged ?? ''}\n`);

export function rmiCommand(ctx: CliContext, name = 'rmi'): Command {
  const c = new DockerCommand(name)
    .description('Remove one or more images')
    .argument('<image...>')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .action(async (refs: string[], o: { force?: boolean; prune: boolean }, cmd: Command) => {
      const client = ctx.client(cmd);
      const errors: string[] = [];
      for (const ref of refs) {
        try {
          for (const d of await client.imageRemove(ref, !!o.force, !o.prune)) ctx.stdout.write(deleteLine(d));
        } catch (e) {
          errors.push(errorText(e));
        }
      }
      if (errors.length) {
        ctx.stderr.write(`${errors.join('\n')}\n`);
        exitWith(1);
      }
    });
  return c;
}

function pruneCommand(ctx: CliContext): Command {
  return new DockerCommand('prune')
    .description('Remove unused images')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collectFilter, {})
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (o: { all?: boolean; filter: FilterArg; force?: boolean }, cmd: Command) => {
      if (!o.force && !(await confirm(ctx, o.all ? ALL_WARNING : DANGLING_WARNING))) return;
      const filters: FilterArg = { ...o.filter, dangling: [String(!o.all)] };
      const r = await ctx.client(cmd).imagePrune(filters);
      const deleted = r.ImagesDeleted ?? [];
      if (deleted.length) {
        const lines = deleted.map((d) => (d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted ?? ''}\n`)).join('');
        ctx.stdout.write(`Deleted Images:\n${lines}\n`);
      }
      ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
    });
}

/** `cnm images` (docker's top-level alias of `image ls`). */
export const imagesCommand = (ctx: CliContext): Command => listCommand(ctx, 'images');

/** `cnm image ...`; `extra` are the transfer commands (pull, load, save, import) shared with the top level. */
export function imageCommand(ctx: CliContext, extra: Command[]): Command {
  const img = new DockerCommand('image').description('Manage images');
  img.action(() => img.help());
  const ls = listCommand(ctx, 'ls').alias('list');
  for (const c of [ls, inspectCommand(ctx), historyCommand(ctx), tagCommand(ctx), rmiCommand(ctx, 'rm').alias('remove'), pruneCommand(ctx), ...extra]) img.addCommand(c);
  return img;
}
