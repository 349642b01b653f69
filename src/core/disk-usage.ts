// Bytes a directory tree holds, each file's data counted once however many
// hard links it has (what `du -b` counts): a container's writable layer
// (Docker's SizeRw, what `docker container prune` reclaims) and a volume's
// size in `docker system df`.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function treeBytes(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try { names = await readdir(d); } catch { return; }
    for (const n of names) {
      const st = await lstat(join(d, n)).catch(() => null);
      if (!st) continue;
      if (st.isDirectory()) await walk(join(d, n));
      else if (st.isFile() && !seen.has(`${st.dev}:${st.ino}`)) {
        seen.add(`${st.dev}:${st.ino}`);
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}
