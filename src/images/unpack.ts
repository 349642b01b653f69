// Unpacks one layer tar (gzip, zstd or plain) into its own directory as an
// overlayfs lower layer, computing its DiffID (sha256 of the uncompressed
// tar) on the way. Whiteouts are converted as Docker's overlay2 driver does
// (M go-archive archive_linux.go overlayWhiteoutConverter.ConvertRead):
// `.wh.<name>` becomes a 0/0 character device <name> with the entry's owner,
// `.wh..wh..opq` becomes the xattr trusted.overlay.opaque=y on its directory.
// Owners, modes, mtimes, PAX SCHILY.xattr.* attributes, hard links,
// symlinks, device nodes and fifos are kept.
import { createHash } from 'node:crypto';
import { chmod, link, lchown, lutimes, mkdir, open, rm, symlink, lstat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, posix } from 'node:path';
import { invalid } from '../model/errors.ts';
import { forEachTarEntry } from './tar-read.ts';
import type { TarEntry } from './tar-read.ts';
import { fsnodes } from './fsnodes.ts';
import { checkParents, cleanName } from './layer-path.ts';

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const XATTR_PAX = 'SCHILY.xattr.';

export interface UnpackResult {
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
}

/** Unpacks `body` into the existing empty directory `dir`; `what` names the layer in errors. */
export async function unpackLayer(body: AsyncIterable<Uint8Array>, dir: string, what: string): Promise<UnpackResult> {
  const hash = createHash('sha256');
  let size = 0;
  const dirTimes: [string, Date][] = [];
  await forEachTarEntry(body, what, (entry) => writeEntry(entry, dir, what, dirTimes), (chunk) => {
    hash.update(chunk);
    size += chunk.byteLength;
  });
  // Directory times last: writing their children changed them.
  for (const [p, t] of dirTimes.reverse()) await lutimes(p, t, t);
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

const isRoot = (): boolean => process.getuid?.() === 0;

async function writeEntry(entry: TarEntry, root: string, what: string, dirTimes: [string, Date][]): Promise<void> {
  const h = entry.header;
  const rel = cleanName(h.name, what);
  if (rel === '') { entry.resume(); return; } // the layer root itself: the directory is ours
  await checkParents(root, rel, what);
  const path = join(root, rel);
  const parent = posix.dirname(path);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const base = posix.basename(rel);
  const uid = h.uid ?? 0;
  const gid = h.gid ?? 0;
  if (base === WH_OPAQUE) {
    entry.resume();
    fsnodes().lsetxattr(parent, OPAQUE_XATTR, Buffer.from('y'));
    return;
  }
  if (base.startsWith(WH_PREFIX)) {
    entry.resume();
    const name = base.slice(WH_PREFIX.length);
    // `.wh..wh.*` other than the opaque marker are aufs metadata: skipped, as Docker does.
    if (name.startsWith(WH_PREFIX)) return;
    if (name === '') throw invalid(`${what}: invalid whiteout ${JSON.stringify(h.name)} (no name after ".wh.")`);
    const target = join(parent, name);
    await rm(target, { recursive: true, force: true });
    fsnodes().mknod(target, constants.S_IFCHR, 0, 0);
    if (isRoot()) await lchown(target, uid, gid);
    return;
  }
  const mode = (h.mode ?? 0o644) & 0o7777;
  const existing = await lstat(path).catch(() => undefined);
  // A later entry replaces an earlier one (tar semantics), except that a
  // directory over a directory only updates its attributes.
  if (existing && !(existing.isDirectory() && h.type === 'directory')) await rm(path, { recursive: true, force: true });
  switch (h.type) {
    case 'directory':
      if (!existing?.isDirectory()) await mkdir(path, { mode: 0o700 });
      entry.resume();
      break;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null: {
      const fh = await open(path, 'wx', 0o600);
      try {
        for await (const chunk of entry) await fh.write(chunk);
      } finally { await fh.close(); }
      break;
    }
    case 'link': {
      entry.resume();
      const target = cleanName(h.linkname ?? '', `${what}: hard link ${rel}`);
      await checkParents(root, target, what);
      const st = await lstat(join(root, target)).catch(() => undefined);
      if (!st || st.isDirectory()) throw invalid(`${what}: hard link ${JSON.stringify(rel)} points to ${JSON.stringify(h.linkname)}, which is not an earlier non-directory entry of the layer`);
      await link(join(root, target), path);
      return; // a hard link shares its target's inode: owner, mode and times are the target's
    }
    case 'symlink':
      entry.resume();
      // The target is resolved inside the container's root at run time; it
      // is stored as written and never followed here.
      await symlink(h.linkname ?? '', path);
      break;
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      entry.resume();
      const type = h.type === 'fifo' ? constants.S_IFIFO : h.type === 'block-device' ? constants.S_IFBLK : constants.S_IFCHR;
      fsnodes().mknod(path, type | (mode & 0o777), h.devmajor ?? 0, h.devminor ?? 0);
      break;
    }
    default:
      entry.resume();
      throw invalid(`${what}: entry ${JSON.stringify(rel)} has the unsupported tar type ${JSON.stringify(h.type)}`);
  }
  // Without root the files keep our own uid (a rootless store would map ids).
  if (isRoot()) await lchown(path, uid, gid);
  // chmod after chown: chown clears the setuid and setgid bits.
  if (h.type !== 'symlink') await chmod(path, mode);
  for (const [k, v] of Object.entries((h.pax ?? {}) as Record<string, string>)) {
    // tar-stream decodes PAX values as UTF-8, so binary xattr values (e.g.
    // security.capability) would not survive; text ones do.
    if (k.startsWith(XATTR_PAX)) fsnodes().lsetxattr(path, k.slice(XATTR_PAX.length), Buffer.from(v, 'utf8'));
  }
  const mtime = h.mtime ?? new Date(0);
  if (h.type === 'directory') dirTimes.push([path, mtime]);
  else await lutimes(path, mtime, mtime);
}
