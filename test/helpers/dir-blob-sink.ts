// A BlobSink over a directory (one file per digest), for tests of the pull:
// the store's real implementation lives in src/images.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobSink } from '../../src/images/blob-sink.ts';

export class DirBlobSink implements BlobSink {
  readonly dir: string;
  readonly puts: string[] = [];
  constructor(dir: string) {
    this.dir = dir;
  }
  private file(digest: string): string {
    return join(this.dir, digest.replace(':', '-'));
  }
  async has(digest: string): Promise<boolean> {
    return stat(this.file(digest)).then(() => true, () => false);
  }
  async put(digest: string, _size: number, body: AsyncIterable<Uint8Array>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const h = createHash('sha256');
    const parts: Buffer[] = [];
    for await (const c of body) {
      h.update(c);
      parts.push(Buffer.from(c));
    }
    const got = `sha256:${h.digest('hex')}`;
    if (got !== digest) throw new Error(`sink: digest mismatch: expected ${digest}, got ${got}`);
    const tmp = `${this.file(digest)}.tmp`;
    await writeFile(tmp, Buffer.concat(parts));
    await rename(tmp, this.file(digest));
    this.puts.push(digest);
  }
  async read(digest: string): Promise<Buffer> {
    return readFile(this.file(digest));
  }
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
