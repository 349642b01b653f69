// Reads Docker's multiplexed stream (moby pkg/stdcopy): 8-byte headers
// [stream, 0, 0, 0, size uint32 BE] each followed by size bytes; frames may
// arrive split across chunks.
export type FrameHandler = (stream: 0 | 1 | 2 | 3, data: Buffer) => void;

/** Returns a function to feed chunks to; `onFrame` gets each whole frame. */
export function demuxer(onFrame: FrameHandler): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const s = pending[0] ?? 1;
      onFrame((s <= 3 ? s : 1) as 0 | 1 | 2 | 3, pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  };
}
