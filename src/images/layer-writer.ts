// Writes the entries of one layer tar (from tar-parse.ts) into the layer's
// directory with synchronous calls, as few per entry as it can: it runs in
// the unpacking worker (unpack-worker.ts), never on the daemon's loop.
//  - The directory starts empty, so every path that exists is one this
//    layer wrote: `kinds` remembers each, and a path not in it is created
//    without an lstat first. A later entry replacing an earlier one (tar
//    semantics) is known from it too.
//  - Parents: a path known as a directory is not checked again; a parent
//    this layer wrote as a symlink is refused as layer-path.ts words it, so
//    a symlink in the layer can never steer a later entry outside it.
//  - Regular files get owner, mode and times through their open fd, and
//    neither fchown nor fchmod when creation already gave the right ones
//    (our owner outside setgid directories; no special bits the umask or
//    chown would clear).
// Whiteouts are converted as Docker's overlay2 driver does
// (M go-archive archive_linux.go overlayWhiteoutConverter.ConvertRead):
// `.wh.<name>` becomes a 0/0 character device <name> with the entry's owner,
// `.wh..wh..opq` becomes the xattr trusted.overlay.opaque=y on its directory.
import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, chmodSync, linkSync, lutimesSync, mkdirSync, openSync, readdirSync,
  rmSync, statSync, symlinkSync, writeSync,
} from 'node:fs';
import { invalid } from '../model/errors.ts';
import { fsnodes } from './fsnodes.ts';
import { checkParents, cleanName, nonDirectoryParent, throughSymlink } from './layer-path.ts';
import type { TarHeader, TarSink } from './tar-parse.ts';

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const S_ISGID = 0o2000;
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

type Kind = 'dir' | 'file' | 'symlink' | 'other';

export class LayerWriter implements TarSink {
  /** Every path this layer wrote (relative to the layer), by kind. */
  private readonly kinds = new Map<string, Kind>();
  private readonly dirTimes: [string, number][] = [];
  private readonly isRoot = process.getuid?.() === 0;
  private readonly uid = process.getuid?.() ?? -1;
  private readonly gid = process.getgid?.() ?? -1;
  // Documentation-only deprecation (DEP0139): reading it is racy only with a concurrent change, which cnm never makes.
  private readonly umask = process.umask();
  /** Directories (relative; '' is the layer) whose new children take their group: setgid ones. */
  private readonly sgidDirs = new Set<string>();
  /** The regular file being written, with its header. */
  private fd = -1;
  private file: { path: string; h: TarHeader; chmod: boolean; chown: boolean } | undefined;

  private readonly dir: string;
  private readonly what: string;

  constructor(dir: string, what: string) {
    this.dir = dir;
    this.what = what;
    if (readdirSync(dir).length) throw invalid(`${what}: the layer directory ${dir} is not empty`);
    if (statSync(dir).mode & S_ISGID) this.sgidDirs.add('');
  }

  entry(h: TarHeader): void {
    const rel = cleanName(h.name, this.what);
    if (rel === '') return; // the layer root itself: the directory is ours
    const slash = rel.lastIndexOf('/');
    const parentRel = slash === -1 ? '' : rel.slice(0, slash);
    const base = rel.slice(slash + 1);
    this.parentDirs(parentRel, rel);
    const parent = parentRel === '' ? this.dir : `${this.dir}/${parentRel}`;
    if (base === WH_OPAQUE) {
      fsnodes().lsetxattr(parent, OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WH_PREFIX)) {
      const name = base.slice(WH_PREFIX.length);
      // `.wh..wh.*` other than the opaque marker are aufs metadata: skipped, as Docker does.
      if (name.startsWith(WH_PREFIX)) return;
      if (name === '') throw invalid(`${this.what}: invalid whiteout ${JSON.stringify(h.name)} (no name after ".wh.")`);
      if (name === '.' || name === '..') throw invalid(`${this.what}: invalid whiteout ${JSON.stringify(h.name)} (it would remove a directory above the entry)`);
      const targetRel = parentRel === '' ? name : `${parentRel}/${name}`;
      const target = `${this.dir}/${targetRel}`;
      this.remove(targetRel);
      fsnodes().mknod(target, constants.S_IFCHR, 0, 0);
      this.kinds.set(targetRel, 'other');
      if (this.isRoot) lchownSync(target, h.uid, h.gid);
      return;
    }
    const path = `${this.dir}/${rel}`;
    const mode = h.mode & 0o7777;
    const existing = this.kinds.get(rel);
    // A later entry replaces an earlier one, except that a directory over a
    // directory only updates its attributes.
    if (existing !== undefined && !(existing === 'dir' && h.type === 'directory')) this.remove(rel);
    switch (h.type) {
      case 'directory':
        if (existing !== 'dir') {
          mkdirSync(path, 0o700);
          this.kinds.set(rel, 'dir');
        }
        if (mode & S_ISGID) this.sgidDirs.add(rel);
        else this.sgidDirs.delete(rel);
        break;
      case 'file': {
        // Created with its final permission bits when the umask keeps them
        // all; then only an owner other than ours, or setuid/setgid/sticky
        // bits, need calls of their own (in entryEnd, through the fd).
        const direct = (mode & 0o7000) === 0 && (mode & this.umask) === 0;
        this.fd = openSync(path, CREATE, direct ? mode : 0o600);
        this.kinds.set(rel, 'file');
        this.file = { path, h, chmod: !direct, chown: this.isRoot && !(h.uid === this.uid && h.gid === this.gid && !this.sgidDirs.has(parentRel)) };
        return;
      }
      case 'link': {
        const target = cleanName(h.linkname, `${this.what}: hard link ${rel}`);
        const kind = this.kinds.get(target);
        if (kind === undefined || kind === 'dir') {
          checkParents(this.dir, target, this.what);
          throw invalid(`${this.what}: hard link ${JSON.stringify(rel)} points to ${JSON.stringify(h.linkname)}, which is not an earlier non-directory entry of the layer`);
        }
        linkSync(`${this.dir}/${target}`, path);
        this.kinds.set(rel, kind);
        return; // a hard link shares its target's inode: owner, mode and times are the target's
      }
      case 'symlink':
        // The target is resolved inside the container's root at run time; it
        // is stored as written and never followed here.
        symlinkSync(h.linkname, path);
        this.kinds.set(rel, 'symlink');
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const type = h.type === 'fifo' ? constants.S_IFIFO : h.type === 'block-device' ? constants.S_IFBLK : constants.S_IFCHR;
        fsnodes().mknod(path, type | (mode & 0o777), h.devmajor, h.devminor);
        this.kinds.set(rel, 'other');
        break;
      }
    }
    // Without root the files keep our own uid (a rootless store would map ids).
    if (this.isRoot) lchownSync(path, h.uid, h.gid);
    // chmod after chown: chown clears the setuid and setgid bits.
    if (h.type !== 'symlink') chmodSync(path, mode);
    this.xattrs(path, h);
    if (h.type === 'directory') this.dirTimes.push([rel, h.mtime]);
    else lutimesSync(path, h.mtime, h.mtime);
  }

  data(b: Buffer): void {
    if (this.fd < 0) return;
    for (let off = 0; off < b.length;) off += writeSync(this.fd, b, off, b.length - off);
  }

  entryEnd(): void {
    if (this.fd < 0 || !this.file) return;
    const fd = this.fd;
    const { path, h, chmod, chown } = this.file;
    this.fd = -1;
    this.file = undefined;
    try {
      if (chown) fchownSync(fd, h.uid, h.gid);
      if (chmod) fchmodSync(fd, h.mode & 0o7777); // after fchown, which clears setuid and setgid
      this.xattrs(path, h);
      futimesSync(fd, h.mtime, h.mtime);
    } finally { closeSync(fd); }
  }

  /** After the last entry: directory times last, since writing their children changed them. */
  finish(): void {
    for (const [rel, t] of this.dirTimes.reverse()) {
      if (this.kinds.get(rel) === 'dir') lutimesSync(`${this.dir}/${rel}`, t, t); // unless a later entry replaced it
    }
  }

  /** Closes a file left open by a failure. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Creates the missing parents of `rel` as plain directories; refuses a parent that is not one. */
  private parentDirs(parentRel: string, rel: string): void {
    if (parentRel === '' || this.kinds.get(parentRel) === 'dir') return;
    for (let i = 0; ;) {
      const j = parentRel.indexOf('/', i);
      const p = j === -1 ? parentRel : parentRel.slice(0, j);
      const kind = this.kinds.get(p);
      if (kind === undefined) {
        mkdirSync(`${this.dir}/${p}`, 0o755);
        this.kinds.set(p, 'dir');
        // A new directory inherits its parent's setgid bit (Linux).
        const up = p.lastIndexOf('/');
        if (this.sgidDirs.has(up === -1 ? '' : p.slice(0, up))) this.sgidDirs.add(p);
      } else if (kind === 'symlink') throw throughSymlink(rel, p, this.what);
      else if (kind !== 'dir') throw nonDirectoryParent(rel, p, this.what);
      if (j === -1) return;
      i = j + 1;
    }
  }

  /** Removes a path this layer wrote (with its subtree) and forgets it. */
  private remove(rel: string): void {
    const kind = this.kinds.get(rel);
    if (kind === undefined) return;
    rmSync(`${this.dir}/${rel}`, { recursive: true, force: true });
    this.kinds.delete(rel);
    if (kind === 'dir') {
      this.sgidDirs.delete(rel);
      const prefix = `${rel}/`;
      for (const k of this.kinds.keys()) if (k.startsWith(prefix)) this.kinds.delete(k);
      for (const k of this.sgidDirs) if (k.startsWith(prefix)) this.sgidDirs.delete(k);
    }
  }

  private xattrs(path: string, h: TarHeader): void {
    if (!h.xattrs) return;
    for (const [name, value] of h.xattrs) fsnodes().lsetxattr(path, name, value);
  }
}
