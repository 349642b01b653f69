// Layer and archive compression, recognised by magic bytes as Docker does
// (M go-archive compression.go DetectCompression): gzip 1f 8b, zstd
// 28 b5 2f fd (a zstd frame; skippable frames are not expected here), else
// plain. Node's zlib has both decoders.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { invalid } from '../model/errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Decompressed chunks of 256 KiB (zlib's default is 16): fewer hops for whoever reads them. */
const CHUNK = 256 << 10;

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** bzip2 ("BZh") and xz (fd 37 7a 58 5a 00), which Docker also reads; Node has no decoder for them. */
function unsupported(head: Uint8Array): string | undefined {
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  return undefined;
}

/** The compression `head` (the first 6 bytes or more) says; refuses the ones Node cannot read. */
export function compressionOf(head: Uint8Array, what: string): Compression {
  const other = unsupported(head);
  if (other) throw invalid(`${what}: ${other} compression is not supported (gzip and zstd are): decompress it first`);
  return detectCompression(head);
}

/** The bytes of `body` decompressed by whatever its first bytes say; `what` names it in errors. */
export async function* decompress(body: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  const it = body[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 6) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    head = Buffer.concat([head, r.value]);
  }
  const kind = compressionOf(head, what);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
  }
  if (kind === 'none') { yield* rest(); return; }
  const z = kind === 'gzip' ? createGunzip({ chunkSize: CHUNK }) : createZstdDecompress({ chunkSize: CHUNK });
  const feeding = pipeline(Readable.from(rest()), z).catch((err: unknown) => {
    z.destroy(err as Error);
  });
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } catch (err) {
    throw invalid(`${what}: corrupt ${kind} data: ${(err as Error).message}`);
  } finally {
    z.destroy();
    await feeding;
  }
}
