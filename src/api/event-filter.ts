// docker events --filter, as moby matches it (daemon/events/filter.go):
// every key given must match; type, event and scope exactly; container,
// network, volume, daemon (and the swarm kinds) by a prefix of the actor's
// ID or its name attribute, whatever the event's type; image by ID or name,
// with or without a tag; label as key or key=value against the attributes.
import type { CnmEvent } from '../core/events.ts';
import type { Filters } from './filters.ts';

export const EVENT_FILTERS = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume'];

const BY_NAME = ['container', 'network', 'volume', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'];

const exact = (f: Filters, key: string, value: string): boolean => !f.has(key) || f.get(key)!.includes(value);
const fuzzy = (f: Filters, key: string, value: string): boolean => !f.has(key) || f.get(key)!.some((v) => value === v || value.startsWith(v));

/** "busybox:latest" -> "busybox"; a registry port is not a tag. */
function stripTag(ref: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash && !ref.startsWith('sha256:') ? ref.slice(0, colon) : ref;
}

export function eventMatches(f: Filters, e: CnmEvent): boolean {
  // exec_create / exec_start carry the command after a colon: a bare filter matches them all.
  const bare = ['exec_create', 'exec_start', 'health_status'].some((a) => f.get('event')?.includes(a));
  if (!(bare ? fuzzy(f, 'event', e.action) : exact(f, 'event', e.action))) return false;
  if (!exact(f, 'type', e.type) || !exact(f, 'scope', 'local')) return false;
  const name = e.attributes.name ?? '';
  for (const k of BY_NAME) if (f.has(k) && !(fuzzy(f, k, e.id) || (name !== '' && fuzzy(f, k, name)))) return false;
  const images = f.get('image');
  if (images) {
    const imageName = (e.type === 'image' ? e.attributes.name : e.attributes.image) ?? '';
    const candidates = [e.id, imageName, stripTag(e.id), stripTag(imageName)];
    if (!candidates.some((c) => images.includes(c))) return false;
  }
  const labels = f.get('label');
  if (labels) {
    for (const l of labels) {
      const i = l.indexOf('=');
      const k = i < 0 ? l : l.slice(0, i);
      if (!Object.hasOwn(e.attributes, k)) return false;
      if (i >= 0 && e.attributes[k] !== l.slice(i + 1)) return false;
    }
  }
  return true;
}
