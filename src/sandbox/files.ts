// Writing the files a sandbox sees as /etc/hosts, /etc/resolv.conf and
// /etc/hostname (their content comes from src/dns/render.ts).
import { closeSync, constants, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Rewrites a sandbox file in place. Not write-and-rename: the sandbox sees
 * the file through a bind mount of its inode, which a rename would orphan.
 */
export async function writeInPlace(path: string, content: string): Promise<void> {
  // Most connects change /etc/hosts but not resolv.conf: skip equal rewrites.
  if (written.get(path) === content) return;
  // A few hundred bytes into the page cache, at once (tens of µs) rather
  // than as three trips through the threadpool. Written over, then cut to
  // length, never truncated to zero first: on ext4 a file truncated to
  // zero and written again is flushed to disk at close (auto_da_alloc),
  // which took ~0.5 ms per connect.
  const data = Buffer.from(content);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o666);
  try {
    writeSync(fd, data, 0, data.length, 0);
    ftruncateSync(fd, data.length);
  } finally {
    closeSync(fd);
  }
  written.set(path, content);
}

const written = new Map<string, string>();

/** Forgets what was written under a directory (the sandbox is gone). */
export function forgetWritten(dir: string): void {
  for (const k of written.keys()) if (k.startsWith(dir)) written.delete(k);
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

export const sandboxFile = (runDir: string, name: 'hosts' | 'resolv.conf' | 'hostname' | 'exit'): string => join(runDir, name);
