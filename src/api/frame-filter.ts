// Keeps the stdcopy frames (stdcopy.ts) of the wanted streams from a byte
// stream that may split frames anywhere: an attach with stdout=0 or stderr=0.
export class FrameFilter {
  private readonly want: [boolean, boolean, boolean, boolean];
  private pending: Buffer = Buffer.alloc(0);

  constructor(stdout: boolean, stderr: boolean) {
    this.want = [stdout, stdout, stderr, true];
  }

  /** The complete wanted frames so far; a partial frame waits for the rest. */
  push(chunk: Buffer): Buffer {
    if (this.want[1] && this.want[2]) return chunk;
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      if (this.want[buf[0] ?? 3]) out.push(buf.subarray(0, 8 + size));
      buf = buf.subarray(8 + size);
    }
    this.pending = buf;
    return Buffer.concat(out);
  }
}
