// Durable small-file writes: temp file, fsync, rename, fsync of the directory,
// so after a crash a reader sees the old content or the new, never a mix.
import { execFile } from 'node:child_process';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp name next to `path` that the store's collector recognises (*.tmp). */
export const tempPath = (path: string): string => join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);

/**
 * Flushes the whole file system that holds `path` (syncfs(2), through
 * coreutils' `sync -f`, off the event loop): one writeback of everything an
 * image brought (blobs, unpacked files, directories) before its record is
 * committed, instead of an fsync per file.
 */
export function syncFileSystem(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', path], (err, _out, stderr) => {
      if (err) reject(new Error(`sync -f ${path}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPath(path);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally { await fh.close(); }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}
