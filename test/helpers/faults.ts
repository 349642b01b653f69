// One counter shared by every fake of a test world: each call a fake makes
// (a netlink request, a firewall transaction, a store write, a DNS update, a
// runtime call) counts, and the one numbered `failAt` throws. A test runs an
// operation with failAt = 1, 2, ... until it succeeds, so a failure lands on
// every step of it in turn.
export class Faults {
  /** Calls counted since the last arm(). */
  calls = 0;
  /** The call that fails (1-based); 0: none. */
  failAt = 0;
  /** What each counted call was, for messages. */
  readonly log: string[] = [];
  /** The call that failed, once it did. */
  failed: string | null = null;

  /** Counts from zero again; the `n`th call from now fails (0: none). */
  arm(n: number): void {
    this.calls = 0;
    this.failAt = n;
    this.log.length = 0;
    this.failed = null;
  }

  /** Counts one call; throws `make(message)` when it is the chosen one. */
  hit(what: string, make: (msg: string) => Error = (m) => new Error(m)): void {
    this.calls++;
    this.log.push(what);
    if (this.calls !== this.failAt) return;
    this.failed = what;
    throw make(`injected failure at call ${this.calls}: ${what}`);
  }
}
