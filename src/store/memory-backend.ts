// In-memory storage for MemoryStore. Nothing is durable; apply() cannot fail
// halfway, so write() needs no undo.
import type { Backend, Change } from './backend.ts';
import { compareKeys, inRange } from './keys.ts';
import type { KeyValue, WatchEvent } from './types.ts';

export class MemoryBackend implements Backend {
  private readonly kvs = new Map<string, KeyValue>();
  private changes: WatchEvent[] = [];
  private rev = 0;
  private compacted = 0;

  write(fn: () => void): void { fn(); }

  apply(revision: number, changes: readonly Change[]): void {
    for (const c of changes) {
      if (c.value === null) this.kvs.delete(c.key);
      else this.kvs.set(c.key, { key: c.key, value: c.value, createRevision: c.createRevision, modRevision: revision });
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
    for (const kv of this.kvs.values()) if (inRange(kv.key, prefix, end)) out.push({ ...kv });
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  history(after: number, prefix: string, end: string | null): WatchEvent[] {
    return this.changes.filter((e) => e.revision > after && inRange(e.key, prefix, end)).map((e) => ({ ...e }));
  }

  compact(revision: number): void {
    this.changes = this.changes.filter((e) => e.revision > revision);
    this.compacted = revision;
  }

  close(): void { this.kvs.clear(); this.changes = []; }
}
