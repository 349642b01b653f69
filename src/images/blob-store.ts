// Content-addressed blobs under <root>/blobs/sha256/<hex> (the OCI image
// layout's shape). A blob is written to a temp file while hashed, fsynced and
// renamed into place only when its digest (and size) match, so a reader never
// sees a partial or wrong blob; on any failure the temp file goes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, notFound } from '../model/errors.ts';
import type { BlobSink } from './blob-sink.ts';
import { fsyncDir, tempPath } from './atomic.ts';
import { digestHex } from './digest.ts';

export class BlobStore implements BlobSink {
  readonly dir: string;
  private constructor(dir: string) { this.dir = dir; }

  /** Opens (creating) the store under `root`, removing temp files a crash left. */
  static async open(root: string): Promise<BlobStore> {
    const dir = join(root, 'blobs', 'sha256');
    await mkdir(dir, { recursive: true });
    for (const n of await readdir(dir)) if (n.endsWith('.tmp')) await rm(join(dir, n), { force: true });
    return new BlobStore(dir);
  }

  path(digest: string): string { return join(this.dir, digestHex(digest)); }

  async has(digest: string): Promise<boolean> {
    try { return (await stat(this.path(digest))).isFile(); } catch { return false; }
  }

  async size(digest: string): Promise<number> {
    try { return (await stat(this.path(digest))).size; } catch { throw notFound(`blob ${digest} is not in the store`); }
  }

  async read(digest: string): Promise<Buffer> {
    try { return await readFile(this.path(digest)); } catch { throw notFound(`blob ${digest} is not in the store`); }
  }

  open(digest: string): AsyncIterable<Uint8Array> { return createReadStream(this.path(digest)); }

  /** `size` < 0: unknown (not checked). */
  async put(digest: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void> {
    const final = this.path(digest);
    const got = await this.write(body, final);
    try {
      if (got.digest !== digest) throw invalid(`blob digest mismatch: expected ${digest}, got ${got.digest} (${got.size} bytes)`);
      if (size >= 0 && got.size !== size) throw invalid(`blob ${digest} size mismatch: expected ${size} bytes, got ${got.size}`);
      await rename(got.tmp, final);
    } catch (err) {
      await rm(got.tmp, { force: true });
      throw err;
    }
    await fsyncDir(this.dir);
  }

  /** Stores a blob whose digest is learnt from its bytes (an archive's layer.tar). */
  /** `created`: false when the store had the blob already. */
  async putUnknown(body: AsyncIterable<Uint8Array>): Promise<{ digest: string; size: number; created: boolean }> {
    const got = await this.write(body, join(this.dir, 'unknown'));
    const created = !(await this.has(got.digest));
    try {
      if (created) await rename(got.tmp, this.path(got.digest));
      else await rm(got.tmp, { force: true });
    } catch (err) {
      await rm(got.tmp, { force: true });
      throw err;
    }
    await fsyncDir(this.dir);
    return { digest: got.digest, size: got.size, created };
  }

  /**
   * Moves a file whose sha256 is known (the caller hashed it as it wrote
   * it) into the store on the same file system: flushed, then renamed in.
   * `created` is false when the store had the blob already (the file stays).
   */
  async adopt(path: string, digest: string): Promise<{ created: boolean }> {
    if (await this.has(digest)) return { created: false };
    const fh = await open(path, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
    await rename(path, this.path(digest));
    await fsyncDir(this.dir);
    return { created: true };
  }

  async remove(digest: string): Promise<void> { await rm(this.path(digest), { force: true }); }

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  private async write(body: AsyncIterable<Uint8Array>, near: string): Promise<{ tmp: string; digest: string; size: number }> {
    const tmp = tempPath(near);
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx', 0o644);
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.byteLength;
        await fh.write(chunk);
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    return { tmp, digest: `sha256:${hash.digest('hex')}`, size };
  }
}
