// In-memory storage for MemoryStore. Nothing is durable; apply() cannot fail
// halfway, so write() needs no undo. Keys are also kept in a sorted array so
// list() costs O(log n + k) like a B-tree, and tests with thousands of keys
// stay fast.
import type { Backend, Change, Lease } from './backend.ts';
import { compareKeys, inRange } from './keys.ts';
import type { KeyValue, WatchEvent } from './types.ts';

export class MemoryBackend implements Backend {
  private readonly kvs = new Map<string, KeyValue>();
  /** every key in kvs, in compareKeys order */
  private readonly sorted: string[] = [];
  private changes: WatchEvent[] = [];
  private readonly leaseTable = new Map<number, Lease>();
  private lastLeaseId = 0;
  private rev = 0;
  private compacted = 0;

  write(fn: () => void): void { fn(); }
  async sync(): Promise<void> { /* nothing to make durable */ }

  apply(revision: number, changes: readonly Change[]): void {
    for (const c of changes) {
      const at = this.lowerBound(c.key);
      const present = this.sorted[at] === c.key;
      if (c.value === null) {
        this.kvs.delete(c.key);
        if (present) this.sorted.splice(at, 1);
      } else {
        this.kvs.set(c.key, { key: c.key, value: c.value, createRevision: c.createRevision, modRevision: revision, lease: c.lease });
        if (!present) this.sorted.splice(at, 0, c.key);
      }
      this.changes.push({ type: c.value === null ? 'delete' : 'put', key: c.key, value: c.value, revision });
    }
    this.rev = revision;
  }

  revision(): number { return this.rev; }
  compactedRevision(): number { return this.compacted; }

  get(key: string): KeyValue | null {
    const kv = this.kvs.get(key);
    return kv ? { ...kv } : null;
  }

  range(prefix: string, end: string | null): KeyValue[] {
    const out: KeyValue[] = [];
    for (let i = this.lowerBound(prefix); i < this.sorted.length; i++) {
      const key = this.sorted[i] ?? '';
      if (end !== null && compareKeys(key, end) >= 0) break;
      const kv = this.kvs.get(key);
      if (kv) out.push({ ...kv });
    }
    return out;
  }

  leases(): Lease[] { return [...this.leaseTable.values()].map((l) => ({ ...l })); }
  nextLeaseId(): number { return ++this.lastLeaseId; }
  setLease(lease: Lease): void { this.leaseTable.set(lease.id, { ...lease }); }
  deleteLease(id: number): void { this.leaseTable.delete(id); }

  /** A scan: leases hold few keys and the memory store is for tests. */
  leaseKeys(id: number): string[] {
    return this.sorted.filter((k) => this.kvs.get(k)?.lease === id);
  }

  /** index of the first key >= key */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sorted[mid] ?? '', key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  history(after: number, prefix: string, end: string | null): WatchEvent[] {
    return this.changes.filter((e) => e.revision > after && inRange(e.key, prefix, end)).map((e) => ({ ...e }));
  }

  compact(revision: number): void {
    this.changes = this.changes.filter((e) => e.revision > revision);
    this.compacted = revision;
  }

  close(): void {
    this.kvs.clear();
    this.sorted.length = 0;
    this.changes = [];
    this.leaseTable.clear();
  }
}
