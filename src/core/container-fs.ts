// A container's files as `docker cp` reaches them: paths resolved inside its
// root as the container itself would resolve them (symlinks followed
// relative to that root, ".." stopping at it), so a link in an image can
// never lead a copy onto the host's files; copies into the container go
// through a staging directory and are placed entry by entry, each resolved
// that way.
import { spawn } from 'node:child_process';
import { copyFile, chmod, lstat, lutimes, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { CnmError, invalid, notFound } from '../model/errors.ts';

const MAX_LINKS = 40;

/**
 * The host path of `path` in the container whose root is `root`. Symlinks
 * on the way are followed inside the root; the last one too unless
 * `followLast` is false. Components that do not exist are kept as named.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const todo = path.split('/').filter((p) => p !== '' && p !== '.');
  const cur: string[] = [];
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') { cur.pop(); continue; }
    if (!todo.length && !followLast) { cur.push(part); break; }
    const host = join(root, ...cur, part);
    let st: Stats | undefined;
    try { st = await lstat(host); } catch { /* missing: kept as named */ }
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw invalid(`too many levels of symbolic links in ${JSON.stringify(path)}`);
      const target = await readlink(host);
      if (target.startsWith('/')) cur.length = 0;
      todo.unshift(...target.split('/').filter((p) => p !== ''));
      continue;
    }
    cur.push(part);
  }
  return join(root, ...cur);
}

/** Go's os.FileMode bits, as the docker CLI reads them from X-Docker-Container-Path-Stat. */
function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m |= 1 << 23;
  if (st.mode & 0o2000) m |= 1 << 22;
  if (st.mode & 0o1000) m |= 1 << 20;
  if (st.isDirectory()) m |= 1 << 31;
  else if (st.isSymbolicLink()) m |= 1 << 27;
  else if (st.isFIFO()) m |= 1 << 25;
  else if (st.isSocket()) m |= 1 << 24;
  else if (st.isCharacterDevice()) m |= (1 << 26) | (1 << 21);
  else if (st.isBlockDevice()) m |= 1 << 26;
  return m >>> 0;
}

export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

/** The stat Docker sends in X-Docker-Container-Path-Stat (base64 JSON). */
export async function pathStat(root: string, path: string, container: string): Promise<{ host: string; stat: PathStat }> {
  const host = await resolveInRoot(root, path, false);
  let st: Stats;
  try { st = await lstat(host); } catch { throw notFound(`Could not find the file ${path} in container ${container}`); }
  const linkTarget = st.isSymbolicLink() ? await readlink(host) : '';
  return { host, stat: { name: posix.basename(path) || '/', size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget } };
}

/** A tar of `host` (its last component as the top entry), streamed from GNU tar. */
export function tarOf(host: string): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  const parent = posix.dirname(host);
  const base = posix.basename(host);
  const p = spawn('tar', ['--numeric-owner', '-C', parent, '-cf', '-', '--', base], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<void>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new CnmError('INTERNAL', `tar of ${base}: ${err.trim() || `exit ${code}`}`))));
  });
  return { stream: p.stdout, done };
}

/** Unpacks the tar `body` into `dir` with GNU tar (a staging directory only the daemon writes). */
async function untar(body: AsyncIterable<Uint8Array>, dir: string): Promise<void> {
  const p = spawn('tar', ['--no-same-owner', '-p', '-C', dir, '-xf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const closed = new Promise<number | null>((resolve, reject) => { p.on('error', reject); p.on('close', resolve); });
  p.stdin.on('error', () => undefined);
  for await (const chunk of body) {
    if (!p.stdin.write(chunk)) await new Promise((r) => p.stdin.once('drain', r));
  }
  p.stdin.end();
  const code = await closed;
  if (code !== 0) throw invalid(`the archive could not be unpacked: ${err.trim() || `tar exited ${code}`}`);
}

/**
 * docker cp SRC CONTAINER:DIR: the tar's entries placed under DIR, each
 * resolved inside the root. With noOverwriteDirNonDir a directory never
 * replaces a non-directory or the reverse (Docker's error text).
 */
export async function copyInto(root: string, dir: string, body: AsyncIterable<Uint8Array>, staging: string, o: { noOverwriteDirNonDir: boolean; container: string }): Promise<void> {
  const dest = await resolveInRoot(root, dir);
  const st = await lstat(dest).catch(() => undefined);
  if (!st) throw notFound(`Could not find the file ${dir} in container ${o.container}`);
  if (!st.isDirectory()) throw invalid(`extraction point is not a directory: ${dir}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true, mode: 0o700 });
  try {
    await untar(body, staging);
    await place(root, staging, '', dir, o);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function place(root: string, staging: string, rel: string, dir: string, o: { noOverwriteDirNonDir: boolean }): Promise<void> {
  for (const name of await readdir(join(staging, rel))) {
    const from = join(staging, rel, name);
    const st = await lstat(from);
    const to = await resolveInRoot(root, posix.join(dir, rel, name), false);
    const there = await lstat(to).catch(() => undefined);
    if (there && o.noOverwriteDirNonDir && there.isDirectory() !== st.isDirectory()) {
      throw invalid(st.isDirectory()
        ? `cannot overwrite non-directory "${posix.join(dir, rel, name)}" with directory "${posix.join(rel, name)}"`
        : `cannot overwrite directory "${posix.join(dir, rel, name)}" with non-directory "${posix.join(rel, name)}"`);
    }
    if (st.isDirectory()) {
      if (there && !there.isDirectory()) await rm(to, { force: true });
      if (!there?.isDirectory()) await mkdir(to, { mode: st.mode & 0o7777 });
      await place(root, staging, posix.join(rel, name), dir, o);
      await chmod(to, st.mode & 0o7777);
    } else {
      if (there) await rm(to, { recursive: true, force: true });
      if (st.isSymbolicLink()) await symlink(await readlink(from), to);
      else if (st.isFile()) {
        await copyFile(from, to);
        await chmod(to, st.mode & 0o7777);
      } else continue; // devices and fifos are not copied into containers
    }
    await lutimes(to, st.atime, st.mtime);
  }
}

/** One entry of `docker diff`: Kind 0 changed, 1 added, 2 deleted. */
export interface Change { Path: string; Kind: 0 | 1 | 2 }

/**
 * docker diff from the overlay's upper directory: a 0/0 character device is
 * a deletion (overlayfs's whiteout), anything the image's layers also have
 * is a change, the rest is added; parent directories of a change show as
 * changed, as in Docker.
 */
export async function containerChanges(upper: string, lowers: string[]): Promise<Change[]> {
  const out: Change[] = [];
  const inLower = async (rel: string): Promise<boolean> => {
    for (const l of lowers) if (await lstat(join(l, rel)).then(() => true, () => false)) return true;
    return false;
  };
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try { names = await readdir(join(upper, rel)); } catch { return; }
    for (const n of names.sort()) {
      const r = posix.join(rel, n);
      const st = await lstat(join(upper, r)).catch(() => undefined);
      if (!st) continue;
      if (st.isCharacterDevice() && st.rdev === 0) out.push({ Path: `/${r}`, Kind: 2 });
      else out.push({ Path: `/${r}`, Kind: (await inLower(r)) ? 0 : 1 });
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  // The runtime's mount points (the sandbox files, /dev, /proc, /sys) are
  // made in the upper layer; Docker keeps them in an init layer below it, so
  // they are no change of the container's, nor are parents changed only by them.
  const made = out.filter((c) => c.Kind === 1 && RUNTIME_MOUNT_POINTS.has(c.Path)).map((c) => c.Path);
  const kept = out.filter((c) => !made.includes(c.Path));
  const under = (dir: string, paths: string[]): boolean => paths.some((p) => p.startsWith(`${dir}/`));
  return kept.filter((c) => !under(c.Path, made) || under(c.Path, kept.map((k) => k.Path)));
}

const RUNTIME_MOUNT_POINTS = new Set(['/dev', '/proc', '/sys', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf']);
