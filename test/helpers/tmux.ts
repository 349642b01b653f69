// A real terminal for tests: a tmux server of the test's own (its own
// socket name, -L), whose panes run commands such as `docker start -ai` on a
// pty. Keys are typed with send-keys, the screen is read with capture-pane.
// Only this server is ever touched: it is killed by its PID at the end.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TEST_PREFIX } from './netns.ts';
import { waitFor } from './wait.ts';

export const hasTmux = ((): boolean => {
  try { execFileSync('tmux', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; }
})();

/** What a pane shows once its command ended (its exit status): see run(). */
export const EXITED = /\[exited (\d+)\]/;

export class Tmux {
  readonly socket = `${TEST_PREFIX}tmux-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly env: NodeJS.ProcessEnv;
  private serverPid = 0;

  constructor(env: NodeJS.ProcessEnv) {
    // No user configuration: the screen must be what the commands wrote.
    this.env = { ...env, TERM: 'xterm', TMUX: '' };
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { env: this.env, encoding: 'utf8' });
  }

  /**
   * Runs command in a new window of rows x cols (the first one starts the
   * server). When it ends the window stays, showing "[exited N]".
   */
  run(window: string, command: string, size: { rows: number; cols: number } = { rows: 24, cols: 80 }): void {
    const sh = `${command}; echo "[exited $?]"; exec sleep 3600`;
    if (!this.serverPid) {
      this.tmux(['new-session', '-d', '-s', 't', '-n', window, '-x', String(size.cols), '-y', String(size.rows), sh]);
      this.serverPid = Number(this.tmux(['display-message', '-p', '#{pid}']).trim());
    } else {
      // (tmux 3.3a's server crashes on new-window with window-size manual set globally.)
      this.tmux(['new-window', '-d', '-t', 't:', '-n', window, sh]);
      this.resize(window, size.rows, size.cols);
    }
  }

  /** Types text literally, then Enter unless `enter` is false. */
  type(window: string, text: string, enter = true): void {
    this.tmux(['send-keys', '-t', `t:${window}`, '-l', text]);
    if (enter) this.tmux(['send-keys', '-t', `t:${window}`, 'Enter']);
  }

  /** Presses keys by tmux's names: C-c, C-p, Enter. */
  keys(window: string, ...keys: string[]): void {
    this.tmux(['send-keys', '-t', `t:${window}`, ...keys]);
  }

  /** The window's screen and its scrollback, as text. */
  screen(window: string): string {
    return this.tmux(['capture-pane', '-p', '-J', '-t', `t:${window}`, '-S', '-500']);
  }

  /** Waits until the screen matches; returns the match. */
  async expect(window: string, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return waitFor(() => re.exec(this.screen(window)), { what: () => `${re} on the screen of ${window}:\n${this.screen(window)}`, timeoutMs });
  }

  /** The exit status its command ended with (waits for it). */
  async exitCode(window: string): Promise<number> {
    return Number((await this.expect(window, EXITED))[1]);
  }

  /** Resizes the window: the program on it gets SIGWINCH. */
  resize(window: string, rows: number, cols: number): void {
    this.tmux(['resize-window', '-t', `t:${window}`, '-x', String(cols), '-y', String(rows)]);
  }

  /** Ends this server (and the commands in its windows). */
  destroy(): void {
    if (!this.serverPid) return;
    try { this.tmux(['kill-server']); } catch { /* already gone */ }
    try { process.kill(this.serverPid, 'SIGKILL'); } catch { /* gone */ }
    this.serverPid = 0;
  }
}
