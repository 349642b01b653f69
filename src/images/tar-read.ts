// Reading a tar stream (gzip, zstd or plain) entry by entry, for layers and
// for whole `docker load` archives: the decompressed bytes go to tar-stream's
// extractor with back-pressure, each entry is handed over in order, and a
// failure becomes one clear error naming `what`.
import { once } from 'node:events';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { CnmError } from '../model/errors.ts';
import { decompress } from './compression.ts';

export type TarEntry = AsyncIterable<Uint8Array> & { header: Header; resume(): unknown };

/** Calls `each` for every entry in order; `onChunk` sees the uncompressed bytes. */
export async function forEachTarEntry(
  body: AsyncIterable<Uint8Array>, what: string, each: (entry: TarEntry) => Promise<void>, onChunk?: (chunk: Buffer) => void,
): Promise<void> {
  const extract = tar.extract();
  // The extractor's own error (a cut-short tar, a decompressor's) is the
  // real cause; an entry being read only reports "Stream was destroyed".
  let streamErr: unknown;
  extract.on('error', (e: unknown) => { streamErr ??= e; });
  const feed = (async (): Promise<void> => {
    try {
      for await (const chunk of decompress(body, what)) {
        onChunk?.(chunk);
        if (!extract.write(chunk)) await once(extract, 'drain');
      }
      extract.end(null);
    } catch (err) {
      extract.destroy(err as Error);
    }
  })();
  try {
    for await (const entry of extract) await each(entry as unknown as TarEntry);
    await feed;
  } catch (caught) {
    extract.destroy(null);
    await feed;
    const err = streamErr ?? caught;
    if (err instanceof CnmError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.message === 'Unexpected end of data') throw new CnmError('INVALID', `${what}: truncated tar (unexpected end of data)`, { cause: err });
    if (e.code === 'EPERM' && process.getuid?.() !== 0) throw new CnmError('INVALID', `${what}: unpacking needs root (${e.message})`, { cause: err });
    throw new CnmError('INVALID', `${what}: ${e.message}`, { cause: err });
  }
}
