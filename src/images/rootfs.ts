// A container's root filesystem: an overlayfs whose lower layers are its
// image's unpacked layers (shared, read-only) and whose upper layer is the
// container's own, kept under its directory across stops and starts
// (Docker's overlay2 graph driver: diff, work, merged):
//   <container dir>/fs/upper   what the container wrote
//   <container dir>/fs/work    overlayfs's scratch space
//   <container dir>/fs/merged  the mount point, the runtime's root
// The mount lives in the daemon's mount namespace while the container runs
// (runc pivots into it); it is unmounted when the container stops.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex } from './digest.ts';
import { fsnodes } from './fsnodes.ts';
import type { ImageStore } from './image-store.ts';

export const rootfsDirOf = (containerDir: string): string => join(containerDir, 'fs');
export const mergedDirOf = (containerDir: string): string => join(containerDir, 'fs', 'merged');

/** /proc/self/mountinfo's mount points (field 5), unescaped (\040 is a blank). */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return new Set(text.split('\n').filter(Boolean).map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))));
}

/**
 * Mounts the container's root (if it is not mounted already: a container
 * adopted after a daemon restart keeps its mount) and returns its path.
 */
export async function mountRootfs(store: ImageStore, imageId: string, containerDir: string): Promise<string> {
  const rec = store.resolve(imageId);
  const fs = rootfsDirOf(containerDir);
  const merged = mergedDirOf(containerDir);
  for (const d of ['upper', 'work', 'merged']) await mkdir(join(fs, d), { recursive: true, mode: 0o755 });
  if ((await mountPoints()).has(merged)) return merged;
  // Top layer first, as overlayfs lists them; relative to the layers
  // directory, so that many layers fit in the one-page option string.
  let lowers = [...rec.chainIds].reverse().map((c) => `${digestHex(c)}/diff`);
  let lowerRoot = join(store.root, 'layers');
  if (!lowers.length) {
    // An image of no layers: overlayfs needs one lower directory.
    await mkdir(join(fs, 'empty'), { recursive: true });
    lowerRoot = fs;
    lowers = ['empty'];
  }
  fsnodes().mountOverlay(lowerRoot, lowers.join(':'), join(fs, 'upper'), join(fs, 'work'), merged);
  return merged;
}

/** Unmounts the container's root if mounted (lazily: a process still inside keeps its view). */
export async function unmountRootfs(containerDir: string): Promise<void> {
  const merged = mergedDirOf(containerDir);
  if ((await mountPoints()).has(merged)) fsnodes().umount(merged);
}
