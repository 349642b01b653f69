// The daemon's side of the monitor's attach socket (protocol in
// src/native/monitor/attach.c): one connection per attach or resize, so
// nothing has to be re-established after a daemon restart.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';

/** sun_path holds 108 bytes, the terminating NUL included (unix(7)). */
const MAX_SOCKET_PATH = 107;

/**
 * The socket's path: in the run directory, or through the monitor's
 * working directory (which is the run directory) when that path is too long.
 */
export function attachSocketPath(runDir: string, monitorPid: number): string {
  const full = join(runDir, 'attach.sock');
  return full.length <= MAX_SOCKET_PATH ? full : `/proc/${monitorPid}/cwd/attach.sock`;
}

function open(path: string, line: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.write(line);
      resolve(s);
    });
  });
}

/** A connection that carries the container's output and, with stdin, its input. */
export function attachMonitor(path: string, o: { stdin: boolean; replay: boolean }): Promise<Socket> {
  return open(path, `attach${o.stdin ? ' stdin' : ''}${o.replay ? ' replay' : ''}\n`);
}

/** Sets the terminal's size; resolves once the monitor has applied it. */
export async function resizeMonitor(path: string, rows: number, cols: number): Promise<void> {
  const s = await open(path, `resize ${rows} ${cols}\n`);
  await new Promise<void>((resolve, reject) => {
    let text = '';
    s.on('data', (d: Buffer) => { text += d.toString(); });
    s.once('error', reject);
    s.once('close', () => (text.startsWith('ok') ? resolve() : reject(new Error(`resize refused by the monitor: ${text.trim() || 'no answer'}`))));
  });
}
