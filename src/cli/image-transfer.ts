// `cnm pull|load|save|import`: the image streams. Tars stream both ways
// (never held whole); progress comes back as Docker's JSON lines and is
// drawn as the docker CLI draws it (jsonmessage.ts).
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { jsonLines } from '../client/client.ts';
import type { Client } from '../client/client.ts';
import type { JsonMessageWire } from '../client/image-wire.ts';
import { familiarString, parseReference, referenceString, withDefaultTag } from '../images/reference.ts';
import { configDir, credentialsFor } from './auth-config.ts';
import type { CliContext, Out } from './context.ts';
import { DockerCommand } from './docker-command.ts';
import { collect } from './flags.ts';
import { displayJsonMessages, terminalOf } from './jsonmessage.ts';

const isTerminal = (s: unknown): boolean => !!(s as { isTTY?: boolean }).isTTY;

/** Writes a chunk, waiting for a stream's drain when it asks to (process.stdout on a pipe). */
async function writeAll(out: Out, chunk: Uint8Array): Promise<void> {
  const w = out as Out & { once?: (ev: string, fn: () => void) => unknown };
  if (out.write(chunk) === false && typeof w.once === 'function') await new Promise<void>((r) => { w.once?.('drain', r); });
}

/**
 * docker pull's steps for NAME[:TAG|@DIGEST]: normalise (no tag = latest),
 * POST /images/create with the saved credentials of its registry, draw the
 * progress on `out`. Returns the full reference (docker.io/library/x:latest).
 */
export async function pullImage(client: Client, name: string, out: Out, o: { platform?: string; quiet?: boolean; announceDefaultTag?: boolean } = {}): Promise<string> {
  const parsed = parseReference(name);
  const ref = withDefaultTag(parsed);
  if (o.announceDefaultTag && parsed.tag === undefined && parsed.digest === undefined && !o.quiet) out.write(`Using default tag: ${ref.tag ?? 'latest'}\n`);
  const auth = credentialsFor(configDir(), ref.domain);
  const res = await client.imagePull(`${ref.domain}/${ref.path}`, ref.digest ?? ref.tag ?? '', { ...(o.platform ? { platform: o.platform } : {}), ...(auth ? { auth } : {}) });
  const target = o.quiet ? { out: { write: () => true }, isTerminal: false } : terminalOf(out);
  await displayJsonMessages(jsonLines<JsonMessageWire>(res), target);
  return referenceString(ref);
}

/** The image name the docker CLI prints in "Unable to find image 'busybox:latest' locally". */
export function familiarWithTag(name: string): string {
  return familiarString(withDefaultTag(parseReference(name)));
}

function pullCommand(ctx: CliContext): Command {
  return new DockerCommand('pull')
    .description('Download an image from a registry')
    .argument('<name>', 'NAME[:TAG|@DIGEST]')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('-q, --quiet', 'Suppress verbose output')
    .action(async (name: string, o: { platform?: string; quiet?: boolean }, cmd: Command) => {
      const ref = await pullImage(ctx.client(cmd), name, ctx.stdout, { ...o, announceDefaultTag: true });
      ctx.stdout.write(`${ref}\n`);
    });
}

/** Prints a load or import answer: progress lines when JSON, the bytes otherwise. */
async function printStream(ctx: CliContext, res: AsyncIterable<Uint8Array> & { headers: Record<string, string | string[] | undefined> }): Promise<void> {
  if (String(res.headers['content-type'] ?? '').includes('json')) {
    await displayJsonMessages(jsonLines<JsonMessageWire>(res), terminalOf(ctx.stdout));
    return;
  }
  for await (const c of res) await writeAll(ctx.stdout, c);
}

function loadCommand(ctx: CliContext): Command {
  return new DockerCommand('load')
    .description('Load an image from a tar archive or STDIN')
    .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .action(async (o: { input?: string; quiet?: boolean }, cmd: Command) => {
      // A terminal has no tar to give: docker refuses rather than wait.
      if (!o.input && isTerminal(ctx.stdin)) throw new Error('requested load from stdin, but stdin is empty');
      const body = o.input ? createReadStream(o.input) : ctx.stdin;
      if (o.input) await new Promise<void>((resolve, reject) => { (body as ReturnType<typeof createReadStream>).once('open', () => resolve()).once('error', reject); });
      const res = await ctx.client(cmd).imageLoad(body, !!o.quiet || !isTerminal(ctx.stdout));
      await printStream(ctx, res);
    });
}

function saveCommand(ctx: CliContext): Command {
  return new DockerCommand('save')
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .argument('<image...>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .option('--platform <string>', 'Save only the given platform variant (accepted; images here have one)')
    .action(async (names: string[], o: { output?: string }, cmd: Command) => {
      if (!o.output && isTerminal(ctx.stdout)) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      const res = await ctx.client(cmd).imageSave(names);
      if (!o.output) {
        for await (const c of res) await writeAll(ctx.stdout, c as Uint8Array);
        return;
      }
      // Written beside the target and renamed: a failed save leaves no half tar (docker's CopyToFile).
      const tmp = join(dirname(o.output), `.${basename(o.output)}.cnm-save-${process.pid}`);
      try {
        await pipeline(res, createWriteStream(tmp, { mode: 0o644 }));
        await rename(tmp, o.output);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    });
}

function importCommand(ctx: CliContext): Command {
  return new DockerCommand('import')
    .description('Import the contents from a tarball to create a filesystem image')
    .argument('<file>', 'file|URL|- (a root filesystem tar, plain, gzip or zstd)')
    .argument('[reference]', 'REPOSITORY[:TAG]')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect, [])
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(async (file: string, repo: string | undefined, o: { change: string[]; message?: string; platform?: string }, cmd: Command) => {
      // Checked here as docker checks it, before any byte is sent.
      if (repo) parseReference(repo);
      const client = ctx.client(cmd);
      const q = { ...(repo ? { repo } : {}), ...(o.message ? { message: o.message } : {}), changes: o.change, ...(o.platform ? { platform: o.platform } : {}) };
      let res;
      if (/^https?:\/\//i.test(file)) res = await client.imageImportUrl(file, q);
      else {
        const body = file === '-' ? ctx.stdin : createReadStream(file);
        if (file !== '-') await new Promise<void>((resolve, reject) => { (body as ReturnType<typeof createReadStream>).once('open', () => resolve()).once('error', reject); });
        res = await client.imageImport(body, q);
      }
      await printStream(ctx, res);
    });
}

/** The transfer commands, made once per parent (commander gives each command one parent). */
export function transferCommands(ctx: CliContext): Command[] {
  return [pullCommand(ctx), loadCommand(ctx), saveCommand(ctx), importCommand(ctx)];
}
