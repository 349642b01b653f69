// Waiting on a condition instead of sleeping for a guessed time: a test
// polls for what it needs and, when it never comes, fails naming it.
export interface WaitOptions {
  /**
   * What is awaited, for the failure message ("the port to be published");
   * a function is called at the timeout, to say what was still there.
   */
  what: string | (() => string);
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll interval (default 50 ms). */
  intervalMs?: number;
}

/** What a truthy result can be. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls cond until it returns a truthy value, and returns that value. A
 * throwing cond counts as "not yet"; its last error is in the timeout message.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, o: WaitOptions): Promise<Truthy<T>> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as Truthy<T>;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : last !== undefined ? `: last error: ${String(last)}` : '';
      const what = typeof o.what === 'function' ? o.what() : o.what;
      throw new Error(`timed out after ${o.timeoutMs ?? 10_000} ms waiting for ${what}${why}`);
    }
    await pause(o.intervalMs ?? 50);
  }
}

/**
 * For tests about time passing (a file checked at most once a second, a
 * random moment to crash at): sleeps, and says so at the call site.
 */
export const elapse = pause;
