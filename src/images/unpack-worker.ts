// The unpacking thread (unpack.ts keeps one): for each job it reads the
// layer (from its blob file, or as chunks the caller posts), decompresses
// it, hashes the uncompressed tar for the DiffID, parses it and writes the
// entries with synchronous fs calls, so the daemon's event loop never waits
// on them. Each job is answered once: done (DiffID, size) or error.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Worker, parentPort } from 'node:worker_threads';
import { CnmError } from '../model/errors.ts';
import { compressionOf, decompress } from './compression.ts';
import { LayerWriter } from './layer-writer.ts';
import { TarParser } from './tar-parse.ts';
import type { UnpackJob, UnpackReply, UnpackRequest } from './unpack-protocol.ts';

const port = parentPort!;
const send = (r: UnpackReply): void => port.postMessage(r);

/** The chunks of the current job that the caller posted; each taken one is acknowledged (the caller's flow control). */
const queue: UnpackRequest[] = [];
let wake: (() => void) | undefined;

async function* posted(what: string): AsyncGenerator<Uint8Array> {
  for (;;) {
    while (!queue.length) await new Promise<void>((r) => { wake = r; });
    wake = undefined;
    const m = queue.shift()!;
    if (m.kind === 'end') return;
    if (m.kind === 'abort') throw new CnmError('INVALID', `${what}: reading the layer failed`);
    if (m.kind !== 'chunk') throw new Error(`unexpected ${m.kind} message during a job`);
    send({ kind: 'ack' });
    yield m.data;
  }
}

/** The hashing thread (hash-worker.ts), with a window of chunks in flight. */
class Hasher {
  private readonly w = new Worker(new URL(import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js', import.meta.url));
  private inFlight = 0;
  private waiting: ((v: unknown) => void) | undefined;
  /** Set when the thread died: the next job starts another. */
  dead: Error | undefined;

  constructor() {
    this.w.on('message', (m: true | string | Error) => {
      if (m === true) this.inFlight--;
      const r = this.waiting;
      this.waiting = undefined;
      r?.(m);
    });
    this.w.on('error', (err) => { this.dead = err; this.waiting?.(undefined); });
  }

  reset(): void { this.w.postMessage('reset'); }

  async update(chunk: Uint8Array): Promise<void> {
    while (this.inFlight >= 16 && !this.dead) await new Promise((r) => { this.waiting = r; });
    if (this.dead) throw this.dead;
    const copy = new Uint8Array(chunk); // the parser still reads the chunk: the hasher gets its own
    this.w.postMessage(copy, [copy.buffer]);
    this.inFlight++;
  }

  /** The hasher reads a plain layer file itself. */
  file(path: string): void { this.w.postMessage({ file: path }); }

  async digest(): Promise<string> {
    this.w.postMessage('digest');
    for (;;) {
      const m = await new Promise((r) => { this.waiting = r; });
      if (this.dead) throw this.dead;
      if (m instanceof Error) throw m;
      if (typeof m === 'string') return m;
    }
  }
}

let hasher: Hasher | undefined;

async function run(job: UnpackJob): Promise<UnpackReply> {
  const writer = new LayerWriter(job.dir, job.what);
  const parser = new TarParser(writer, job.what);
  if (hasher?.dead) hasher = undefined;
  const hash = (hasher ??= new Hasher());
  hash.reset();
  try {
    let size = job.path === undefined ? undefined : plainFile(job.path, job.what, parser, hash);
    if (size === undefined) {
      size = 0;
      const source = job.path === undefined ? posted(job.what) : createReadStream(job.path, { highWaterMark: READ });
      for await (const chunk of decompress(source, job.what)) {
        await hash.update(chunk);
        size += chunk.byteLength;
        parser.write(chunk);
      }
    }
    parser.end();
    writer.finish();
    return { kind: 'done', diffId: `sha256:${await hash.digest()}`, size };
  } finally { writer.close(); }
}

const READ = 1 << 20;
const readBuf = Buffer.allocUnsafe(READ);

/**
 * An uncompressed layer file is read synchronously into one reused buffer
 * and parsed from it (the parser copies nothing it keeps); the hasher reads
 * the same file on its own thread. Undefined (nothing done) when the file
 * is compressed.
 */
function plainFile(path: string, what: string, parser: TarParser, hash: Hasher): number | undefined {
  const fd = openSync(path, 'r');
  try {
    let n = readSync(fd, readBuf, 0, READ, null);
    if (compressionOf(readBuf.subarray(0, n), what) !== 'none') return undefined;
    hash.file(path);
    let size = 0;
    while (n > 0) {
      size += n;
      parser.write(readBuf.subarray(0, n));
      n = readSync(fd, readBuf, 0, READ, null);
    }
    return size;
  } finally { closeSync(fd); }
}

function failure(err: unknown, what: string): UnpackReply {
  if (err instanceof CnmError) return { kind: 'error', code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EPERM' && process.getuid?.() !== 0) return { kind: 'error', code: 'INVALID', message: `${what}: unpacking needs root (${e.message})` };
  return { kind: 'error', code: 'INVALID', message: `${what}: ${e.message}` };
}

port.on('message', (m: UnpackRequest) => {
  if (m.kind !== 'job') { queue.push(m); wake?.(); return; }
  queue.length = 0;
  void run(m.job).catch((err: unknown) => failure(err, m.job.what)).then(send);
});
