// Processes started in a running sandbox through the OCI runtime (`runc
// exec`), so they are confined exactly as the sandbox is (capabilities,
// seccomp, cgroup, namespaces). Without a terminal the runtime runs in the
// foreground on pipes; with one, cnm's monitor runs it detached and relays
// the pty master the runtime hands over its console socket (Node cannot
// receive file descriptors), see src/native/monitor/exec_tty.c.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { ExecFiles, ExecProcess, ExecResult } from './types.ts';

/** Docker's exit codes for an exec that could not start (moby daemon/start.go translateContainerdStartErr). */
export const EXIT_NOT_FOUND = 127;
export const EXIT_CANNOT_RUN = 126;

/** The runtime's last error from its JSON log, or '' when it logged none. */
export function runtimeError(logFile: string): string {
  let text = '';
  try { text = readFileSync(logFile, 'utf8'); } catch { return ''; }
  let msg = '';
  for (const line of text.split('\n')) {
    try {
      const r = JSON.parse(line) as { level?: string; msg?: string };
      if ((r.level === 'error' || r.level === 'fatal') && r.msg) msg = r.msg;
    } catch { /* a torn line */ }
  }
  return msg;
}

/** An exec that never ran: 127 when the command is missing, else 126. */
export function failedExit(error: string): { code: number; error: string } {
  return { code: /executable file not found|no such file or directory/i.test(error) ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, error };
}

function pidFrom(file: string): number {
  try { return Number(readFileSync(file, 'utf8').trim()) || 0; } catch { return 0; }
}

/** `runc exec` in the foreground: its stdio are the process's (pass-through). */
export function spawnPipeExec(argv: string[], files: ExecFiles, stdin: boolean): ExecProcess {
  const [file = '', ...args] = argv;
  const child = spawn(file, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);
  let pid = 0;
  const done = new Promise<ExecResult>((resolve) => {
    child.once('error', (e) => resolve(failedExit(e.message)));
    child.once('exit', (code, signal) => {
      const status = code ?? 128 + (signal ? constants.signals[signal] : 9);
      // The runtime's own failure (its words are also on stderr) or the process's status.
      const err = status !== 0 ? runtimeError(files.logFile) : '';
      resolve(err ? { ...failedExit(err), errorShown: true } : { code: status });
    });
  });
  return {
    input: child.stdin,
    output: child.stdout as Readable,
    errors: child.stderr as Readable,
    pid: () => (pid ||= pidFrom(files.pidFile)),
    resize: () => undefined,
    done,
  };
}

/** `cnm-monitor exec-tty -- runc exec -d -t --console-socket ...`. */
export function spawnTtyExec(monitor: string, argv: string[], files: ExecFiles, stdin: boolean): ExecProcess {
  const child = spawn(monitor, ['exec-tty', '--console-socket', files.consoleSocket, '--pid-file', files.pidFile, '--', ...argv], {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
  });
  child.stdin?.on('error', () => undefined);
  const resizePipe = child.stdio[3] as Writable;
  resizePipe.on('error', () => undefined);
  const report = child.stdio[4] as Readable;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
  let pid = 0;
  const done = new Promise<ExecResult>((resolve) => {
    let text = '';
    let result: ExecResult | null = null;
    report.on('data', (d: Buffer) => {
      text += d.toString();
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n')) {
        const line = text.slice(0, i);
        text = text.slice(i + 1);
        const [word, ...rest] = line.split(' ');
        if (word === 'pid') pid = Number(rest[0]) || 0;
        else if (word === 'exit') result = { code: Number(rest[0]) };
        else if (word === 'error') result = failedExit(runtimeError(files.logFile) || stderr.trim() || rest.join(' '));
      }
    });
    child.once('error', (e) => resolve(failedExit(e.message)));
    // After the monitor's output is drained: its stdout carried the last bytes.
    child.once('close', () => {
      resolve(result ?? failedExit(stderr.trim() || 'the exec monitor ended without reporting an exit status'));
    });
  });
  return {
    input: child.stdin,
    output: child.stdout as Readable,
    errors: null,
    pid: () => pid,
    resize: (rows, cols) => {
      if (rows > 0 && cols > 0 && !resizePipe.destroyed) resizePipe.write(`${rows} ${cols}\n`);
    },
    done,
  };
}
