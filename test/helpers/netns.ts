// Disposable worlds for privileged tests: a "host" namespace where the code
// under test runs, plus sandbox namespaces. Nothing here touches the root
// network namespace; every namespace is named with TEST_PREFIX so the global
// teardown (teardown.ts) can remove leftovers of failed runs.
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const TEST_PREFIX = 'cnmt-';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Why privileged tests cannot run here, or null when they can. */
export function privilegedSkipReason(): string | null {
  if (!isRoot()) return 'needs root (network namespaces)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  return null;
}

export interface RunResult { stdout: string; stderr: string; code: number }

export class TestNetns {
  readonly name: string;
  readonly path: string;
  private constructor(name: string) {
    this.name = name;
    this.path = `/run/netns/${name}`;
  }

  static async create(label = 'ns'): Promise<TestNetns> {
    const name = `${TEST_PREFIX}${label}-${randomBytes(3).toString('hex')}`;
    await execFileP('ip', ['netns', 'add', name]);
    const ns = new TestNetns(name);
    await ns.sh('ip link set lo up');
    return ns;
  }

  /** Runs a shell command inside the namespace (nsenter keeps /sys as is). */
  async sh(cmd: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    try {
      const r = await execFileP('nsenter', [`--net=${this.path}`, 'sh', '-c', cmd], { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
      return { stdout: r.stdout, stderr: r.stderr, code: 0 };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; code?: number | string };
      const res = { stdout: err.stdout ?? '', stderr: err.stderr ?? String(e), code: typeof err.code === 'number' ? err.code : 1 };
      if (opts.allowFail) return res;
      throw new Error(`in ${this.name}: \`${cmd}\` failed (${res.code}): ${res.stderr.trim()}`);
    }
  }

  /** Starts a long-running process inside the namespace. */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('nsenter', [`--net=${this.path}`, cmd, ...args], { stdio: 'pipe', ...opts });
  }

  async ping(ip: string, count = 1): Promise<boolean> {
    const r = await this.sh(`ping -c ${count} -W 1 ${ip}`, { allowFail: true });
    return r.code === 0;
  }

  async destroy(): Promise<void> {
    await killNetnsPids(this.name);
    await execFileP('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}

async function killNetnsPids(name: string): Promise<void> {
  try {
    const { stdout } = await execFileP('ip', ['netns', 'pids', name]);
    for (const pid of stdout.split(/\s+/).filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
    }
  } catch { /* namespace already gone */ }
}

/** Creates namespaces and always cleans them up, also when the body throws. */
export async function withNetns<T>(labels: string[], body: (ns: TestNetns[]) => Promise<T>): Promise<T> {
  const made: TestNetns[] = [];
  try {
    for (const l of labels) made.push(await TestNetns.create(l));
    return await body(made);
  } finally {
    for (const ns of made.reverse()) await ns.destroy();
  }
}

/** Removes every namespace with the test prefix (the global teardown). */
export async function removeLeftovers(prefix = TEST_PREFIX): Promise<string[]> {
  const { stdout } = await execFileP('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  const names = stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix));
  for (const n of names) {
    await killNetnsPids(n);
    await execFileP('ip', ['netns', 'del', n]).catch(() => undefined);
  }
  return names;
}
