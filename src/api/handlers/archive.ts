// docker cp: HEAD, GET and PUT /containers/{id}/archive?path= (M
// api/server/router/container/copy.go); docker diff: GET
// /containers/{id}/changes; docker export and docker commit. The stat of the path travels as
// base64 JSON in X-Docker-Container-Path-Stat; bodies are tars.
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Controller } from '../../core/controller.ts';
import { containerChanges, copyInto, pathStat, tarOf } from '../../core/container-fs.ts';
import { rootfsDirOf } from '../../images/rootfs.ts';
import { layerFromUpper } from '../../images/layer-from-upper.ts';
import { emitContainer } from '../../core/events.ts';
import type { PathStat } from '../../core/container-fs.ts';
import { logDirOf } from '../../core/process-ops.ts';
import { invalid } from '../../model/errors.ts';
import { boolParam } from '../filters.ts';
import type { ApiRequest, Route } from '../router.ts';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';
const statHeader = (s: PathStat): string => Buffer.from(JSON.stringify(s)).toString('base64');

function pathOf(req: ApiRequest): string {
  const p = req.query.get('path');
  if (!p) throw invalid('path is required: give path=/PATH/IN/CONTAINER');
  return p.startsWith('/') ? p : `/${p}`;
}

export function archiveRoutes(ctl: Controller): Route[] {
  const stat = (req: ApiRequest): Promise<PathStat> => {
    const path = pathOf(req);
    return ctl.withRootfs(req.params.id ?? '', async (root, sbx) => (await pathStat(root, path, sbx.name)).stat);
  };
  return [
    {
      method: 'GET', path: '/containers/{id}/changes', handler: async (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        const images = ctl.ctx.images;
        if (!sbx.imageId || !images) throw invalid(`container ${sbx.name} runs the host's files, not an image: it has no layer of its own to compare`);
        const rec = images.resolve(sbx.imageId);
        const lowers = await Promise.all([...rec.chainIds].reverse().map(async (c) => (await images.store.layer(c)).dir));
        const changes = await containerChanges(join(rootfsDirOf(logDirOf(ctl.ctx, sbx)), 'upper'), lowers);
        return { status: 200, json: changes.length ? changes : null };
      },
    },
    {
      // docker commit: the container's writable layer over its image's
      // layers, its config as the new image's defaults (M
      // api/server/router/container/container_routes.go postCommit).
      method: 'POST', path: '/commit', handler: async (req) => {
        const sbx = ctl.state.findSandbox(req.query.get('container') ?? '');
        const images = ctl.ctx.images;
        if (!sbx.imageId || !images) throw invalid(`container ${sbx.name} runs the host's files, not an image: there is no layer of its own to commit`);
        const base = ((await images.config(sbx.imageId)).config ?? {}) as Record<string, unknown>;
        const rec = await images.commit({
          imageId: sbx.imageId,
          containerId: sbx.id,
          cmd: sbx.cmd,
          config: {
            ...base,
            Cmd: sbx.command?.cmd ?? null,
            Entrypoint: sbx.command?.entrypoint ?? null,
            Env: sbx.env,
            WorkingDir: sbx.run.workingDir,
            User: sbx.run.user,
            Labels: sbx.labels,
          },
        }, layerFromUpper(join(rootfsDirOf(logDirOf(ctl.ctx, sbx)), 'upper')), {
          repo: req.query.get('repo') ?? '',
          tag: req.query.get('tag') ?? '',
          comment: req.query.get('comment') ?? '',
          author: req.query.get('author') ?? '',
          changes: req.query.getAll('changes'),
        });
        emitContainer(ctl.ctx.events, sbx, 'commit', { comment: req.query.get('comment') ?? '', imageID: rec.id, imageRef: req.query.get('repo') ?? '' });
        return { status: 201, json: { Id: rec.id } };
      },
    },
    {
      // docker export: the container's whole root as one tar (its own layer
      // over the image's; not its volumes or bind mounts, as in Docker).
      method: 'GET', path: '/containers/{id}/export', handler: (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        if (!sbx.imageId) throw invalid(`container ${sbx.name} runs the host's files, not an image: there is no root of its own to export`);
        return {
          status: 200,
          headers: { 'Content-Type': 'application/x-tar' },
          stream: (res, closed) => ctl.withRootfs(sbx.id, async (root) => {
            const tar = tarOf(`${root}/.`);
            for await (const chunk of tar.stream) {
              if (closed.aborted) break;
              if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
            }
            await tar.done.catch(() => undefined);
          }),
        };
      },
    },
    {
      method: 'HEAD', path: '/containers/{id}/archive', handler: async (req) => ({ status: 200, headers: { [STAT_HEADER]: statHeader(await stat(req)) } }),
    },
    {
      method: 'GET', path: '/containers/{id}/archive', handler: async (req) => {
        const s = await stat(req);
        const path = pathOf(req);
        return {
          status: 200,
          headers: { 'Content-Type': 'application/x-tar', [STAT_HEADER]: statHeader(s) },
          stream: (res, closed) => ctl.withRootfs(req.params.id ?? '', async (root, sbx) => {
            const { host } = await pathStat(root, path, sbx.name);
            const tar = tarOf(host);
            for await (const chunk of tar.stream) {
              if (closed.aborted) break;
              if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
            }
            await tar.done.catch(() => undefined);
            // moby daemon/archive_unix.go: docker cp out of a container.
            emitContainer(ctl.ctx.events, sbx, 'archive-path');
          }),
        };
      },
    },
    {
      method: 'PUT', path: '/containers/{id}/archive', streamBody: true, handler: async (req) => {
        const dir = pathOf(req);
        if (!req.stream) throw invalid('the archive to copy is the request body');
        await ctl.withRootfs(req.params.id ?? '', (root, sbx) => copyInto(root, dir, req.stream!,
          join(logDirOf(ctl.ctx, sbx), `cp-${randomBytes(4).toString('hex')}.tmp`),
          { noOverwriteDirNonDir: boolParam(req.query, 'noOverwriteDirNonDir'), container: sbx.name })
          .then(() => emitContainer(ctl.ctx.events, sbx, 'extract-to-dir')));
        return { status: 200 };
      },
    },
  ];
}
