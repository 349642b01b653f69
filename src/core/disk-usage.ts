// Bytes a directory tree holds (what `du -b` counts for files): a
// container's writable layer, which is what `docker container prune`
// reports as reclaimed (Docker's SizeRw).
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function treeBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let n = 0;
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += await treeBytes(p);
    else if (e.isFile()) n += (await lstat(p).catch(() => ({ size: 0 }))).size;
  }
  return n;
}
