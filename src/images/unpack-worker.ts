// The unpacking thread (unpack.ts keeps one): for each job it reads the
// layer (from its blob file, or as chunks the caller posts), decompresses
// it, hashes the uncompressed tar for the DiffID, parses it and writes the
// entries with synchronous fs calls, so the daemon's event loop never waits
// on them. Each job is answered once: done (DiffID, size) or error.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CnmError } from '../model/errors.ts';
import { decompress } from './compression.ts';
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

async function run(job: UnpackJob): Promise<UnpackReply> {
  const writer = new LayerWriter(job.dir, job.what);
  const parser = new TarParser(writer, job.what);
  const hash = createHash('sha256');
  let size = 0;
  // 1 MiB reads: a plain layer is parsed straight from these buffers.
  const source = job.path === undefined ? posted(job.what) : createReadStream(job.path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of decompress(source, job.what)) {
      hash.update(chunk);
      size += chunk.byteLength;
      parser.write(chunk);
    }
    parser.end();
    writer.finish();
  } finally { writer.close(); }
  return { kind: 'done', diffId: `sha256:${hash.digest('hex')}`, size };
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
