// Small pieces the command files share: per-item error lines, the y/N
// prompt, docker's natural name order.
import { ApiError } from '../client/client.ts';
import type { CliContext } from './context.ts';
import { exitWith } from './docker-command.ts';
import { renderInspect } from './format.ts';

/**
 * How docker prints an error it reports for one of several items. Status 0
 * is the client's own "cannot connect", which docker prints bare.
 */
export function errorText(e: unknown): string {
  if (e instanceof ApiError && e.status !== 0) return `Error response from daemon: ${e.message}`;
  return (e as Error).message;
}

/** Reads one line (without the newline) from a stream; "" at end of input. */
export function readLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (): void => {
      input.removeListener('data', onData);
      input.removeListener('end', done);
      input.pause();
      resolve(buf.split('\n')[0]?.replace(/\r$/, '') ?? '');
    };
    const onData = (c: Buffer | string): void => {
      buf += c.toString();
      if (buf.includes('\n')) done();
    };
    input.on('data', onData);
    input.on('end', done);
    input.resume();
  });
}

/** docker's prompt.Confirm: "MESSAGE [y/N] ", true only for y or Y. */
export async function confirm(ctx: CliContext, message: string): Promise<boolean> {
  ctx.stdout.write(`${message} [y/N] `);
  const answer = (await readLine(ctx.stdin)).trim();
  return answer === 'y' || answer === 'Y';
}

/** sortorder.NaturalLess: digit runs compare as numbers ("net2" < "net10"). */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i] ?? '';
    const y = rb[i] ?? '';
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

/**
 * docker's removal loop (network rm, volume rm): each name printed when
 * removed, each error printed, exit 1 if there was one; with force a name
 * that does not exist is no error.
 */
export async function removeEach(ctx: CliContext, refs: string[], force: boolean, remove: (ref: string) => Promise<unknown>): Promise<void> {
  let failed = false;
  for (const ref of refs) {
    try {
      await remove(ref);
      ctx.stdout.write(`${ref}\n`);
    } catch (e) {
      if (force && e instanceof ApiError && e.status === 404) continue;
      ctx.stderr.write(`${errorText(e)}\n`);
      failed = true;
    }
  }
  if (failed) exitWith(1);
}

/**
 * docker's inspect loop: print what was found (a JSON array, or the template
 * per item), then every error, exit 1 if there was one.
 */
export async function inspectAll(ctx: CliContext, refs: string[], format: string, get: (ref: string) => Promise<unknown>): Promise<void> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      found.push(await get(ref));
    } catch (e) {
      errors.push(errorText(e));
    }
  }
  let out = '';
  try {
    out = found.length || !format ? renderInspect(found, format ?? '') : '';
  } catch (e) {
    errors.push((e as Error).message);
  }
  ctx.stdout.write(out);
  if (errors.length) {
    ctx.stderr.write(`${errors.join('\n')}\n`);
    exitWith(1);
  }
}
