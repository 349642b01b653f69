// What unpack.ts and its worker (unpack-worker.ts) say to each other. One
// job at a time: the next starts only after the worker answered done or
// error for the previous one.
import type { CnmErrorCode } from '../model/errors.ts';

export interface UnpackJob {
  dir: string;
  what: string;
  /** The layer's file; without it the caller posts the chunks, then 'end'. */
  path?: string;
}

export type UnpackRequest =
  | { kind: 'job'; job: UnpackJob }
  | { kind: 'chunk'; data: Uint8Array }
  | { kind: 'end' }
  /** The caller's source failed: stop, answer error. */
  | { kind: 'abort' };

export type UnpackReply =
  | { kind: 'ack' }
  | { kind: 'done'; diffId: string; size: number }
  | { kind: 'error'; code: CnmErrorCode; message: string };
