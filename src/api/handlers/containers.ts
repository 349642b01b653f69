// /containers: sandboxes as the Engine API shows containers.
import { once } from 'node:events';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Controller } from '../../core/controller.ts';
import { runDirOf } from '../../core/endpoint-ops.ts';
import { CnmError, invalid } from '../../model/errors.ts';
import { labelMatches } from '../../core/network-ops.ts';
import type { PortBinding, SandboxRecord } from '../../model/records.ts';
import { logDirOf, logPathOf } from '../../core/process-ops.ts';
import { treeBytes } from '../../core/disk-usage.ts';
import { rootfsDirOf } from '../../images/rootfs.ts';
import { readLogs, toLogTime } from '../../logs/json-file.ts';
import type { CreateSandboxRequest } from '../../core/sandbox-ops.ts';
import { containerInspect, containerSummary, statusOf } from '../convert.ts';
import { boolParam, parseFilters } from '../filters.ts';
import type { Route } from '../router.ts';
import { CONTAINER_CREATE, parseBody } from '../validate.ts';
import type { ContainerCreateWire, PortBindingWire } from '../wire.ts';
import { attachmentFromWire } from './networks.ts';
import { runConfigFromWire } from '../run-config.ts';
import { frame, streamContentType } from '../stdcopy.ts';
import { parseSignal } from '../signal.ts';

function toList(v: string[] | string | null | undefined): string[] {
  if (v === null || v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

export function portsFromWire(pb: Record<string, PortBindingWire[] | null> | null | undefined): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, list] of Object.entries(pb ?? {})) {
    const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(key);
    const port = Number(m?.[1]);
    if (!m || port < 1 || port > 65535) throw invalid(`invalid port "${key}": expected PORT[/tcp|udp|sctp] with PORT 1-65535`);
    const proto = (m[2] ?? 'tcp') as PortBinding['proto'];
    if (!Array.isArray(list) && list !== null) throw invalid(`invalid port bindings for ${key}: expected a list`);
    for (const b of list?.length ? list : [{}]) {
      const hp = b.HostPort ?? '';
      const r = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(hp);
      const lo = Number(r?.[1] ?? 0);
      const hi = Number(r?.[2] ?? r?.[1] ?? 0);
      if (hp && (!r || lo < 1 || hi > 65535 || hi < lo)) {
        throw invalid(`invalid host port "${hp}" for ${key}: expected a port or range within 1-65535`);
      }
      const hostIp = (b.HostIp ?? '').replace(/^\[|\]$/g, '');
      if (hostIp && isIP(hostIp) === 0) throw invalid(`invalid host IP "${b.HostIp}" for ${key}: expected an IP address`);
      out.push({ proto, containerPort: port, hostIp, hostPort: lo, ...(hi !== lo ? { hostPortEnd: hi } : {}) });
    }
  }
  return out;
}

export function createFromWire(w: ContainerCreateWire, name: string, version: string): CreateSandboxRequest {
  const hc = w.HostConfig ?? {};
  const ports = portsFromWire(hc.PortBindings);
  // -P: every exposed port not bound explicitly gets an ephemeral host port.
  if (hc.PublishAllPorts) {
    const bound = new Set(ports.map((p) => `${p.containerPort}/${p.proto}`));
    const exposed = portsFromWire(Object.fromEntries(Object.keys(w.ExposedPorts ?? {}).map((k) => [k, null])));
    ports.push(...exposed.filter((p) => !bound.has(`${p.containerPort}/${p.proto}`)));
  }
  const eps = w.NetworkingConfig?.EndpointsConfig ?? {};
  // Without an image the two are simply the command; with one, each may fall back to the image's.
  const entrypoint = w.Entrypoint === undefined || w.Entrypoint === null ? null : toList(w.Entrypoint);
  return {
    name,
    hostname: w.Hostname ?? '',
    domainname: w.Domainname ?? '',
    cmd: toList(w.Cmd),
    entrypoint,
    env: w.Env ?? [],
    image: w.Image ?? '',
    labels: w.Labels ?? {},
    networkMode: hc.NetworkMode === 'default' ? 'bridge' : (hc.NetworkMode ?? ''),
    // The docker CLI names the default network "default".
    networks: Object.entries(eps).map(([ref, es]) => ({ ref: ref === 'default' ? 'bridge' : ref, att: attachmentFromWire(es, version) })),
    dns: hc.Dns ?? [],
    dnsSearch: hc.DnsSearch ?? [],
    dnsOptions: hc.DnsOptions ?? [],
    extraHosts: hc.ExtraHosts ?? [],
    ports,
    publishAll: !!hc.PublishAllPorts,
    autoRemove: !!hc.AutoRemove,
    run: runConfigFromWire(w),
  };
}


/**
 * ancestor=IMAGE (name, tag, ID or short ID): containers of that image or
 * of an image built on it (its layers a prefix of theirs), as in Docker.
 */
function ancestorMatcher(ctl: Controller, ref: string): (s: SandboxRecord) => boolean {
  const images = ctl.ctx.images;
  let base: string[] | undefined;
  try { base = images?.resolve(ref).chainIds; } catch { /* no such image: only the name as given can match */ }
  return (s) => {
    if (s.image === ref) return true;
    if (!base || !s.imageId || !images) return false;
    let chains: string[];
    try { chains = images.resolve(s.imageId).chainIds; } catch { return false; }
    return base.length <= chains.length && base.every((c, i) => chains[i] === c);
  };
}

export function containerRoutes(ctl: Controller): Route[] {
  const ctx = ctl.ctx;
  return [
    {
      method: 'GET', path: '/containers/json', handler: async (req) => {
        const all = boolParam(req.query, 'all');
        const f = parseFilters(req.query.get('filters'), ['name', 'id', 'status', 'label', 'network', 'ancestor', 'volume']);
        const ancestors = (f.get('ancestor') ?? []).map((a) => ancestorMatcher(ctl, a));
        const list = [...ctl.state.sandboxes.values()].filter((s) => {
          if (!all && s.state !== 'running' && !f.has('status')) return false;
          const names = f.get('name');
          if (names && !names.some((n) => s.name.includes(n.replace(/^\//, '')))) return false;
          const ids = f.get('id');
          if (ids && !ids.some((i) => s.id.startsWith(i))) return false;
          const st = f.get('status');
          if (st && !st.includes(statusOf(s))) return false;
          // label=KEY and label=KEY=VALUE; several are ANDed, as in Docker.
          const labels = f.get('label');
          if (labels && !labels.every((l) => labelMatches(s.labels, l))) return false;
          if (ancestors.length && !ancestors.some((m) => m(s))) return false;
          const nets = f.get('network');
          if (nets && !nets.some((n) => s.attachments.some((a) => a.networkId.startsWith(n) || ctl.state.networks.get(a.networkId)?.name === n))) return false;
          // volume=NAME or volume=/container/path (moby: a mount's name or destination).
          const vols = f.get('volume');
          if (vols && !vols.some((v) => s.run.mounts.some((m) => (m.type === 'volume' && m.source === v) || m.destination === v))) return false;
          return true;
        }).sort((a, b) => (a.created < b.created ? 1 : -1));
        const rows = list.map((s) => containerSummary(ctl.state, s));
        // size=1 (docker ps --size): the writable layer, and with the image's.
        if (boolParam(req.query, 'size')) {
          await Promise.all(list.map(async (s, i) => {
            const rw = s.imageId ? await treeBytes(join(rootfsDirOf(logDirOf(ctl.ctx, s)), 'upper')) : 0;
            let image = 0;
            try { image = s.imageId && ctl.ctx.images ? await ctl.ctx.images.store.size(s.imageId) : 0; } catch { /* image gone */ }
            Object.assign(rows[i]!, { SizeRw: rw, SizeRootFs: rw + image });
          }));
        }
        return { status: 200, json: rows };
      },
    },
    {
      method: 'POST', path: '/containers/create', handler: async (req) => {
        const w = parseBody<ContainerCreateWire>(req.body, CONTAINER_CREATE);
        const sbx = await ctl.createSandbox(createFromWire(w, req.query.get('name') ?? '', req.version));
        return { status: 201, json: { Id: sbx.id, Warnings: ctl.createWarnings(sbx) } };
      },
    },
    {
      method: 'GET', path: '/containers/{id}/json', handler: (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        return {
          status: 200,
          json: containerInspect(ctl.state, sbx, { runDir: runDirOf(ctx, sbx), logPath: logPathOf(ctx, sbx), runtime: ctx.runtime.describe() }),
        };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/start', handler: async (req) => {
        const r = await ctl.startSandbox(req.params.id ?? '');
        return { status: r === 'started' ? 204 : 304 };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/stop', handler: async (req) => {
        const t = req.query.get('t') ?? req.query.get('timeout');
        const timeout = t === null ? 10 : Number(t);
        if (!Number.isFinite(timeout)) throw invalid(`invalid timeout "${t}": expected seconds`);
        const r = await ctl.stopSandbox(req.params.id ?? '', timeout < 0 ? 3600 : timeout);
        return { status: r === 'stopped' ? 204 : 304 };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/kill', handler: async (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        const signal = parseSignal(req.query.get('signal') ?? '');
        if (sbx.state !== 'running') throw new CnmError('CONFLICT', `cannot kill container: ${sbx.name}: container ${sbx.id} is not running`);
        // SIGKILL stops it for good (restart policies leave it); any other
        // signal is passed on, as the CLI's signal proxy sends them.
        await ctl.killSandbox(sbx.id, signal);
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/restart', handler: async (req) => {
        const t = Number(req.query.get('t') ?? 10);
        await ctl.restartSandbox(req.params.id ?? '', Number.isFinite(t) ? t : 10);
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/wait', handler: async (req) => {
        // Unknown containers are a 404 before anything is sent.
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        const condition = req.query.get('condition') || 'not-running';
        if (condition !== 'not-running' && condition !== 'next-exit' && condition !== 'removed') {
          throw invalid(`invalid condition: ${JSON.stringify(condition)}`);
        }
        const laterAbort = new AbortController();
        const later = ctl.waitSandbox(sbx.id, condition, laterAbort.signal).then(
          (code) => ({ StatusCode: code, Error: null }),
          (e: unknown) => ({ StatusCode: -1, Error: { Message: (e as Error).message } }),
        );
        return { status: 200, later, laterAbort };
      },
    },
    {
      method: 'GET', path: '/containers/{id}/logs', handler: (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        const wantOut = boolParam(req.query, 'stdout');
        const wantErr = boolParam(req.query, 'stderr');
        if (!wantOut && !wantErr) throw invalid('you must choose at least one stream: expected stdout=1 and/or stderr=1');
        const tailQ = req.query.get('tail') ?? 'all';
        if (tailQ !== 'all' && !/^-?\d+$/.test(tailQ)) throw invalid(`invalid tail "${tailQ}": expected a number of lines or "all"`);
        const tail = tailQ === 'all' || Number(tailQ) < 0 ? 'all' as const : Number(tailQ);
        const time = (k: string): string | undefined => {
          const v = req.query.get(k);
          if (!v || v === '0') return undefined;
          try { return toLogTime(v); } catch (e) { throw invalid(`invalid ${k}: ${(e as Error).message}`); }
        };
        const since = time('since');
        const until = time('until');
        const follow = boolParam(req.query, 'follow');
        const stamps = boolParam(req.query, 'timestamps');
        const id = sbx.id;
        // With a terminal there is one stream, sent raw: the CLI reads it so
        // when Config.Tty is set (docker/cli container/logs.go).
        const tty = sbx.run.tty;
        return {
          status: 200,
          headers: { 'Content-Type': streamContentType(tty, req.version) },
          stream: async (res, closed) => {
            const records = readLogs(logPathOf(ctx, sbx), {
              tail, follow, signal: closed, ...(since ? { since } : {}), ...(until ? { until } : {}),
              running: () => ctl.state.sandboxes.get(id)?.state === 'running',
            });
            for await (const batch of records) {
              const frames: Buffer[] = [];
              for (const r of batch) {
                if (r.stream === 'stdout' ? !wantOut : !wantErr) continue;
                const text = Buffer.from(stamps ? `${r.time} ${r.log}` : r.log);
                frames.push(tty ? text : frame(r.stream === 'stdout' ? 1 : 2, text));
              }
              if (frames.length && !res.write(Buffer.concat(frames))) {
                await Promise.race([once(res, 'drain'), once(res, 'close')]);
              }
              if (closed.aborted) return;
            }
          },
        };
      },
    },
    {
      method: 'DELETE', path: '/containers/{id}', handler: async (req) => {
        await ctl.removeSandbox(req.params.id ?? '', boolParam(req.query, 'force'), boolParam(req.query, 'v'));
        return { status: 204 };
      },
    },
  ];
}
