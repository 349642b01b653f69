// /images and /system/df: the image store as the Engine API shows it
// (PROTOCOLS.md §1.5–1.6; M api/server/router/image/image_routes.go).
import { volumesDf } from './volumes.ts';
import type { Controller } from '../../core/controller.ts';
import type { ImageService, ImageView, JsonMessage } from '../../core/image-service.ts';
import type { Credentials } from '../../images/registry/index.ts';
import { labelMatches } from '../../core/network-ops.ts';
import { invalid } from '../../model/errors.ts';
import { containerSummary } from '../convert.ts';
import { boolParam, parseFilters } from '../filters.ts';
import type { Filters } from '../filters.ts';
import { jsonMessages } from '../json-messages.ts';
import { parseBody } from '../validate.ts';
import type { Shape } from '../validate.ts';
import type { ApiRequest, ApiResponse, Route } from '../router.ts';

const AUTH_BODY: Shape = { username: 'string', password: 'string', serveraddress: 'string', email: 'string', identitytoken: 'string', registrytoken: 'string', auth: 'string' };

const versionBelow = (v: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a < major || (a === major && b < minor);
};

const unix = (iso: unknown): number => {
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
};

const labelsOf = (v: ImageView): Record<string, string> => ((v.config.config as { Labels?: Record<string, string> } | undefined)?.Labels ?? {});

/** Go's path.Match, as Docker matches `reference=` patterns. */
function globMatch(pattern: string, s: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 1);
      if (j < 0) throw invalid(`invalid reference filter ${JSON.stringify(pattern)}: syntax error in pattern`);
      re += `[${pattern.slice(i + 1, j).replace(/^\^/, '^').replace(/\\/g, '\\\\')}]`;
      i = j;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(s);
}

export function imageSummary(v: ImageView, version: string, containers = -1): Record<string, unknown> {
  const old = versionBelow(version, 1, 43);
  return {
    Id: v.rec.id,
    ParentId: '',
    RepoTags: v.repoTags.length || !old ? v.repoTags : ['<none>:<none>'],
    RepoDigests: v.repoDigests.length || !old ? v.repoDigests : ['<none>@<none>'],
    Created: unix(v.config.created),
    Size: v.size,
    SharedSize: -1,
    ...(versionBelow(version, 1, 44) ? { VirtualSize: v.size } : {}),
    Labels: labelsOf(v),
    Containers: containers,
  };
}

/** The image's config as inspect shows it: Docker's keys, null where the image has none. */
function imageConfig(v: ImageView): Record<string, unknown> {
  const c = (v.config.config ?? {}) as Record<string, unknown>;
  return {
    Hostname: '', Domainname: '', User: c.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: false, OpenStdin: false, StdinOnce: false,
    Env: c.Env ?? null, Cmd: c.Cmd ?? null, Image: '', Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null, OnBuild: c.OnBuild ?? null, Labels: c.Labels ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...(c.Shell ? { Shell: c.Shell } : {}),
  };
}

async function imageInspect(svc: ImageService, v: ImageView, req: ApiRequest): Promise<Record<string, unknown>> {
  const layers = await Promise.all([...v.rec.chainIds].reverse().map((c) => svc.store.layer(c)));
  const config = imageConfig(v);
  // compose 1.29 reads ContainerConfig.Volumes when it recreates a container
  // and crashes without it (docker/compose#11742); Docker dropped the field
  // in API 1.45, so it is sent to older clients and to compose 1.x.
  const compose1 = /^docker-compose\/1\./.test(String(req.headers['user-agent'] ?? ''));
  const legacy = versionBelow(req.version, 1, 45) || compose1;
  return {
    Id: v.rec.id,
    RepoTags: v.repoTags,
    RepoDigests: v.repoDigests,
    Parent: '',
    Comment: v.config.comment ?? '',
    Created: v.config.created ?? '',
    ...(legacy ? { Container: '', ContainerConfig: { ...config, Cmd: null, Entrypoint: null, Volumes: null } } : {}),
    DockerVersion: v.config.docker_version ?? '',
    Author: v.config.author ?? '',
    Config: config,
    Architecture: v.config.architecture ?? '',
    ...(v.config.variant ? { Variant: v.config.variant } : {}),
    Os: v.config.os ?? '',
    Size: v.size,
    ...(versionBelow(req.version, 1, 44) ? { VirtualSize: v.size } : {}),
    GraphDriver: { Name: 'overlay', Data: { LowerDir: layers.map((l) => l.dir).join(':') } },
    RootFS: { Type: 'layers', Layers: v.rec.diffIds },
    Metadata: { LastTagTime: v.rec.created },
  };
}

/** X-Registry-Auth: base64url JSON {username, password, serveraddress}; "e30=" ({}) when logged out. */
function credentialsOf(req: ApiRequest): Credentials | undefined {
  const h = req.headers['x-registry-auth'];
  if (typeof h !== 'string' || !h) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    throw invalid('invalid X-Registry-Auth header: expected base64url-encoded JSON {"username","password"}');
  }
  const a = (v ?? {}) as Record<string, unknown>;
  if (typeof a.username === 'string' && a.username && typeof a.password === 'string') return { username: a.username, password: a.password };
  return undefined;
}

/** Go's path.Match of a reference= pattern against a name:tag or name@digest, or its name alone (reference.FamiliarMatch). */
const refMatches = (pattern: string, ref: string): boolean => {
  const at = ref.includes('@') ? ref.indexOf('@') : ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.lastIndexOf(':') : -1;
  return globMatch(pattern, ref) || (at > 0 && globMatch(pattern, ref.slice(0, at)));
};

/**
 * The list filters. A reference= filter also narrows what is shown: an
 * image is listed with the tags and digests that match (as Docker lists it).
 */
function listFilter(f: Filters): (v: ImageView) => ImageView | undefined {
  return (v0) => {
    let v = v0;
    const refs = f.get('reference');
    if (refs) {
      const keep = (r: string): boolean => refs.some((p) => refMatches(p, r));
      v = { ...v, repoTags: v.repoTags.filter(keep), repoDigests: v.repoDigests.filter(keep) };
      if (!v.repoTags.length && !v.repoDigests.length) return undefined;
    }
    const dangling = f.get('dangling');
    if (dangling?.length) {
      const want = dangling[0] === 'true' || dangling[0] === '1';
      if (want !== (v0.repoTags.length === 0)) return undefined;
    }
    const labels = f.get('label');
    if (labels && !labels.every((l) => labelMatches(labelsOf(v), l))) return undefined;
    return v;
  };
}

/** before= / since=: images created before or after a named one. */
async function timeFilter(svc: ImageService, f: Filters): Promise<(v: ImageView) => boolean> {
  const at = async (name: string): Promise<number> => Date.parse(String((await svc.config(svc.resolve(name).id)).created ?? '')) || 0;
  const before = f.get('before')?.[0];
  const since = f.get('since')?.[0];
  const b = before !== undefined ? await at(before) : Infinity;
  const s = since !== undefined ? await at(since) : -Infinity;
  return (v) => {
    const t = Date.parse(String(v.config.created ?? '')) || 0;
    return t < b && t > s;
  };
}

/** prune's until=: a duration (10m, 24h), a Unix time or an RFC 3339 date. */
function untilTime(s: string): number {
  const d = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(s);
  if (d) {
    const mult: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
    return Date.now() - Number(d[1]) * mult[d[2]!]!;
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw invalid(`invalid until filter ${JSON.stringify(s)}: expected a duration (24h), a Unix time or an RFC 3339 date`);
  return t;
}

export function imageRoutes(ctl: Controller, svc: ImageService): Route[] {
  const usedBy = (id: string): number => [...ctl.state.sandboxes.values()].filter((s) => s.imageId === id).length;
  return [
    {
      method: 'GET', path: '/images/json', handler: async (req) => {
        const f = parseFilters(req.query.get('filters'), ['reference', 'dangling', 'label', 'before', 'since']);
        const keep = listFilter(f);
        const inTime = await timeFilter(svc, f);
        const list = (await svc.list()).map(keep).filter((v): v is ImageView => v !== undefined && inTime(v))
          .sort((a, b) => unix(b.config.created) - unix(a.config.created) || a.rec.id.localeCompare(b.rec.id));
        return { status: 200, json: list.map((v) => imageSummary(v, req.version)) };
      },
    },
    {
      method: 'POST', path: '/images/create', streamBody: true, handler: async (req) => {
        const fromImage = req.query.get('fromImage');
        const fromSrc = req.query.get('fromSrc');
        const platform = req.query.get('platform') ?? '';
        if (fromImage) {
          const credentials = credentialsOf(req);
          return jsonMessages(
            (emit) => svc.pull(fromImage, req.query.get('tag') ?? '', { ...(credentials ? { credentials } : {}), ...(platform ? { platform } : {}), emit }),
            // Docker's first line goes out once the manifest is fetched: a
            // missing image or a refused login is a plain HTTP error.
            (m: JsonMessage) => !(m.status ?? '').startsWith('Pulling from '),
          );
        }
        if (fromSrc) {
          let body: AsyncIterable<Uint8Array>;
          if (fromSrc === '-') body = req.stream ?? (async function* () { /* empty */ })();
          else {
            const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(fromSrc) ? fromSrc : `http://${fromSrc}`;
            const r = await fetch(url).catch((e: unknown) => { throw invalid(`cannot fetch ${url}: ${(e as Error).message}`); });
            if (!r.ok || !r.body) throw invalid(`cannot fetch ${url}: HTTP ${r.status}`);
            body = r.body;
          }
          return jsonMessages((emit) => svc.import(body, {
            repo: req.query.get('repo') ?? '',
            tag: req.query.get('tag') ?? '',
            message: req.query.get('message') ?? '',
            changes: req.query.getAll('changes'),
            ...(platform ? { platform } : {}),
            emit,
          }));
        }
        throw invalid('give fromImage=NAME to pull an image or fromSrc=- (with the tar as the body) or fromSrc=URL to import one');
      },
    },
    {
      method: 'POST', path: '/images/load', streamBody: true, handler: (req) => {
        if (!req.stream) throw invalid('docker load needs the image tar as the request body');
        return jsonMessages((emit) => svc.load(req.stream!, emit));
      },
    },
    {
      method: 'GET', path: '/images/get', handler: (req) => saveResponse(svc, req.query.getAll('names')),
    },
    {
      method: 'POST', path: '/images/prune', handler: async (req) => {
        const f = parseFilters(req.query.get('filters'), ['dangling', 'until', 'label', 'label!']);
        const d = f.get('dangling')?.[0];
        if (d !== undefined && !['true', 'false', '1', '0'].includes(d)) throw invalid(`invalid filter 'dangling=${d}': expected true or false`);
        const all = d === 'false' || d === '0';
        const until = f.get('until')?.[0];
        const cutoff = until !== undefined ? untilTime(until) : Infinity;
        const { deleted, reclaimed } = await svc.prune(all, (v) => {
          if (!((Date.parse(String(v.config.created ?? '')) || 0) < cutoff)) return true;
          const with_ = f.get('label');
          if (with_ && !with_.every((l) => labelMatches(labelsOf(v), l))) return true;
          const without = f.get('label!');
          if (without && without.some((l) => labelMatches(labelsOf(v), l))) return true;
          return false;
        });
        return { status: 200, json: { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed } };
      },
    },
    {
      method: 'GET', path: '/images/{name*}/json', handler: async (req) => {
        const v = await svc.view(svc.resolve(req.params.name ?? ''));
        return { status: 200, json: await imageInspect(svc, v, req) };
      },
    },
    {
      method: 'GET', path: '/images/{name*}/history', handler: async (req) => {
        const v = await svc.view(svc.resolve(req.params.name ?? ''));
        const layers = await Promise.all(v.rec.chainIds.map((c) => svc.store.layer(c)));
        const hist = Array.isArray(v.config.history) ? (v.config.history as Record<string, unknown>[]) : [];
        let li = 0;
        const rows = (hist.length ? hist : layers.map((): Record<string, unknown> => ({}))).map((h) => {
          const size = h.empty_layer ? 0 : (layers[li++]?.size ?? 0);
          return { Id: '<missing>', Created: unix(h.created ?? v.config.created), CreatedBy: String(h.created_by ?? ''), Tags: null as string[] | null, Size: size, Comment: String(h.comment ?? '') };
        }).reverse();
        if (rows[0]) {
          rows[0].Id = v.rec.id;
          rows[0].Tags = v.repoTags.length ? v.repoTags : null;
        }
        return { status: 200, json: rows };
      },
    },
    {
      method: 'POST', path: '/images/{name*}/tag', handler: async (req) => {
        await svc.tag(req.params.name ?? '', req.query.get('repo') ?? '', req.query.get('tag') ?? '');
        return { status: 201 };
      },
    },
    {
      method: 'GET', path: '/images/{name*}/get', handler: (req) => saveResponse(svc, [req.params.name ?? '']),
    },
    {
      method: 'DELETE', path: '/images/{name*}', handler: async (req) => {
        const out = await svc.remove(req.params.name ?? '', boolParam(req.query, 'force'));
        return { status: 200, json: out };
      },
    },
    {
      // docker system prune / builder prune: cnm builds no images, so it
      // holds no build cache; nothing to prune, said as Docker says it.
      method: 'POST', path: '/build/prune', handler: () => ({ status: 200, json: { CachesDeleted: null, SpaceReclaimed: 0 } }),
    },
    {
      // docker login: the daemon checks the credentials against the registry.
      method: 'POST', path: '/auth', handler: async (req) => {
        const a = parseBody<{ username?: string; password?: string; serveraddress?: string }>(req.body, AUTH_BODY);
        const server = (a.serveraddress ?? '').replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
        if (!server) throw invalid('serveraddress is empty: give the registry host[:port] to log in to');
        await svc.login(server, { username: a.username ?? '', password: a.password ?? '' });
        return { status: 200, json: { Status: 'Login Succeeded', IdentityToken: '' } };
      },
    },
    {
      method: 'GET', path: '/system/df', handler: async (req) => {
        const images = await svc.list();
        const sbx = [...ctl.state.sandboxes.values()];
        return {
          status: 200,
          json: {
            LayersSize: await svc.layerBytes(),
            Images: images.map((v) => imageSummary(v, req.version, usedBy(v.rec.id))),
            Containers: sbx.map((s) => ({ ...containerSummary(ctl.state, s), SizeRw: 0, SizeRootFs: 0 })),
            Volumes: await volumesDf(ctl),
            BuildCache: [],
          },
        };
      },
    },
  ];
}

async function saveResponse(svc: ImageService, names: string[]): Promise<ApiResponse> {
  if (!names.length) throw invalid('give the images to save: names=NAME (once per image)');
  for (const n of names) svc.resolve(n);
  const pack = await svc.save(names);
  return {
    status: 200,
    headers: { 'Content-Type': 'application/x-tar' },
    stream: async (res, closed) => {
      for await (const chunk of pack) {
        if (closed.aborted) { pack.destroy(); return; }
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      }
    },
  };
}
