// Stages a `docker load` archive (a tar, possibly gzip/zstd compressed as a
// whole) into a temp directory: regular files are written under their
// checked names, symlinks (docker save links a repeated layer.tar to its
// first copy) are remembered and resolved inside the archive only. Each
// file's sha256 is taken as it is written, so a blob can be moved into the
// blob store as it is (the staging directory is on the store's file system)
// instead of being copied.
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { notFound } from '../model/errors.ts';
import { forEachTarEntry } from './tar-read.ts';
import { cleanName } from './layer-path.ts';

export class StagedArchive {
  readonly dir: string;
  readonly files = new Set<string>();
  readonly links = new Map<string, string>();
  /** sha256 digest of each staged file, by archive path. */
  readonly digests = new Map<string, string>();
  constructor(dir: string) { this.dir = dir; }

  /** The staged file for an archive path, following in-archive symlinks. */
  path(name: string, what: string): string {
    let rel = cleanName(name, what);
    for (let hops = 0; hops < 16; hops++) {
      if (this.files.has(rel)) return join(this.dir, rel);
      const to = this.links.get(rel);
      if (to === undefined) break;
      rel = to;
    }
    throw notFound(`${what}: ${JSON.stringify(name)} is not in the archive`);
  }

  has(name: string): boolean { return this.files.has(name); }

  /** The staged file for an archive path and its digest. */
  blob(name: string, what: string): { path: string; digest: string } {
    const path = this.path(name, what);
    return { path, digest: this.digests.get(path.slice(this.dir.length + 1)) ?? '' };
  }
}

export async function stageArchive(body: AsyncIterable<Uint8Array>, dir: string): Promise<StagedArchive> {
  const staged = new StagedArchive(dir);
  await mkdir(dir, { recursive: true });
  await forEachTarEntry(body, 'archive', async (entry) => {
    const h = entry.header;
    const rel = cleanName(h.name, 'archive');
    if (h.type === 'file' || h.type === 'contiguous-file') {
      const p = join(dir, rel);
      await mkdir(posix.dirname(p), { recursive: true });
      // A plain loop, not stream.pipeline: a tar entry is a streamx stream,
      // and pipeline does not see it fail when the archive is cut short.
      const fh = await open(p, 'wx', 0o644);
      const hash = createHash('sha256');
      try {
        for await (const chunk of entry as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          await fh.write(chunk);
        }
      } finally { await fh.close(); }
      staged.files.add(rel);
      staged.digests.set(rel, `sha256:${hash.digest('hex')}`);
    } else {
      if (h.type === 'symlink') staged.links.set(rel, cleanName(posix.join(posix.dirname(rel), h.linkname), `archive symlink ${rel}`));
      else if (h.type === 'link') staged.links.set(rel, cleanName(h.linkname, `archive hard link ${rel}`));
      entry.resume();
    }
  });
  return staged;
}
