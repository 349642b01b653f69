// docker commit: a container's overlayfs upper directory as an image layer
// tar. Overlay's own markers go back to the image format's (the reverse of
// unpack.ts): a 0/0 character device is a whiteout `.wh.<name>`, a directory
// with trusted.overlay.opaque=y gets `.wh..wh..opq`. Owners, modes, times,
// symlinks, hard links (by inode), devices and fifos are kept. The runtime's
// mount points (/dev, /proc, /sys and the sandbox files), which runc makes
// in the upper directory, are left out: they are no content of the image.
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { fsnodes } from './fsnodes.ts';

const RUNTIME_MADE = new Set(['dev', 'proc', 'sys', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf']);

/** linux/kdev_t.h's new_decode_dev on a st_rdev. */
const major = (rdev: number): number => Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
const minor = (rdev: number): number => Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);

/** The layer tar of `upper`, streamed (uncompressed: its digest is the DiffID). */
export function layerFromUpper(upper: string): AsyncIterable<Uint8Array> {
  const pack = tar.pack();
  void (async (): Promise<void> => {
    const links = new Map<string, string>();
    const base = (rel: string, st: Stats): Partial<Header> & { name: string } => ({ name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
    const entry = async (h: Partial<Header> & { name: string }, body?: AsyncIterable<Uint8Array>): Promise<void> => {
      if (!body) { pack.entry(h); return; }
      const sink = pack.entry(h);
      for await (const c of body) if (!sink.write(c)) await once(sink, 'drain');
      sink.end(null);
      await once(sink, 'finish');
    };
    const walk = async (rel: string): Promise<void> => {
      for (const n of (await readdir(join(upper, rel))).sort()) {
        const r = rel ? posix.join(rel, n) : n;
        if (RUNTIME_MADE.has(r)) continue;
        const p = join(upper, r);
        const st = await lstat(p);
        if (st.isCharacterDevice() && st.rdev === 0) {
          await entry({ ...base(posix.join(rel, `.wh.${n}`), st), type: 'file', size: 0 }, (async function* () { /* empty */ })());
        } else if (st.isDirectory()) {
          await entry({ ...base(`${r}/`, st), type: 'directory' });
          if (fsnodes().lgetxattr(p, 'trusted.overlay.opaque')?.toString() === 'y') {
            await entry({ ...base(`${r}/.wh..wh..opq`, st), type: 'file', size: 0, mode: 0o644 }, (async function* () { /* empty */ })());
          }
          await walk(r);
        } else if (st.isSymbolicLink()) {
          await entry({ ...base(r, st), type: 'symlink', linkname: await readlink(p) });
        } else if (st.isFile()) {
          const key = `${st.dev}:${st.ino}`;
          const first = st.nlink > 1 ? links.get(key) : undefined;
          if (first !== undefined) await entry({ ...base(r, st), type: 'link', linkname: first });
          else {
            if (st.nlink > 1) links.set(key, r);
            await entry({ ...base(r, st), type: 'file', size: st.size }, createReadStream(p));
          }
        } else if (st.isCharacterDevice() || st.isBlockDevice()) {
          await entry({ ...base(r, st), type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
        } else if (st.isFIFO()) {
          await entry({ ...base(r, st), type: 'fifo' });
        }
        // Sockets are not content: tar has no type for them either.
      }
    };
    try {
      await walk('');
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack as unknown as AsyncIterable<Uint8Array>;
}
