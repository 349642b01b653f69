// The C addon for what node:fs lacks (src/native/fsnodes, built to
// build/fsnodes.node): mknod, lsetxattr/lgetxattr, and the overlay mount of
// a container's root filesystem. Loaded on first use, so
// a process that only reads image metadata never loads it.
import { createRequire } from 'node:module';

export interface NativeFsNodes {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer | null;
  mountOverlay(lowerRoot: string, lowerdirs: string, upper: string, work: string, target: string): void;
  umount(target: string): void;
}

let addon: NativeFsNodes | undefined;

export function fsnodes(): NativeFsNodes {
  addon ??= createRequire(import.meta.url)('../../build/fsnodes.node') as NativeFsNodes;
  return addon;
}
