// Running one CNI plugin (CNI SPEC.md "Execution protocol", libcni
// pkg/invoke/raw_exec.go): the executable `type` from the bin directories,
// in the daemon's own namespace, config on stdin, parameters in CNI_*
// environment variables; exit 0 and a result on stdout, or non-zero and an
// error object on stdout (stderr is the plugin's log). A plugin that hangs
// is killed at the timeout; whatever goes wrong becomes one error naming
// the plugin and the reason.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CnmError } from '../../model/errors.ts';
import type { CniErrorObject } from './types.ts';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface PluginCall {
  binDirs: readonly string[];
  type: string;
  command: CniCommand;
  env: { containerId: string; netns: string; ifName: string; args: string };
  stdin: string;
  timeoutMs: number;
}

export interface PluginOutput {
  stdout: string;
  /** Milliseconds from spawn to exit: the plugin's own time, for the overhead figure. */
  runMs: number;
}

/** libcni re-runs a plugin whose file is being written (ETXTBSY) up to 5 times, 1 s apart. */
const BUSY_RETRIES = 5;
const BUSY_DELAY_MS = 1000;

/** The plugin's executable in the first bin directory that has it, or null. */
export function findPlugin(binDirs: readonly string[], type: string): string | null {
  // A type is a file name, never a path (SPEC.md: "the name of the executable").
  if (!type || type.includes('/') || type === '.' || type === '..') return null;
  for (const dir of binDirs) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next directory */ }
  }
  return null;
}

export const pluginError = (type: string, command: CniCommand, why: string): CnmError =>
  new CnmError('INTERNAL', `CNI plugin ${type} failed (${command}): ${why}`);

/** The error object's words: msg, details and code, as the plugin gave them. */
function describeError(stdout: string, stderr: string, code: number | null, signal: string | null): string {
  try {
    const e = JSON.parse(stdout) as CniErrorObject;
    if (e && typeof e === 'object' && (e.msg || e.code !== undefined)) {
      return `${e.msg ?? 'no message'}${e.details ? `: ${e.details}` : ''}${e.code !== undefined ? ` (code ${e.code})` : ''}`;
    }
  } catch { /* not the error object: say what it printed */ }
  const out = (stdout.trim() || stderr.trim()).slice(0, 300);
  const how = signal ? `killed by ${signal}` : `exit status ${code}`;
  return out ? `${out} (${how})` : how;
}

function runOnce(path: string, c: PluginCall): Promise<{ stdout: string; stderr: string; code: number | null; signal: string | null; runMs: number; timedOut: boolean; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(path, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CNI_COMMAND: c.command,
        CNI_CONTAINERID: c.env.containerId,
        CNI_NETNS: c.env.netns,
        CNI_IFNAME: c.env.ifName,
        CNI_ARGS: c.env.args,
        CNI_PATH: c.binDirs.join(':'),
      },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, c.timeoutMs);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', (e: NodeJS.ErrnoException) => { spawnError = e; });
    // A plugin that exits without reading its config closes the pipe first.
    p.stdin.on('error', () => undefined);
    p.stdin.end(c.stdin);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code, signal,
        runMs: performance.now() - t0, timedOut, ...(spawnError ? { spawnError } : {}),
      });
    });
  });
}

/** Runs the plugin; its stdout on success, else a CnmError naming it and the reason. */
export async function runPlugin(c: PluginCall): Promise<PluginOutput> {
  const path = findPlugin(c.binDirs, c.type);
  if (!path) throw pluginError(c.type, c.command, `no executable "${c.type}" in ${c.binDirs.join(':')}`);
  for (let attempt = 0; ; attempt++) {
    const r = await runOnce(path, c);
    if (r.spawnError?.code === 'ETXTBSY' && attempt < BUSY_RETRIES) {
      await new Promise((res) => setTimeout(res, BUSY_DELAY_MS));
      continue;
    }
    if (r.spawnError) throw pluginError(c.type, c.command, r.spawnError.message);
    if (r.timedOut) throw pluginError(c.type, c.command, `no answer within ${c.timeoutMs / 1000} s (killed)`);
    if (r.code !== 0) throw pluginError(c.type, c.command, describeError(r.stdout, r.stderr, r.code, r.signal));
    return { stdout: r.stdout, runMs: r.runMs };
  }
}
