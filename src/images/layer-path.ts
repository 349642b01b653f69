// Names inside a layer tar, checked before anything is written: a name that
// climbs out with ".." is refused (Docker's go-archive refuses these as a
// "breakout"; a hard link to outside as "invalid hardlink"); an absolute
// name is refused too (Docker would read it relative to the layer; layer
// tars written by Docker never carry one). No parent of a path may be a
// symlink, so a symlink in the layer can never steer a later entry outside
// the layer directory.
import { lstatSync } from 'node:fs';
import { posix } from 'node:path';
import { invalid } from '../model/errors.ts';
import type { CnmError } from '../model/errors.ts';

const CLEAN = /^(?!\.{1,2}(?:\/|$))[^/\0]+(?:\/(?!\.{1,2}(?:\/|$))[^/\0]+)*\/?$/;

/** The entry's path relative to the layer root ('' for the root itself). */
export function cleanName(name: string, what: string): string {
  // Most names need no cleaning: relative, no "." or ".." part, no "//".
  if (CLEAN.test(name)) return name.endsWith('/') ? name.slice(0, -1) : name;
  if (name.includes('\0')) throw invalid(`${what}: path ${JSON.stringify(name)} contains a NUL byte`);
  if (name.startsWith('/')) throw invalid(`${what}: absolute path ${JSON.stringify(name)} refused (layer paths are relative)`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(`${what}: path ${JSON.stringify(name)} escapes the layer (contains "..")`);
  return parts.join('/');
}

export const throughSymlink = (rel: string, part: string, what: string): CnmError =>
  invalid(`${what}: path ${JSON.stringify(rel)} goes through the symlink ${JSON.stringify(part)} (refused: it could point outside the layer)`);

export const nonDirectoryParent = (rel: string, part: string, what: string): CnmError =>
  invalid(`${what}: path ${JSON.stringify(rel)} has the non-directory ${JSON.stringify(part)} as a parent`);

/** Throws unless every existing parent of `rel` under `root` is a real directory (no symlink on the way). */
export function checkParents(root: string, rel: string, what: string): void {
  const parts = rel.split('/').slice(0, -1);
  let p = root;
  for (const part of parts) {
    p = posix.join(p, part);
    let st;
    try { st = lstatSync(p); } catch { return; } // missing: created as a plain directory later
    if (st.isSymbolicLink()) throw throughSymlink(rel, p.slice(root.length + 1), what);
    if (!st.isDirectory()) throw nonDirectoryParent(rel, p.slice(root.length + 1), what);
  }
}
