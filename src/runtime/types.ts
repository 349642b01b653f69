// The runtime seam: what the core asks of whatever runs a sandbox's process.
// Plain data in, so another runtime (crun, a remote one) fits the same shape.
import type { Duplex } from 'node:stream';

/**
 * A mount the runtime makes inside the container's mount namespace, after
 * the system mounts: a host path bound (a bind or a volume's data) or a tmpfs.
 */
export type Mount =
  | { type: 'bind'; source: string; destination: string; readonly: boolean; propagation: string }
  | { type: 'tmpfs'; destination: string; readonly: boolean; options: string[] };

export interface Resources {
  /** Bytes; 0 = no limit (--memory). */
  memory: number;
  /** Billionths of a CPU; 0 = no limit (--cpus 1.5 = 1500000000). */
  nanoCpus: number;
  /** 0 or less = no limit (--pids-limit). */
  pidsLimit: number;
}

export interface LogSpec {
  path: string;
  /** Bytes per file before rotation; 0 = unbounded. */
  maxSize: number;
  /** Files kept, the current one included. */
  maxFile: number;
}

/** Everything needed to run one sandbox process; built by the core. */
export interface ProcessSpec {
  /** The runtime's container ID (the sandbox ID). */
  id: string;
  hostname: string;
  args: string[];
  env: string[];
  cwd: string;
  /** Resolved numerically before this point. */
  user: { uid: number; gid: number; additionalGids: number[] };
  /** The sandbox's network namespace; null = the daemon's (host mode). */
  netnsPath: string | null;
  /**
   * An image's root filesystem, mounted (writable) at this path; absent:
   * the host's directories, read-only (a sandbox without an image).
   */
  rootfs?: string;
  /** The sandbox's own /etc/hosts, /etc/resolv.conf and /etc/hostname. */
  files: { hosts: string; resolvConf: string; hostname: string };
  /** Binds, volumes and tmpfs mounts, in order (a later one may lie over an earlier one). */
  mounts: Mount[];
  resources: Resources;
  /** Docker's --privileged: every capability, no seccomp, no masked paths. */
  privileged: boolean;
  /** Run the command under a minimal init that passes signals on (docker run --init). */
  init: boolean;
  /** Host paths the sandbox must not see (data root, exec root, API socket). */
  hidden: string[];
  log: LogSpec;
  /** Docker's Tty: a terminal (a pty whose master the monitor holds) instead of pipes. */
  tty: boolean;
  /** Docker's OpenStdin: the monitor holds the process's stdin for attachers. */
  openStdin: boolean;
  /** Docker's StdinOnce: an attacher's EOF closes that stdin (without a terminal). */
  stdinOnce: boolean;
  /** The terminal's first size, [rows, cols]; [0, 0] = the runtime's default. */
  consoleSize: [number, number];
  /** An attacher waits for the start: the monitor keeps a short-lived process's output for it. */
  linger: boolean;
}

export interface Started {
  /** The sandbox's init process (PID 1 in its PID namespace). */
  pid: number;
  pidStart: string;
  /** The monitor that supervises it. */
  monitorPid: number;
}

export interface ExecSpec {
  id: string;
  args: string[];
  env: string[];
  cwd?: string;
  /** Numeric "uid:gid" (runc's --user takes no names). */
  user?: string;
  tty: boolean;
  /** Where the runtime writes the process's host PID. */
  pidFile?: string;
  /** The runtime's own error log (JSON), to tell its failures from the process's. */
  logFile?: string;
  /** Detached with a terminal: the socket the pty master is sent to. */
  consoleSocket?: string;
}

/** Files an exec may use: in a directory of its own, short enough for a socket path. */
export interface ExecFiles { pidFile: string; logFile: string; consoleSocket: string }

export interface ExecResult {
  code: number;
  /** Why it never ran (the runtime's words), if it did not. */
  error?: string;
  /** Whether those words already went out on the process's stderr. */
  errorShown?: boolean;
}

/** A process started in a running sandbox (docker exec). */
export interface ExecProcess {
  /** The process's stdin; null when it gets none. */
  readonly input: NodeJS.WritableStream | null;
  /** Its stdout; with a terminal, everything it writes. */
  readonly output: NodeJS.ReadableStream;
  /** Its stderr; null with a terminal. */
  readonly errors: NodeJS.ReadableStream | null;
  /** Its host PID once known (0 before). */
  pid(): number;
  /** Sets the terminal's size (no-op without one). */
  resize(rows: number, cols: number): void;
  /** Its exit status (128 + signal when killed) once its output is drained. */
  readonly done: Promise<ExecResult>;
}

export interface Runtime {
  readonly name: string;
  /** Starts the process; `onExit` fires when its monitor ends (this daemon's child only). */
  start(spec: ProcessSpec, runDir: string, onExit: () => void): Promise<Started>;
  /** Sends a signal to the sandbox's init; false if it is not running. */
  kill(id: string, signal: NodeJS.Signals): Promise<boolean>;
  /** Forgets the container, killing it if it still runs (idempotent). */
  remove(id: string): Promise<void>;
  /** IDs of every container this runtime knows, running or not. */
  list(): Promise<string[]>;
  /** Name, binary and state directory (shown in container inspect). */
  describe(): { name: string; path: string; root: string };
  /** The command line that runs a process inside a running sandbox. */
  execArgv(e: ExecSpec): string[];
  /**
   * Connects to a running sandbox's stdio (one with a terminal or an open
   * stdin): its output from now on (`replay`: since its start), and its
   * input when `stdin`. Raw bytes with a terminal, stdcopy frames without.
   */
  attach(runDir: string, monitorPid: number, o: { stdin: boolean; replay: boolean }): Promise<Duplex>;
  /** Sets a running sandbox's terminal size. */
  resize(runDir: string, monitorPid: number, rows: number, cols: number): Promise<void>;
  /** Runs a process inside a running sandbox, confined as the sandbox is. */
  exec(e: Omit<ExecSpec, 'pidFile' | 'logFile' | 'consoleSocket'>, files: ExecFiles, stdin: boolean): ExecProcess;
}
