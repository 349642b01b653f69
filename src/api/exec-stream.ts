// The hijacked connection of `exec start`: the process's output to the
// client (stdcopy frames without a terminal, raw bytes with one), the
// client's bytes to the process's stdin; the client's half-close closes
// that stdin (moby container/stream/attach.go with CloseStdin), and the
// connection ends once the process has ended and its output is drained.
import type { Duplex } from 'node:stream';
import type { ExecProcess, ExecResult } from '../runtime/types.ts';
import { frame } from './stdcopy.ts';

/** How long output is still read after the process ended (a background child may hold the pipe). */
const DRAIN_AFTER_EXIT_MS = 2000;

export interface RelayOptions {
  tty: boolean;
  /** Whether the client upgraded the connection: only then is it read (for stdin). */
  upgraded: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

function ended(s: NodeJS.ReadableStream | null): Promise<void> {
  if (!s) return Promise.resolve();
  return new Promise((resolve) => {
    if ((s as { readableEnded?: boolean }).readableEnded) resolve();
    s.once('end', resolve);
    s.once('close', resolve);
  });
}

export async function relayExec(socket: Duplex, proc: ExecProcess, o: RelayOptions): Promise<ExecResult> {
  let open = true;
  socket.on('close', () => {
    open = false;
    proc.input?.end();
  });
  const sources = [proc.output, proc.errors].filter((s): s is NodeJS.ReadableStream => s !== null);
  const send = (b: Buffer): void => {
    if (!open || b.length === 0) return;
    if (!socket.write(b)) {
      // The client reads slowly: so does the process, through its pipe.
      for (const s of sources) s.pause();
      socket.once('drain', () => { for (const s of sources) s.resume(); });
    }
  };
  proc.output.on('data', (d: Buffer) => {
    if (o.tty) { if (o.stdout || o.stderr) send(d); } else if (o.stdout) send(frame(1, d));
  });
  proc.errors?.on('data', (d: Buffer) => { if (o.stderr) send(frame(2, d)); });
  const input = o.stdin ? proc.input : null;
  if (input) {
    socket.on('data', (d: Buffer) => {
      if (!input.write(d)) {
        socket.pause();
        input.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => input.end());
    socket.resume();
  } else if (o.upgraded) {
    socket.on('data', () => undefined);
    socket.resume();
  }
  const r = await proc.done;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(sources.map(ended)),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, DRAIN_AFTER_EXIT_MS); }),
  ]);
  clearTimeout(timer);
  // moby writes a start failure into the output stream as "%v\r\n".
  if (r.error && !r.errorShown) {
    const text = Buffer.from(`OCI runtime exec failed: ${r.error}\r\n`);
    send(o.tty ? text : frame(1, text));
  }
  return r;
}
