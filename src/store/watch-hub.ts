// Delivers watch events to in-process watchers. A commit publishes its events
// here only after it is durable; delivery happens in a microtask, never inside
// the store call, so a callback may call the store again (no reentrancy into
// a running transaction) and sees the committed state.
import { inRange, prefixEnd } from './keys.ts';
import type { WatchCallback, WatchErrorCallback, WatchEvent } from './types.ts';

interface Watcher {
  prefix: string;
  end: string | null;
  cb: WatchCallback;
  queue: WatchEvent[];
  /** only events after this revision (it may lie in the future) */
  from: number;
  done: boolean;
}

/** Rethrow outside the store's stack: a buggy callback must be seen, not swallowed. */
function throwLater(err: unknown): void {
  queueMicrotask(() => { throw err; });
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private scheduled = false;
  private flushing = false;

  /**
   * Registers a watcher that first gets `replay` (history after fromRevision,
   * in order) and then every published event under `prefix`.
   */
  add(prefix: string, fromRevision: number, replay: readonly WatchEvent[], cb: WatchCallback): () => void {
    const w: Watcher = { prefix, end: prefixEnd(prefix), cb, queue: [], from: fromRevision, done: false };
    for (const ev of replay) this.offer(w, ev);
    this.watchers.add(w);
    this.schedule();
    return () => { w.done = true; this.watchers.delete(w); };
  }

  /** Reports an error to a would-be watcher asynchronously (as etcd would). */
  fail(err: Error, onError?: WatchErrorCallback): void {
    queueMicrotask(() => {
      if (onError) onError(err);
      else throw err;
    });
  }

  /** Events are shared by every watcher, so they are frozen: one callback cannot change what another sees. */
  publish(events: readonly WatchEvent[]): void {
    if (this.watchers.size === 0) return;
    for (const w of this.watchers) for (const ev of events) this.offer(w, ev);
    this.schedule();
  }

  /** Delivers whatever is queued now (used before close), then drops every watcher. */
  close(): void {
    this.flush();
    for (const w of this.watchers) w.done = true;
    this.watchers.clear();
  }

  private offer(w: Watcher, ev: WatchEvent): void {
    if (ev.revision > w.from && inRange(ev.key, w.prefix, w.end)) w.queue.push(ev);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    // A callback that closes the store must not deliver the queue twice.
    if (this.flushing) return;
    this.flushing = true;
    try { this.drain(); } finally { this.flushing = false; }
  }

  private drain(): void {
    let more = true;
    while (more) {
      more = false;
      for (const w of [...this.watchers]) {
        let i = 0;
        for (; i < w.queue.length && !w.done; i++) {
          const ev = w.queue[i];
          if (ev === undefined) continue;
          try { w.cb(ev); } catch (err) { throwLater(err); }
        }
        w.queue.splice(0, i);
        if (w.queue.length > 0 && !w.done) more = true;
      }
    }
  }
}
