// The rest of /containers: top, stats, pause and unpause, rename, prune.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Controller } from '../../core/controller.ts';
import { CnmError, conflict, invalid } from '../../model/errors.ts';
import { cgroupPids } from '../../runtime/cgroups.ts';
import { emitContainer } from '../../core/events.ts';
import { checkPsArgs, top } from '../../runtime/top.ts';
import { boolParam, parseFilters } from '../filters.ts';
import type { Route } from '../router.ts';
import { emptyStats, sampleStats } from '../stats.ts';
import type { StatsWire } from '../stats.ts';

/** Docker's stats collector samples once a second. */
const STATS_INTERVAL_MS = 1000;

/** The `until` prune filter: a Unix timestamp, a date, or a duration back from now (24h, 30m, 10s). */
export function parseUntil(u: string): number {
  const dur = /^(\d+)(h|m|s)$/.exec(u);
  if (dur) return Date.now() - Number(dur[1]) * ({ h: 3600e3, m: 60e3, s: 1e3 }[dur[2] as 'h' | 'm' | 's']);
  const t = /^\d+(\.\d+)?$/.test(u) ? Number(u) * 1000 : Date.parse(u);
  if (Number.isNaN(t)) throw invalid(`invalid until filter "${u}": expected a timestamp or a duration like 24h`);
  return t;
}

export function containerOpsRoutes(ctl: Controller): Route[] {
  return [
    {
      method: 'GET', path: '/containers/{id}/top', handler: async (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        const psArgs = req.query.get('ps_args') || '-ef';
        const why = checkPsArgs(psArgs);
        if (why) throw invalid(why);
        if (sbx.state !== 'running') throw conflict(`Container ${sbx.id} is not running`);
        const pids = await cgroupPids(sbx.id);
        let json;
        try {
          json = await top(psArgs, pids);
        } catch (e) {
          throw new CnmError('INTERNAL', `Error running ps: ${(e as Error).message}`, { cause: e });
        }
        // moby daemon/top_unix.go reports each top.
        emitContainer(ctl.ctx.events, sbx, 'top');
        return { status: 200, json };
      },
    },
    {
      method: 'GET', path: '/containers/{id}/stats', handler: (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        // stream defaults to true; one-shot skips the second sample (no precpu_stats).
        const stream = req.query.get('stream') === null || boolParam(req.query, 'stream');
        const oneShot = boolParam(req.query, 'one-shot');
        if (!stream && sbx.state !== 'running') return { status: 200, json: emptyStats(sbx) };
        if (!stream) {
          const later = (async () => {
            const first = await sampleStats(sbx, null);
            if (oneShot) return first;
            await sleep(STATS_INTERVAL_MS);
            return sampleStats(sbx, first);
          })();
          return { status: 200, later };
        }
        return {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
          stream: async (res, closed) => {
            let prev: StatsWire | null = null;
            while (!closed.aborted) {
              const cur = ctl.state.sandboxes.get(sbx.id);
              if (!cur || cur.state !== 'running') return;
              prev = await sampleStats(cur, prev);
              res.write(`${JSON.stringify(prev)}\n`);
              await sleep(STATS_INTERVAL_MS, undefined, { signal: closed }).catch(() => undefined);
            }
          },
        };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/pause', handler: async (req) => {
        await ctl.pauseSandbox(req.params.id ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/unpause', handler: async (req) => {
        await ctl.unpauseSandbox(req.params.id ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/rename', handler: async (req) => {
        await ctl.renameSandbox(req.params.id ?? '', req.query.get('name') ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: '/containers/prune', handler: async (req) => {
        const f = parseFilters(req.query.get('filters'), ['until', 'label', 'label!']);
        const u = f.get('until')?.[0];
        const r = await ctl.pruneSandboxes({ ...(u ? { until: parseUntil(u) } : {}), label: f.get('label') ?? [], labelNot: f.get('label!') ?? [] });
        return { status: 200, json: { ContainersDeleted: r.ids.length ? r.ids : null, SpaceReclaimed: r.reclaimed } };
      },
    },
  ];
}
