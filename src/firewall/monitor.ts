// Notices when someone else changes nftables in the namespace (`nft flush
// ruleset`, a firewall reload) by running `nft monitor` there: every change
// arrives as a line at once, so a check costs nothing while nothing happens.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const HAVE_SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].some((p) => existsSync(p));

/** Lines that may mean cnm lost something: any delete or flush. */
export function isDestructiveEvent(line: string): boolean {
  return /^(delete|flush|destroy)\b/.test(line.trim());
}

/**
 * Groups `nft monitor` output by transaction: the event lines of one batch
 * are followed by "# new generation N by process PID (NAME)". Batches that
 * cnm committed itself (its own PID, or the nft it spawned) are dropped, so
 * a network removal does not make the firewall check itself.
 */
export class MonitorBatcher {
  private pending: string[] = [];
  private readonly own: (pid: number) => boolean;
  constructor(own: (pid: number) => boolean) { this.own = own; }

  /** Returns the event lines of a finished foreign batch, else []. */
  push(line: string): string[] {
    const gen = /^# new generation \d+ by process (\d+)/.exec(line.trim());
    if (!gen) {
      if (line.trim() !== '') this.pending.push(line.trim());
      return [];
    }
    const batch = this.pending;
    this.pending = [];
    return this.own(Number(gen[1])) ? [] : batch;
  }
}

const RESTART_MIN_MS = 50;
const RESTART_MAX_MS = 5000;

export class NftMonitor {
  private child: ChildProcess | null = null;
  private stopped = false;
  private delay = RESTART_MIN_MS;
  private readonly nsPath: string;
  private readonly onEvent: (line: string) => void;

  constructor(nsPath: string, onEvent: (line: string) => void) {
    this.nsPath = nsPath;
    this.onEvent = onEvent;
  }

  /** Resolves once nft monitor is running (listening before the caller goes on). */
  start(): Promise<void> {
    this.stopped = false;
    return this.spawnOnce();
  }

  private spawnOnce(): Promise<void> {
    // setpriv --pdeathsig: the monitor dies with the daemon even when the
    // daemon is killed outright (it would otherwise linger until its next
    // write). nsenter and setpriv exec, so nft's parent is this process.
    const args = [`--net=${this.nsPath}`, ...(HAVE_SETPRIV ? ['setpriv', '--pdeathsig', 'KILL'] : []), 'nft', 'monitor'];
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    createInterface({ input: child.stdout }).on('line', (l) => this.onEvent(l));
    const started = Date.now();
    child.on('exit', () => {
      if (this.child === child) this.child = null;
      if (this.stopped) return;
      // Restart when it dies under us (someone killed it); a change missed
      // meanwhile is caught by the check that a restart triggers. Back off
      // while it keeps dying at once (namespace gone, nft missing).
      this.delay = Date.now() - started > RESTART_MAX_MS ? RESTART_MIN_MS : Math.min(this.delay * 2, RESTART_MAX_MS);
      setTimeout(() => { if (!this.stopped) this.spawnOnce().then(() => this.onEvent('flush (monitor restarted)'), () => undefined); }, this.delay).unref();
    });
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.child;
    this.child = null;
    if (c && c.exitCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
    }
  }
}
