// Legacy Docker plugins for the tests: test/plugins/plugin.py (Python, stdlib
// only) run as a child process on a unix socket in a plugin directory,
// optionally inside a namespace (the daemon's, where its data plane goes).
// Failure injection through its control file; its calls read back from its log.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { waitFor } from './wait.ts';

export const PLUGIN_PY = resolve(import.meta.dirname, '..', 'plugins', 'plugin.py');

export interface PluginCall { method: string; body: Record<string, unknown>; ms: number }

export type Fault = 'error' | 'http500' | 'timeout' | 'kill' | 'garbage' | 'badaddr';

export interface TestPlugin {
  name: string;
  socket: string;
  readonly pid: number;
  /** Makes the named calls ("NetworkDriver.Join") fail as said; {} clears. */
  faults(f: Record<string, Fault>): void;
  /** The calls the plugin answered, in order. */
  calls(): PluginCall[];
  /** Methods only ("NetworkDriver.Join", ...), since `from` (an index into calls()). */
  methods(from?: number): string[];
  /** Kills the process (by its PID) and waits for its exit. */
  kill(): Promise<void>;
  /** Starts it again on the same socket (a plugin restarted mid-life: its state is gone). */
  restart(): Promise<void>;
}

export async function startPlugin(o: { dir: string; name: string; kind?: 'network' | 'ipam' | 'both'; netns?: string; args?: string[] }): Promise<TestPlugin> {
  const socket = join(o.dir, `${o.name}.sock`);
  const control = join(o.dir, `${o.name}.control.json`);
  const log = join(o.dir, `${o.name}.log`);
  writeFileSync(control, '{}');
  writeFileSync(log, '');
  let proc!: ChildProcess;
  let out = '';
  const launch = async (): Promise<void> => {
    const argv = [PLUGIN_PY, '--socket', socket, '--kind', o.kind ?? 'network', '--control', control, '--log', log, ...(o.args ?? [])];
    proc = o.netns ? spawn('nsenter', [`--net=${o.netns}`, 'python3', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('python3', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    out = '';
    proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
    await waitFor(() => out.includes('listening') || proc.exitCode !== null, { what: () => `plugin ${o.name} to listen: ${out}`, timeoutMs: 10_000 });
    if (proc.exitCode !== null) throw new Error(`plugin ${o.name} exited: ${out}`);
  };
  await launch();
  const calls = (): PluginCall[] => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PluginCall);
  const kill = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode) return;
    const done = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await done;
  };
  return {
    name: o.name,
    socket,
    get pid() { return proc.pid ?? 0; },
    faults(f) { writeFileSync(control, JSON.stringify(f)); },
    calls,
    methods(from = 0) { return calls().slice(from).map((c) => c.method); },
    kill,
    async restart() {
      await kill();
      await launch();
    },
  };
}
