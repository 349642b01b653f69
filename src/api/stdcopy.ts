// Docker's multiplexed stream (moby pkg/stdcopy): each frame is an 8-byte
// header [stream, 0, 0, 0, size uint32 big-endian] and the payload; streams
// 0 stdin, 1 stdout, 2 stderr, 3 systemerr.
export type StdStream = 0 | 1 | 2 | 3;

export function frame(stream: StdStream, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

/** Multiplexed for non-TTY streams from API 1.42 on, raw otherwise (moby postContainerExecStart). */
export function streamContentType(tty: boolean, version: string): string {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return !tty && (major > 1 || minor >= 42) ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}
