// The DiffID's sha256, on a thread of its own next to the unpacking worker
// (unpack-worker.ts starts it): hashing a layer costs about a third of
// writing its files, and here it runs on the other core meanwhile.
// Messages in order: 'reset', then chunks (each acknowledged) or the path of
// a plain layer file (read here, in parallel with the unpacker's reading),
// then 'digest' (answered with the hex digest, or an Error).
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const port = parentPort!;
let hash: Hash | undefined;
let failed: Error | undefined;
const buf = Buffer.allocUnsafe(1 << 20);

function hashFile(path: string, h: Hash): void {
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally { closeSync(fd); }
}

port.on('message', (m: Uint8Array | { file: string } | 'reset' | 'digest') => {
  if (m === 'reset') {
    hash = undefined;
    failed = undefined;
  } else if (m === 'digest') {
    port.postMessage(failed ?? (hash ?? createHash('sha256')).digest('hex'));
    hash = undefined;
  } else if (!(m instanceof Uint8Array)) {
    try { hashFile(m.file, (hash ??= createHash('sha256'))); } catch (err) { failed = err as Error; }
  } else {
    (hash ??= createHash('sha256')).update(m);
    port.postMessage(true);
  }
});
