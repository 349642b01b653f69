// Docker's copy-up: an empty volume mounted over a path where the image has
// content gets that content (ownership, modes, links) before the container
// starts, unless the mount says nocopy (moby container.CopyImagePathContent:
// only when the volume's directory is empty, so it happens once). The path
// is resolved inside the container's root as the container would see it:
// an image's symlink never leads the copy out of its root filesystem.
import { execFile } from 'node:child_process';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MountConfig } from '../model/records.ts';
import type { Ctx } from './context.ts';

const execFileP = promisify(execFile);

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * The host path of `path` inside `root`, following symlinks within root
 * (an absolute target starts again at root; `..` stops at root), as moby's
 * FollowSymlinkInScope. Null if it does not exist.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | null> {
  const done: string[] = [];
  const todo = path.split('/').filter(Boolean);
  let links = 0;
  while (todo.length) {
    const part = todo.shift() ?? '';
    if (part === '.') continue;
    if (part === '..') { done.pop(); continue; }
    const here = join(root, ...done, part);
    const st = await lstat(here).catch(() => null);
    if (!st) return null;
    if (!st.isSymbolicLink()) { done.push(part); continue; }
    if (++links > MAX_LINKS) return null;
    const target = await readlink(here);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter(Boolean));
  }
  return join(root, ...done);
}

/** Copies src's content into dest if dest is empty and src a directory; true if it copied. */
export async function copyUp(src: string, dest: string): Promise<boolean> {
  const st = await lstat(src).catch(() => null);
  if (!st?.isDirectory()) return false;
  if ((await readdir(dest)).length) return false;
  // cp -a keeps owners, modes, times, links and xattrs; "src/." also gives
  // dest the directory's own owner and mode, as Docker's copy does.
  await execFileP('cp', ['-a', '--', `${src}/.`, dest]);
  return true;
}

/**
 * Copy-up for a container's volumes from its root filesystem (the image's
 * content, mounted on the host): each plain local volume (not tmpfs, not a
 * bound device) without nocopy, once.
 */
export async function copyUpVolumes(ctx: Ctx, mounts: readonly MountConfig[], rootfs: string): Promise<void> {
  for (const m of mounts) {
    if (m.type !== 'volume' || m.noCopy) continue;
    const v = ctx.state.volumes.get(m.source);
    if (!v || Object.keys(v.options).length) continue;
    const src = await resolveInRoot(rootfs, m.destination);
    if (src) await copyUp(src, v.mountpoint);
  }
}
