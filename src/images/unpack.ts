// Unpacks one layer tar (gzip, zstd or plain) into its own directory as an
// overlayfs lower layer, computing its DiffID (sha256 of the uncompressed
// tar) on the way. The work runs in a worker thread (unpack-worker.ts) with
// synchronous fs calls: through fs/promises each entry cost about 14 round
// trips to libuv's pool, and the daemon's loop must stay free meanwhile.
// Up to THREADS workers run layers side by side (an image's layers are
// independent directories); each is kept while layers come (starting one
// costs ~100 ms here), does not keep the process alive, and goes after
// IDLE_MS without work (it holds a V8 isolate's memory).
// Owners, modes, mtimes, PAX SCHILY.xattr.* attributes (binary-safe), hard
// links, symlinks, device nodes and fifos are kept; whiteouts and opaque
// directories are converted for overlayfs (layer-writer.ts).
import { Worker } from 'node:worker_threads';
import { CnmError } from '../model/errors.ts';
import type { UnpackJob, UnpackReply, UnpackRequest } from './unpack-protocol.ts';

export interface UnpackResult {
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
}

// Compiled to dist/ the worker is a .js file next to this one.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './unpack-worker.ts' : './unpack-worker.js', import.meta.url);
/** Chunks posted to the worker and not yet taken: bounds the memory a fast source can fill. */
const WINDOW = 8;
/**
 * Layers unpacked at once. Creating files on a disk waits on the disk more
 * than on the CPU: GNU tar unpacking this benchmark's 5 layers onto the
 * test machine's ext4 took 7.9 s one after another and 4.7 s side by side.
 */
const THREADS = 3;
const IDLE_MS = 10_000;

/** One unpacking thread and the job it runs. */
interface Slot {
  w: Worker;
  dead: boolean;
  onReply?: ((r: UnpackReply) => void) | undefined;
  onDeath?: ((err: Error) => void) | undefined;
  idle?: NodeJS.Timeout | undefined;
}

const free: Slot[] = [];
let threads = 0;
const waiting: ((s: Slot) => void)[] = [];

function newSlot(): Slot {
  const slot: Slot = { w: new Worker(WORKER), dead: false };
  threads++;
  slot.w.unref();
  slot.w.on('message', (r: UnpackReply) => slot.onReply?.(r));
  const dead = (err: Error): void => {
    if (slot.dead) return;
    slot.dead = true;
    threads--;
    const i = free.indexOf(slot);
    if (i >= 0) free.splice(i, 1);
    slot.onDeath?.(err);
  };
  slot.w.on('error', dead);
  slot.w.on('exit', (code) => dead(new Error(`the unpacking thread exited (code ${code})`)));
  return slot;
}

async function acquire(): Promise<Slot> {
  const slot = free.pop();
  if (slot) {
    clearTimeout(slot.idle);
    return slot;
  }
  if (threads < THREADS) return newSlot();
  return new Promise((r) => waiting.push(r));
}

function release(slot: Slot): void {
  if (slot.dead) {
    // Its place goes to a waiting job, on a new thread.
    waiting.shift()?.(newSlot());
    return;
  }
  const next = waiting.shift();
  if (next) { next(slot); return; }
  free.push(slot);
  slot.idle = setTimeout(() => {
    free.splice(free.indexOf(slot), 1);
    slot.dead = true;
    threads--;
    void slot.w.terminate();
  }, IDLE_MS).unref();
}

/**
 * Unpacks the layer `body` (its file's path, which the worker reads itself,
 * or its bytes) into the existing empty directory `dir`; `what` names the
 * layer in errors. On failure the directory may hold a partial tree: the
 * caller removes it. Nothing of this layer runs in a worker once this settles.
 */
export async function unpackLayer(body: string | AsyncIterable<Uint8Array>, dir: string, what: string): Promise<UnpackResult> {
  const slot = await acquire();
  try {
    return await runJob(slot, body, dir, what);
  } finally { release(slot); }
}

async function runJob(slot: Slot, body: string | AsyncIterable<Uint8Array>, dir: string, what: string): Promise<UnpackResult> {
  const w = slot.w;
  const post = (m: UnpackRequest, transfer?: ArrayBuffer[]): void => w.postMessage(m, transfer);
  let settled = false;
  let credit = WINDOW;
  let wake: (() => void) | undefined;
  const result = new Promise<UnpackResult>((resolve, reject) => {
    const end = (): void => { settled = true; slot.onReply = slot.onDeath = undefined; wake?.(); };
    slot.onReply = (m): void => {
      if (m.kind === 'ack') { credit++; wake?.(); return; }
      end();
      if (m.kind === 'done') resolve({ diffId: m.diffId, size: m.size });
      else reject(new CnmError(m.code, m.message));
    };
    slot.onDeath = (err): void => { end(); reject(new CnmError('INTERNAL', `${what}: unpacking failed: ${err.message}`, { cause: err })); };
  });
  result.catch(() => {}); // awaited below; a failure while feeding must not be unhandled meanwhile
  w.ref();
  try {
    const job: UnpackJob = typeof body === 'string' ? { dir, what, path: body } : { dir, what };
    post({ kind: 'job', job });
    if (typeof body !== 'string') {
      try {
        for await (const chunk of body) {
          while (credit === 0 && !settled) await new Promise<void>((r) => { wake = r; });
          if (settled) break;
          // A copy the worker then owns: a stream's chunk may share a pooled buffer.
          const data = new Uint8Array(chunk);
          post({ kind: 'chunk', data }, [data.buffer]);
          credit--;
        }
        if (!settled) post({ kind: 'end' });
      } catch (err) {
        // The source failed: its error is the one to report, once the worker stopped.
        if (!settled) post({ kind: 'abort' });
        await result.catch(() => {});
        throw err;
      }
    }
    return await result;
  } finally {
    w.unref();
  }
}
