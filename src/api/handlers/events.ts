// GET /events: the daemon's events as newline-delimited JSON, streamed
// until `until` or until the client goes (moby api/server/router/system
// getEvents). `since` replays what the ring still holds; an `until` in the
// past only replays. Each message keeps the legacy status/id/from fields
// for containers and images: docker-compose 1.29 skips events without
// `status`.
import { once } from 'node:events';
import type { EventBus, CnmEvent } from '../../core/events.ts';
import { invalid } from '../../model/errors.ts';
import { EVENT_FILTERS, eventMatches } from '../event-filter.ts';
import { parseFilters } from '../filters.ts';
import type { Route } from '../router.ts';

/** Docker's timestamps: seconds[.fraction] (what the CLI sends) or an RFC 3339 date; in nanoseconds. */
export function parseEventTime(key: string, v: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw invalid(`invalid ${key} "${v}": expected a Unix timestamp (seconds[.nanoseconds]) or an RFC 3339 date`);
  return BigInt(ms) * 1_000_000n;
}

/** One line of the stream; timeNano is written as an integer, which a JS number cannot hold exactly. */
export function eventLine(e: CnmEvent): string {
  // Docker's legacy fields are omitempty: a prune has no id, a container without image no from.
  const legacy = e.type === 'container' || e.type === 'image'
    ? { status: e.action, ...(e.id ? { id: e.id } : {}), ...(e.type === 'container' && e.attributes.image ? { from: e.attributes.image } : {}) }
    : {};
  const body = JSON.stringify({
    ...legacy, Type: e.type, Action: e.action, Actor: { ID: e.id, Attributes: e.attributes }, scope: 'local',
    time: Number(e.timeNano / 1_000_000_000n),
  });
  return `${body.slice(0, -1)},"timeNano":${e.timeNano}}\n`;
}

export function eventRoutes(bus: EventBus): Route[] {
  return [{
    method: 'GET', path: '/events', handler: (req) => {
      const sinceQ = req.query.get('since') ?? '';
      const untilQ = req.query.get('until') ?? '';
      const since = sinceQ ? parseEventTime('since', sinceQ) : null;
      const until = untilQ ? parseEventTime('until', untilQ) : null;
      if (since !== null && until !== null && since > until) {
        throw invalid(`\`since\` time (${sinceQ}) cannot be after \`until\` time (${untilQ})`);
      }
      const f = parseFilters(req.query.get('filters'), EVENT_FILTERS);
      return {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
        stream: async (res, closed) => {
          // Subscribed before the replay, so nothing falls between the two.
          const live: CnmEvent[] = [];
          let wake: (() => void) | null = null;
          const off = bus.subscribe((e) => {
            live.push(e);
            wake?.();
          });
          try {
            let last = -1n;
            const send = (e: CnmEvent): void => {
              if (e.timeNano <= last) return;
              last = e.timeNano;
              if ((until === null || e.timeNano <= until) && eventMatches(f, e)) res.write(eventLine(e));
            };
            if (since !== null || until !== null) for (const e of bus.history(since ?? 0n)) send(e);
            // The head (sent already) is what clients wait for; nothing more until an event.
            const now = bus.now();
            if (until !== null && until <= now) return;
            const timer = until === null ? null : setTimeout(() => wake?.(), Number((until - now) / 1_000_000n) + 1);
            const onClose = (): void => wake?.();
            closed.addEventListener('abort', onClose);
            try {
              for (;;) {
                while (live.length) send(live.shift()!);
                // A slow reader: wait for it rather than buffer without bound.
                if (res.writableNeedDrain) await Promise.race([once(res, 'drain'), once(res, 'close')]);
                if (closed.aborted || (until !== null && bus.now() >= until)) return;
                await new Promise<void>((resolve) => { wake = resolve; });
                wake = null;
              }
            } finally {
              if (timer) clearTimeout(timer);
              closed.removeEventListener('abort', onClose);
            }
          } finally {
            off();
          }
        },
      };
    },
  }];
}
