// A Runtime for unit tests of the core: each started sandbox is a real,
// harmless child process (`sleep`), so the core's liveness checks (PID plus
// start time from /proc) and stop (a signal, then waiting for the process
// to go) work unchanged, with no OCI runtime, namespace or privilege. Every
// call counts in the world's Faults; a failed start starts nothing.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { procStartTime } from '../../src/runtime/proc.ts';
import type { ExecProcess, ExecSpec, ProcessSpec, Runtime, Started } from '../../src/runtime/types.ts';
import { Faults } from './faults.ts';

/** Every child of every FakeRuntime: none outlives the test process. */
const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

export class FakeRuntime implements Runtime {
  readonly name = 'fake';
  readonly faults: Faults;
  /** Running containers by sandbox ID. */
  readonly running = new Map<string, ChildProcess>();
  /** The spec of every start, in order. */
  readonly specs: ProcessSpec[] = [];
  /** After killAll: exits are no longer reported (the controller is gone). */
  private quiet = false;

  constructor(faults: Faults = new Faults()) {
    this.faults = faults;
  }

  async start(spec: ProcessSpec, _runDir: string, onExit: () => void): Promise<Started> {
    this.faults.hit(`runtime start ${spec.id.slice(0, 12)}`);
    if (this.running.has(spec.id)) throw new Error(`container ${spec.id} exists`);
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.add(child);
    await once(child, 'spawn');
    const pid = child.pid ?? 0;
    this.running.set(spec.id, child);
    this.specs.push(spec);
    child.on('exit', () => {
      children.delete(child);
      if (this.running.get(spec.id) === child) this.running.delete(spec.id);
      if (!this.quiet) onExit();
    });
    return { pid, pidStart: procStartTime(pid) ?? '', monitorPid: pid };
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<boolean> {
    this.faults.hit(`runtime kill ${id.slice(0, 12)} ${signal}`);
    const c = this.running.get(id);
    return c ? c.kill(signal) : false;
  }

  async remove(id: string): Promise<void> {
    this.faults.hit(`runtime remove ${id.slice(0, 12)}`);
    const c = this.running.get(id);
    this.running.delete(id);
    if (c && c.exitCode === null && c.signalCode === null) {
      const gone = once(c, 'exit');
      c.kill('SIGKILL');
      await gone;
    }
  }

  async list(): Promise<string[]> {
    this.faults.hit('runtime list');
    return [...this.running.keys()];
  }

  describe(): { name: string; path: string; root: string } {
    return { name: this.name, path: '/bin/false', root: '/nonexistent' };
  }

  attach(): Promise<Duplex> {
    // Attach is the monitor's; it is tested end to end.
    return Promise.reject(new Error('the fake runtime does not attach'));
  }

  resize(): Promise<void> {
    return Promise.reject(new Error('the fake runtime has no terminals'));
  }

  exec(): ExecProcess {
    // The core's tests do not exec; the exec path is tested end to end.
    throw new Error('the fake runtime does not exec');
  }

  execArgv(e: ExecSpec): string[] {
    return ['/bin/false', e.id, ...e.args];
  }

  /** Kills every child this runtime started (test teardown). */
  async killAll(): Promise<void> {
    this.quiet = true;
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const gone = once(c, 'exit');
      c.kill('SIGKILL');
      await gone;
    }));
  }
}
