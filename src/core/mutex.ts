/** A FIFO async mutex: state changes run one at a time, readers never wait. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Undo steps recorded while a change is made, run in reverse on failure. */
export class UndoStack {
  private readonly steps: { what: string; fn: () => Promise<unknown> | unknown }[] = [];

  push(what: string, fn: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, fn });
  }

  /** Runs every step, newest first; failures are collected, not fatal. */
  async unwind(): Promise<Error[]> {
    const errors: Error[] = [];
    for (const s of this.steps.reverse()) {
      try {
        await s.fn();
      } catch (e) {
        errors.push(new Error(`undo ${s.what}: ${(e as Error).message}`, { cause: e }));
      }
    }
    this.steps.length = 0;
    return errors;
  }
}
