// A set of uint32 positions stored as sorted, maximal runs [start, end].
// Runs live in leaves of at most LEAF_CAP runs (two Uint32Arrays each), found by
// binary search over the leaves and then within one leaf, so every operation is
// O(log runs) and memory follows the number of runs, not of members: a million
// addresses handed out in order are one run. This is what lets the allocator
// find the next free address without looking at addresses one by one.

const LEAF_CAP = 128;
const LEAF_INITIAL = 4;
/** A Leaf object and two typed-array headers, roughly, on 64-bit V8. */
const LEAF_OVERHEAD = 200;

class Leaf {
  s: Uint32Array;
  e: Uint32Array;
  n = 0;
  constructor(cap: number) {
    this.s = new Uint32Array(cap);
    this.e = new Uint32Array(cap);
  }
}

export class RunSet {
  private leaves: Leaf[] = [];
  private members = 0;

  /** Number of members. */
  get size(): number {
    return this.members;
  }

  /** Number of runs (a measure of fragmentation and memory). */
  get runCount(): number {
    let n = 0;
    for (const l of this.leaves) n += l.n;
    return n;
  }

  /** Bytes held: the typed arrays plus an estimate of each leaf's object and slot overhead. */
  get byteSize(): number {
    let n = 0;
    for (const l of this.leaves) n += l.s.byteLength + l.e.byteLength + LEAF_OVERHEAD;
    return n;
  }

  /** Index of the last leaf whose first run starts at or before x; -1 if none. */
  private leafFor(x: number): number {
    const leaves = this.leaves;
    let lo = 0;
    let hi = leaves.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((leaves[mid] as Leaf).s[0]! <= x) {
        ans = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return ans;
  }

  /** Index of the last run in the leaf that starts at or before x (the leaf's first run does). */
  private static runFor(l: Leaf, x: number): number {
    let lo = 0;
    let hi = l.n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (l.s[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  has(x: number): boolean {
    const li = this.leafFor(x);
    if (li < 0) return false;
    const l = this.leaves[li] as Leaf;
    return l.e[RunSet.runFor(l, x)]! >= x;
  }

  /** The smallest non-member >= x (2^32 when every position from x on is a member). */
  nextFree(x: number): number {
    const li = this.leafFor(x);
    if (li < 0) return x;
    const l = this.leaves[li] as Leaf;
    const e = l.e[RunSet.runFor(l, x)]!;
    // Runs are maximal, so the position after a run is never a member.
    return e >= x ? e + 1 : x;
  }

  /** The largest member <= x, or -1 if there is none. */
  lastMemberAtOrBelow(x: number): number {
    const li = this.leafFor(x);
    if (li < 0) return -1;
    const l = this.leaves[li] as Leaf;
    const e = l.e[RunSet.runFor(l, x)]!;
    return e >= x ? x : e;
  }

  /** Adds x; false if it was already a member. */
  add(x: number): boolean {
    const leaves = this.leaves;
    const li = this.leafFor(x);
    if (li < 0) {
      const first = leaves[0];
      if (first === undefined) {
        const l = new Leaf(LEAF_INITIAL);
        l.s[0] = x;
        l.e[0] = x;
        l.n = 1;
        leaves.push(l);
      } else if (first.s[0] === x + 1) {
        first.s[0] = x;
      } else {
        this.insertRun(0, 0, x, x);
      }
      this.members++;
      return true;
    }
    const l = leaves[li] as Leaf;
    const j = RunSet.runFor(l, x);
    const e = l.e[j]!;
    if (e >= x) return false;
    let nl: Leaf | undefined;
    let nj = j + 1;
    let nli = li;
    if (nj < l.n) {
      nl = l;
    } else {
      nli = li + 1;
      nl = leaves[nli];
      nj = 0;
    }
    const joinPrev = e === x - 1;
    const joinNext = nl !== undefined && nl.s[nj] === x + 1;
    if (joinPrev && joinNext) {
      l.e[j] = nl!.e[nj]!;
      this.removeRun(nli, nj);
    } else if (joinPrev) {
      l.e[j] = x;
    } else if (joinNext) {
      nl!.s[nj] = x;
    } else {
      this.insertRun(li, j + 1, x, x);
    }
    this.members++;
    return true;
  }

  /** Removes x; false if it was not a member. */
  delete(x: number): boolean {
    const li = this.leafFor(x);
    if (li < 0) return false;
    const l = this.leaves[li] as Leaf;
    const j = RunSet.runFor(l, x);
    const s = l.s[j]!;
    const e = l.e[j]!;
    if (e < x) return false;
    if (s === e) this.removeRun(li, j);
    else if (x === s) l.s[j] = x + 1;
    else if (x === e) l.e[j] = x - 1;
    else {
      l.e[j] = x - 1;
      this.insertRun(li, j + 1, x + 1, e);
    }
    this.members--;
    return true;
  }

  /** Runs in ascending order (for tests and debugging). */
  *runs(): Generator<[number, number]> {
    for (const l of this.leaves) for (let j = 0; j < l.n; j++) yield [l.s[j]!, l.e[j]!];
  }

  private insertRun(li: number, j: number, s: number, e: number): void {
    const l = this.leaves[li] as Leaf;
    if (l.n === l.s.length) {
      // Grow small leaves first: a network with a few containers stays a few bytes.
      const cap = Math.min(l.s.length * 2, LEAF_CAP);
      if (cap > l.s.length) {
        const ns = new Uint32Array(cap);
        const ne = new Uint32Array(cap);
        ns.set(l.s);
        ne.set(l.e);
        l.s = ns;
        l.e = ne;
      }
    }
    l.s.copyWithin(j + 1, j, l.n);
    l.e.copyWithin(j + 1, j, l.n);
    l.s[j] = s;
    l.e[j] = e;
    l.n++;
    if (l.n === LEAF_CAP) {
      const half = LEAF_CAP >>> 1;
      const r = new Leaf(LEAF_CAP);
      r.s.set(l.s.subarray(half, l.n));
      r.e.set(l.e.subarray(half, l.n));
      r.n = l.n - half;
      l.n = half;
      this.leaves.splice(li + 1, 0, r);
    }
  }

  private removeRun(li: number, j: number): void {
    const l = this.leaves[li] as Leaf;
    l.s.copyWithin(j, j + 1, l.n);
    l.e.copyWithin(j, j + 1, l.n);
    l.n--;
    if (l.n === 0) this.leaves.splice(li, 1);
  }
}
