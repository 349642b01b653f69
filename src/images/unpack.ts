// Unpacks one layer tar (gzip, zstd or plain) into its own directory as an
// overlayfs lower layer, computing its DiffID (sha256 of the uncompressed
// tar) on the way. The work runs in a worker thread (unpack-worker.ts) with
// synchronous fs calls: through fs/promises each entry cost about 14 round
// trips to libuv's pool, and the daemon's loop must stay free meanwhile.
// One worker is kept while layers come (starting one costs ~100 ms here)
// and serves one layer at a time; it does not keep the process alive, and
// goes after IDLE_MS without work (it holds a V8 isolate's memory).
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

let worker: Worker | undefined;
/** The job in progress: the worker's answers go to it. */
let onReply: ((r: UnpackReply) => void) | undefined;
let onDeath: ((err: Error) => void) | undefined;
let queue: Promise<unknown> = Promise.resolve();
let pending = 0;
let idleTimer: NodeJS.Timeout | undefined;
const IDLE_MS = 10_000;

function theWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER);
  w.unref();
  w.on('message', (r: UnpackReply) => onReply?.(r));
  const dead = (err: Error): void => {
    if (worker === w) worker = undefined;
    onDeath?.(err);
  };
  w.on('error', dead);
  w.on('exit', (code) => dead(new Error(`the unpacking thread exited (code ${code})`)));
  // (A worker ended for idleness is no longer `worker`; no job waits on it.)
  worker = w;
  return w;
}

/**
 * Unpacks the layer `body` (its file's path, which the worker reads itself,
 * or its bytes) into the existing empty directory `dir`; `what` names the
 * layer in errors. On failure the directory may hold a partial tree: the
 * caller removes it. Nothing of this layer runs in the worker once this settles.
 */
export function unpackLayer(body: string | AsyncIterable<Uint8Array>, dir: string, what: string): Promise<UnpackResult> {
  pending++;
  clearTimeout(idleTimer);
  const run = queue.then(() => runJob(body, dir, what)).finally(() => {
    if (--pending > 0) return;
    idleTimer = setTimeout(() => {
      const w = worker;
      worker = undefined;
      void w?.terminate();
    }, IDLE_MS).unref();
  });
  queue = run.catch(() => {});
  return run;
}

async function runJob(body: string | AsyncIterable<Uint8Array>, dir: string, what: string): Promise<UnpackResult> {
  const w = theWorker();
  const post = (m: UnpackRequest, transfer?: ArrayBuffer[]): void => w.postMessage(m, transfer);
  let settled = false;
  let credit = WINDOW;
  let wake: (() => void) | undefined;
  const result = new Promise<UnpackResult>((resolve, reject) => {
    const end = (): void => { settled = true; onReply = onDeath = undefined; wake?.(); };
    onReply = (m): void => {
      if (m.kind === 'ack') { credit++; wake?.(); return; }
      end();
      if (m.kind === 'done') resolve({ diffId: m.diffId, size: m.size });
      else reject(new CnmError(m.code, m.message));
    };
    onDeath = (err): void => { end(); reject(new CnmError('INTERNAL', `${what}: unpacking failed: ${err.message}`, { cause: err })); };
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
