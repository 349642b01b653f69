// Deferred link deletion. Drivers put links they are done with into
// REAP_GROUP (drivers/link-mark.ts) and call schedule(); the reaper deletes
// the whole group in the host namespace in one request once the daemon has
// been quiet for a moment (so the deletion's hold on the kernel's rtnl lock
// does not land on the next connect), or at the latest after maxDelayMs.
// A veth goes with its peer, so the sandbox ends go too.
//
// Nothing is lost in a crash: a doomed link keeps its cnm mark, and at start
// the reaper deletes what the group still holds (flush) before the orphan
// sweep runs.
import { REAP_GROUP } from '../drivers/link-mark.ts';
import type { NetnsHandle } from '../netlink/index.ts';
import type { Logger } from './context.ts';

export interface ReaperOptions {
  /** Quiet time after the last schedule() before deleting (ms). */
  quietMs?: number;
  /** The longest a doomed link waits (ms). */
  maxDelayMs?: number;
}

export class LinkReaper {
  private readonly ns: NetnsHandle;
  private readonly log: Logger;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private firstAt = 0;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(ns: NetnsHandle, log: Logger, o: ReaperOptions = {}) {
    this.ns = ns;
    this.log = log;
    this.quietMs = o.quietMs ?? 150;
    this.maxDelayMs = Math.max(o.maxDelayMs ?? 2000, this.quietMs);
  }

  /** A link was put into REAP_GROUP: delete it (with any others) soon. */
  schedule(): void {
    if (this.closed) return;
    const now = Date.now();
    if (!this.timer) this.firstAt = now;
    else clearTimeout(this.timer);
    const wait = Math.min(this.quietMs, Math.max(0, this.firstAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => void this.flush(), wait);
    this.timer.unref();
  }

  /** Deletes every doomed link now (start, shutdown, tests). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // One deletion at a time; a flush during one waits for it and runs again.
    while (this.running) await this.running;
    this.running = this.ns.rtnl.linkDelGroup(REAP_GROUP).catch((e: unknown) => {
      // ENODEV: the group is empty. Its links went another way (a veth goes
      // with its peer's namespace, a reconnect took one back).
      if ((e as { code?: string }).code === 'ENODEV') return;
      this.log.warn(`reaper: deleting links of group ${REAP_GROUP}: ${(e as Error).message}`);
    }).finally(() => { this.running = null; });
    await this.running;
  }

  /** Deletes what is pending and stops scheduling. */
  async close(): Promise<void> {
    if (this.timer) await this.flush();
    this.closed = true;
  }
}
