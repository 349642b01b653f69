// The daemon's event log (docker events): what happened to containers,
// networks and images, kept in a small ring for `since` replays and handed
// to every live subscriber. In memory only, as in Docker (moby
// daemon/events/events.go keeps the last 256; cnm keeps more, they are small).
import type { SandboxRecord } from '../model/records.ts';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'daemon';

export interface CnmEvent {
  type: EventType;
  /** Docker's action words: create, start, die, connect, tag, exec_create: CMD, ... */
  action: string;
  /** The actor: a container, network or image ID (or an image reference for pull). */
  id: string;
  attributes: Record<string, string>;
  /** Nanoseconds since the epoch. */
  timeNano: bigint;
}

export type EventListener = (e: CnmEvent) => void;

const KEEP = 1024;

export class EventBus {
  private readonly ring: CnmEvent[] = [];
  private next = 0;
  private readonly listeners = new Set<EventListener>();
  /** Off while the daemon rebuilds its state at start: that replays nothing new. */
  enabled = true;
  // Wall clock at construction plus a monotonic offset: event times never go
  // backwards, so a `since` replay never skips one.
  private readonly base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

  now(): bigint {
    return this.base + process.hrtime.bigint();
  }

  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    if (!this.enabled) return;
    const e: CnmEvent = { type, action, id, attributes, timeNano: this.now() };
    if (this.ring.length < KEEP) this.ring.push(e);
    else this.ring[this.next] = e;
    this.next = (this.next + 1) % KEEP;
    for (const l of this.listeners) {
      try { l(e); } catch { /* a subscriber's failure is its own */ }
    }
  }

  /** Kept events from `since` (inclusive) on, oldest first. */
  history(since: bigint): CnmEvent[] {
    const ordered = this.ring.length < KEEP ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return ordered.filter((e) => e.timeNano >= since);
  }

  /** Returns the unsubscribe function. */
  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  }
}

/** Docker's container attributes: its labels, then image and name (moby daemon/events.go). */
export function containerAttributes(sbx: SandboxRecord, extra: Record<string, string> = {}): Record<string, string> {
  return { ...sbx.labels, image: sbx.image, name: sbx.name, ...extra };
}

/**
 * A container's volumes mounted at its start or unmounted at its end, as
 * moby reports them (daemon/volumes.go, mounts.go): the volume is the
 * actor; a mount says where and how.
 */
export function emitVolumeMounts(bus: EventBus, sbx: SandboxRecord, action: 'mount' | 'unmount'): void {
  for (const m of sbx.run.mounts ?? []) {
    if (m.type !== 'volume') continue;
    bus.emit('volume', action, m.source, action === 'mount'
      ? { container: sbx.id, destination: m.destination, driver: 'local', propagation: m.propagation === 'rprivate' ? '' : m.propagation, 'read/write': String(!m.readonly) }
      : { container: sbx.id, driver: 'local' });
  }
}

/** One call per container event, so the call sites stay one line. */
export function emitContainer(bus: EventBus, sbx: SandboxRecord, action: string, extra: Record<string, string> = {}): void {
  bus.emit('container', action, sbx.id, containerAttributes(sbx, extra));
}
