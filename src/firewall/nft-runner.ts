// How scripts reach nftables inside one network namespace. Two
// implementations behind one interface: the in-process libnftables binding
// (default; ~0.1 ms per transaction) and `nsenter --net=NS nft -f -`
// (~5 ms per call, no native code needed).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirewallError } from './errors.ts';

export interface NftRunner {
  /** Runs an nft script as one transaction; resolves with nft's output. */
  run(script: string): Promise<string>;
  /** Runs a listing command with JSON output. */
  runJson(cmd: string): Promise<string>;
  /** Reads a file as seen from inside the namespace (/proc/thread-self/net/..., /proc/sys/...). */
  readFile(path: string): Promise<string>;
  /** Writes a file inside the namespace (sysctls under /proc/sys). */
  writeFile(path: string, content: string): Promise<void>;
  /** Whether a process that committed an nft transaction was this runner (`nft monitor` names it). */
  committedBy(pid: number): boolean;
  close(): Promise<void>;
}

interface NativeNft {
  open(nsPath: string): unknown;
  submit(h: unknown, kind: number, a: string, b: string, cb: (err: string | null, out?: string) => void): void;
  /** Returns at once; done() runs when the queued jobs have settled and the worker thread is gone. */
  close(h: unknown, done: () => void): void;
  tid(h: unknown): number;
}

// Job kinds of src/native/nft/nft.c.
const JOB_NFT = 0;
const JOB_NFT_JSON = 1;
const JOB_WRITE = 2;
const JOB_READ = 3;

let native: NativeNft | null | undefined;
let nativeError = '';

export function loadNative(): NativeNft | null {
  if (native !== undefined) return native;
  try {
    native = createRequire(import.meta.url)('../../build/nft.node') as NativeNft;
  } catch (e) {
    nativeError = (e as Error).message;
    native = null;
  }
  return native;
}

export class NativeNftRunner implements NftRunner {
  private readonly lib: NativeNft;
  private handle: unknown;
  private readonly tid: number;
  private constructor(lib: NativeNft, handle: unknown) {
    this.lib = lib;
    this.handle = handle;
    this.tid = lib.tid(handle);
  }

  static open(nsPath: string): NativeNftRunner {
    const lib = loadNative();
    if (!lib) throw new FirewallError({ code: 'NATIVE_UNAVAILABLE', detail: `build/nft.node: ${nativeError} (run npm run build:native)` });
    try {
      return new NativeNftRunner(lib, lib.open(nsPath));
    } catch (e) {
      throw new FirewallError({ code: 'NATIVE_UNAVAILABLE', detail: (e as Error).message }, { cause: e });
    }
  }

  private submit(kind: number, a: string, b: string, op: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.handle === null) { reject(new FirewallError({ code: 'NFT_FAILED', op, detail: 'runner closed' })); return; }
      this.lib.submit(this.handle, kind, a, b, (err, out) => {
        if (err === null) { resolve(out ?? ''); return; }
        const detail = err.trim();
        reject(kind === JOB_WRITE || kind === JOB_READ
          ? new FirewallError({ code: 'SYSCTL_FAILED', path: a, detail })
          : new FirewallError({ code: 'NFT_FAILED', op, detail }));
      });
    });
  }

  run(script: string): Promise<string> { return this.submit(JOB_NFT, script, '', 'transaction'); }
  runJson(cmd: string): Promise<string> { return this.submit(JOB_NFT_JSON, cmd, '', cmd); }
  readFile(path: string): Promise<string> { return this.submit(JOB_READ, path, '', 'read'); }
  async writeFile(path: string, content: string): Promise<void> { await this.submit(JOB_WRITE, path, content, 'write'); }
  /** The kernel names the committing thread: the worker's tid. */
  committedBy(pid: number): boolean { return pid === this.tid || pid === process.pid; }
  /** Jobs already submitted still run and settle first; the event loop is never blocked waiting for them. */
  async close(): Promise<void> {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    await new Promise<void>((resolve) => { this.lib.close(h, resolve); });
  }
}

function execIn(nsPath: string, args: string[], input?: string, pids?: number[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nsenter', [`--net=${nsPath}`, ...args], { maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(stderr.trim() || err.message));
      else resolve(stdout);
    });
    // nsenter without --fork execs nft: the child's pid is nft's.
    if (pids && child.pid !== undefined) {
      pids.push(child.pid);
      if (pids.length > RECENT_PIDS) pids.shift();
    }
    // The child may exit without reading stdin (EPIPE): that is its answer, not ours.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

const RECENT_PIDS = 64;

export class SpawnNftRunner implements NftRunner {
  private readonly nsPath: string;
  private readonly pids: number[] = [];
  constructor(nsPath: string) { this.nsPath = nsPath; }

  committedBy(pid: number): boolean { return this.pids.includes(pid); }

  private async nft(args: string[], input: string, op: string): Promise<string> {
    try {
      return await execIn(this.nsPath, ['nft', ...args], input, this.pids);
    } catch (e) {
      throw new FirewallError({ code: 'NFT_FAILED', op, detail: (e as Error).message }, { cause: e });
    }
  }

  // Not `nft -f -`: node's stdio pipes are socketpairs, and nft opens
  // /dev/stdin, which fails on a socket (ENXIO). A file is read as is.
  async run(script: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'cnm-nft-'));
    const file = join(dir, 'script.nft');
    try {
      await writeFile(file, script);
      return await this.nft(['-f', file], '', 'transaction');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  runJson(cmd: string): Promise<string> { return this.nft(['-j', ...cmd.split(/\s+/).filter(Boolean)], '', cmd); }
  async readFile(path: string): Promise<string> {
    // nsenter's cat is one process in the namespace: /proc/self/net is its own.
    try {
      return await execIn(this.nsPath, ['cat', path.replace('/proc/thread-self/', '/proc/self/')]);
    } catch (e) {
      throw new FirewallError({ code: 'SYSCTL_FAILED', path, detail: (e as Error).message }, { cause: e });
    }
  }
  async writeFile(path: string, content: string): Promise<void> {
    try {
      await execIn(this.nsPath, ['sh', '-c', 'cat > "$0"', path], content);
    } catch (e) {
      throw new FirewallError({ code: 'SYSCTL_FAILED', path, detail: (e as Error).message }, { cause: e });
    }
  }
  async close(): Promise<void> { /* nothing held */ }
}

/** The native runner when the addon is built, else the spawning one. */
export function openRunner(nsPath: string, kind: 'native' | 'spawn' | 'auto' = 'auto'): NftRunner {
  if (kind === 'spawn') return new SpawnNftRunner(nsPath);
  if (kind === 'native') return NativeNftRunner.open(nsPath);
  try {
    return NativeNftRunner.open(nsPath);
  } catch {
    // Addon not built, or libnftables.so.1 missing: nft itself may still be there.
    return new SpawnNftRunner(nsPath);
  }
}
