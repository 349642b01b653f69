// The C addon for what node:fs lacks (src/native/fsnodes, built to
// build/fsnodes.node): mknod and lsetxattr/lgetxattr. Loaded on first use, so
// a process that only reads image metadata never loads it.
import { createRequire } from 'node:module';

export interface NativeFsNodes {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer | null;
}

let addon: NativeFsNodes | undefined;

export function fsnodes(): NativeFsNodes {
  addon ??= createRequire(import.meta.url)('../../build/fsnodes.node') as NativeFsNodes;
  return addon;
}
