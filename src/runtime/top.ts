// docker top: the host's `ps`, narrowed to a sandbox's processes, parsed
// as moby does (daemon/top_unix.go): the first line is the titles, the
// last column (the command) keeps its spaces.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TopResult { Titles: string[]; Processes: string[][] }

/** moby's validatePSArgs: a column renamed to something else than pid must not hide the PID title. */
export function checkPsArgs(psArgs: string): string | null {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g)) {
    if (m[1] !== 'pid') return `specifying "${m[1]}=${m[2]}" is not allowed`;
  }
  return null;
}

export function parsePs(output: string, pids: Set<number>): TopResult {
  const lines = output.split('\n');
  const titles = (lines[0] ?? '').trim().split(/\s+/).filter(Boolean);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new Error(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/).filter(Boolean);
    if (!fields.length) continue;
    if (!pids.has(Number(fields[pidIndex]))) continue;
    processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  }
  return { Titles: titles, Processes: processes };
}

/** `ps ARGS -q PIDS` (some options refuse -q: then all of ps, filtered here). */
export async function top(psArgs: string, pids: number[]): Promise<TopResult> {
  const args = psArgs.split(' ').filter(Boolean);
  let out: string;
  try {
    out = (await run('ps', [...args, `-q${pids.join(',')}`], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch {
    try {
      out = (await run('ps', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`ps: ${(err.stderr || err.message).trim()}`);
    }
  }
  return parsePs(out, new Set(pids));
}
