// /volumes: the local driver's volumes (docker volume create/ls/inspect/rm/prune).
import type { Controller } from '../../core/controller.ts';
import { labelMatches } from '../../core/network-ops.ts';
import { dirSize, findVolume, volumeUsers } from '../../core/volume-ops.ts';
import { CnmError, invalid } from '../../model/errors.ts';
import { boolParam, parseFilters } from '../filters.ts';
import type { Filters } from '../filters.ts';
import { volumeView } from '../mount-view.ts';
import type { Route } from '../router.ts';
import { VOLUME_CREATE, parseBody } from '../validate.ts';
import type { VolumeCreateWire, VolumeWire } from '../wire.ts';
import { versionAtLeast } from './networks.ts';

/** A filter that takes true/false (Docker also accepts 1/0). */
function boolFilter(f: Filters, key: string): boolean | undefined {
  const vals = f.get(key);
  if (!vals?.length) return undefined;
  const v = vals[vals.length - 1] ?? '';
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`invalid filter '${key}=${v}': expected true or false`);
}

export function volumeRoutes(ctl: Controller): Route[] {
  const ctx = ctl.ctx;
  return [
    {
      method: 'GET', path: '/volumes', handler: (req) => {
        const f = parseFilters(req.query.get('filters'), ['name', 'label', 'dangling', 'driver']);
        const dangling = boolFilter(f, 'dangling');
        const list = [...ctl.state.volumes.values()].filter((v) => {
          const names = f.get('name');
          if (names && !names.some((n) => v.name.includes(n))) return false;
          const drivers = f.get('driver');
          if (drivers && !drivers.includes(v.driver)) return false;
          const labels = f.get('label');
          if (labels && !labels.every((l) => labelMatches(v.labels, l))) return false;
          if (dangling !== undefined && (volumeUsers(ctx, v.name).length === 0) !== dangling) return false;
          return true;
        }).sort((a, b) => (a.name < b.name ? -1 : 1));
        return { status: 200, json: { Volumes: list.map((v) => volumeView(v)), Warnings: [] } };
      },
    },
    {
      method: 'POST', path: '/volumes/create', handler: async (req) => {
        const w = parseBody<VolumeCreateWire>(req.body, VOLUME_CREATE, { required: false });
        const v = await ctl.createVolume({ name: w.Name ?? '', driver: w.Driver ?? '', driverOpts: w.DriverOpts ?? {}, labels: w.Labels ?? {} });
        return { status: 201, json: volumeView(v) };
      },
    },
    {
      method: 'POST', path: '/volumes/prune', handler: async (req) => {
        const f = parseFilters(req.query.get('filters'), ['label', 'label!', 'all']);
        // API 1.42 (Docker 23) prunes anonymous volumes only, unless all=true.
        const all = boolFilter(f, 'all') ?? !versionAtLeast(req.version, '1.42');
        const r = await ctl.pruneVolumes({ label: f.get('label') ?? [], labelNot: f.get('label!') ?? [], all });
        return { status: 200, json: { VolumesDeleted: r.names, SpaceReclaimed: r.bytes } };
      },
    },
    {
      method: 'GET', path: '/volumes/{name}', handler: (req) => ({ status: 200, json: volumeView(findVolume(ctx, req.params.name ?? '')) }),
    },
    {
      // moby answers so outside a swarm: only cluster volumes can be updated.
      method: 'PUT', path: '/volumes/{name}', handler: () => {
        throw new CnmError('UNAVAILABLE', 'volume update only valid for cluster volumes, but swarm is unavailable');
      },
    },
    {
      method: 'DELETE', path: '/volumes/{name}', handler: async (req) => {
        await ctl.removeVolume(req.params.name ?? '', boolParam(req.query, 'force'));
        return { status: 204 };
      },
    },
  ];
}


/** GET /system/df's Volumes: each with its size on disk and the containers that mount it. */
export async function volumesDf(ctl: Controller): Promise<VolumeWire[]> {
  const out: VolumeWire[] = [];
  for (const v of [...ctl.state.volumes.values()]) {
    out.push(volumeView(v, { size: await dirSize(v.mountpoint), refCount: volumeUsers(ctl.ctx, v.name).length }));
  }
  return out;
}
