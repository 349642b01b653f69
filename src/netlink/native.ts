// The C addon (src/native/netlink, built to build/netlink.node). Every
// function taking nsFd runs on a thread of its own inside that namespace.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';

export interface NativeNetlink {
  /** groups (RTMGRP_* bits): a non-blocking socket that listens to those notifications (read with drain). */
  openRtnl(nsFd: number, groups?: number): Promise<number>;
  request(fd: number, messages: Buffer, firstSeq: number, count: number): Promise<Buffer>;
  /** Synchronous: the notifications queued on a groups socket, concatenated; throws code ENOBUFS after a loss. */
  drain(fd: number): Buffer;
  netnsCreate(path: string): Promise<void>;
  netnsDelete(path: string): Promise<void>;
  sysctl(nsFd: number, path: string, value?: string): Promise<string | undefined>;
  tapCreate(nsFd: number, name: string): Promise<void>;
  socketIn(nsFd: number, family: 4 | 6, protocol: 'udp' | 'tcp', address: string, port: number, device?: string, broadcast?: number): Promise<number>;
  close(fd: number): void;
}

// Netlink integers are in host order; the codec writes little-endian.
if (endianness() !== 'LE') throw new Error('cnm netlink: big-endian hosts are not supported');

export const native = createRequire(import.meta.url)('../../build/netlink.node') as NativeNetlink;
