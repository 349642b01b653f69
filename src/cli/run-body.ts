// `cnm run` flags to the POST /containers/create body, mapped as the docker
// CLI maps them (cli/command/container/opts.go): one EndpointsConfig entry
// per --network, the per-endpoint flags on the first network.
import { isIP } from 'node:net';
import type { ContainerCreateWire, EndpointSettingsWire } from '../api/wire.ts';
import { CliError } from './cli-error.ts';
import { kvMap, parseIntFlag } from './flags.ts';
import { parseExpose, portBindings } from './ports.ts';

export interface RunOpts {
  detach?: boolean; rm?: boolean; name?: string; hostname?: string; domainname?: string;
  network: string[]; ip?: string; ip6?: string; networkAlias: string[]; macAddress?: string; linkLocalIp: string[]; gwPriority?: number;
  dns: string[]; dnsSearch: string[]; dnsOption: string[]; addHost: string[];
  publish: string[]; publishAll?: boolean; expose: string[]; env: string[]; label: string[];
  volume: string[]; tmpfs: string[]; user?: string; workdir?: string; memory?: string; cpus?: string; pidsLimit?: number;
  restart?: string; privileged?: boolean; init?: boolean; logOpt: string[];
  entrypoint?: string; pull?: string; quiet?: boolean; platform?: string;
}

const MEM_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** --memory 512m (docker's RAMInBytes: b, k, m, g). */
function memoryBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(v.trim());
  if (!m) bad('--memory', v, 'a size such as 512m or 1g');
  return Math.round(Number(m?.[1]) * (MEM_UNITS[(m?.[2] ?? '').toLowerCase()] ?? 1));
}

/** --cpus 1.5 -> NanoCpus. */
function nanoCpus(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) bad('--cpus', v, 'a positive number of CPUs such as 1.5');
  return Math.round(Number(v) * 1e9);
}

/** --restart no|always|unless-stopped|on-failure[:N]. */
function restartPolicy(v: string): { Name: string; MaximumRetryCount: number } {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(v);
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) bad('--restart', v, 'no, always, unless-stopped or on-failure[:max-retries]');
  return { Name: m?.[1] ?? 'no', MaximumRetryCount: Number(m?.[2] ?? 0) };
}

/** One --network value: a name, or docker's "name=NET,alias=A,ip=IP,..." form. */
interface NetworkAttach { target: string; ep: EndpointSettingsWire }

const bad = (flag: string, value: string, expected: string): never => {
  throw new CliError({ code: 'BAD_FLAG', flag, value, expected });
};

export function parseNetworkFlag(v: string): NetworkAttach {
  if (!v.includes('=')) return { target: v, ep: {} };
  const ep: EndpointSettingsWire = {};
  let target = '';
  for (const field of v.split(',')) {
    const i = field.indexOf('=');
    const k = field.slice(0, i).trim().toLowerCase();
    const val = field.slice(i + 1).trim();
    if (i < 0) bad('--network', v, 'name=NET[,alias=A][,ip=IP][,ip6=IP][,mac-address=MAC][,driver-opt=K=V][,gw-priority=N]');
    switch (k) {
      case 'name': target = val; break;
      case 'alias': (ep.Aliases ??= []).push(val); break;
      case 'ip': (ep.IPAMConfig ??= {}).IPv4Address = val; break;
      case 'ip6': (ep.IPAMConfig ??= {}).IPv6Address = val; break;
      case 'link-local-ip': ((ep.IPAMConfig ??= {}).LinkLocalIPs ??= []).push(val); break;
      case 'mac-address': ep.MacAddress = val; break;
      case 'driver-opt': Object.assign(ep.DriverOpts ??= {}, kvMap([val])); break;
      case 'gw-priority': ep.GwPriority = parseIntFlag(val); break;
      default: bad('--network', v, `a known option, not "${k}"`);
    }
  }
  if (!target) bad('--network', v, 'a network name (name=NET)');
  return { target, ep };
}

/** --add-host HOST:IP (or HOST=IP), sent as "HOST:IP" like docker. */
function extraHost(v: string): string {
  const i = v.includes('=') ? v.indexOf('=') : v.indexOf(':');
  const host = v.slice(0, i);
  let ip = v.slice(i + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (i <= 0 || (!isIP(ip) && ip !== 'host-gateway')) bad('--add-host', v, 'HOST:IP');
  return `${host}:${ip}`;
}

/** -e K=V, or -e K taking K's value from the CLI's environment (docker's ValidateEnv). */
function envEntry(v: string): string {
  if (v.includes('=')) {
    if (v.startsWith('=')) bad('--env', v, 'KEY=VALUE with a non-empty KEY');
    return v;
  }
  const val = process.env[v];
  return val === undefined ? v : `${v}=${val}`;
}

/**
 * The POST /containers/create body for `cnm run` flags and a command. With
 * an image, an empty command leaves the image's Cmd in force (Cmd omitted,
 * as docker sends null) and --entrypoint replaces its Entrypoint
 * (`--entrypoint ""` resets it: docker sends [""]). Without one, the
 * command is a host command (a sandbox).
 */
export function containerCreateBody(o: RunOpts, cmd: string[], autoRemove: boolean, image = ''): ContainerCreateWire {
  if (!image && o.entrypoint !== undefined) bad('--entrypoint', o.entrypoint, 'an IMAGE to run (a host command has no entrypoint: put it first after --)');
  for (const d of o.dns) if (!isIP(d)) bad('--dns', d, 'an IP address');
  if (o.ip && isIP(o.ip) !== 4) bad('--ip', o.ip, 'an IPv4 address');
  if (o.ip6 && isIP(o.ip6) !== 6) bad('--ip6', o.ip6, 'an IPv6 address');
  const attach = o.network.map(parseNetworkFlag);
  const endpoints: Record<string, EndpointSettingsWire> = {};
  // --ip, --ip6, --network-alias and friends apply to the first network, as in docker.
  const first: EndpointSettingsWire = {};
  if (o.ip || o.ip6 || o.linkLocalIp.length) {
    first.IPAMConfig = { IPv4Address: o.ip ?? '', IPv6Address: o.ip6 ?? '', ...(o.linkLocalIp.length ? { LinkLocalIPs: o.linkLocalIp } : {}) };
  }
  if (o.networkAlias.length) first.Aliases = o.networkAlias;
  if (o.macAddress) first.MacAddress = o.macAddress;
  if (o.gwPriority !== undefined) first.GwPriority = o.gwPriority;
  const mode = attach[0]?.target ?? 'bridge';
  attach.forEach((a, i) => {
    if (endpoints[a.target]) throw new CliError({ code: 'BAD_FLAG', flag: '--network', value: a.target, expected: 'each network once' });
    const ep = i === 0 ? mergeEndpoint(a.ep, first) : a.ep;
    endpoints[a.target] = ep;
  });
  if (!attach.length && Object.keys(first).length) endpoints[mode] = first;
  const { bindings, exposed } = portBindings(o.publish);
  for (const e of o.expose) for (const k of parseExpose(e)) exposed[k] = {};
  return {
    Hostname: o.hostname ?? '',
    Domainname: o.domainname ?? '',
    // Sandboxes run host binaries: no image, and the command is all there is.
    ...(!image || cmd.length ? { Cmd: cmd } : {}),
    Image: image,
    ...(image && o.entrypoint !== undefined ? { Entrypoint: [o.entrypoint] } : {}),
    Env: o.env.map(envEntry),
    Labels: kvMap(o.label),
    ExposedPorts: exposed,
    ...(o.user ? { User: o.user } : {}),
    ...(o.workdir ? { WorkingDir: o.workdir } : {}),
    HostConfig: {
      NetworkMode: mode,
      ...(o.volume.length ? { Binds: o.volume } : {}),
      // docker's --tmpfs: the first ':' splits path and options.
      ...(o.tmpfs.length ? { Tmpfs: Object.fromEntries(o.tmpfs.map((t) => [t.split(':')[0] ?? '', t.includes(':') ? t.slice(t.indexOf(':') + 1) : ''])) } : {}),
      ...(o.memory ? { Memory: memoryBytes(o.memory) } : {}),
      ...(o.cpus ? { NanoCpus: nanoCpus(o.cpus) } : {}),
      ...(o.pidsLimit !== undefined ? { PidsLimit: o.pidsLimit } : {}),
      ...(o.restart ? { RestartPolicy: restartPolicy(o.restart) } : {}),
      ...(o.privileged ? { Privileged: true } : {}),
      ...(o.init !== undefined ? { Init: o.init } : {}),
      ...(o.logOpt.length ? { LogConfig: { Type: 'json-file', Config: kvMap(o.logOpt) } } : {}),
      Dns: o.dns,
      DnsSearch: o.dnsSearch,
      DnsOptions: o.dnsOption,
      ExtraHosts: o.addHost.map(extraHost),
      AutoRemove: autoRemove,
      PortBindings: bindings,
      PublishAllPorts: !!o.publishAll,
    },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
}

function mergeEndpoint(a: EndpointSettingsWire, b: EndpointSettingsWire): EndpointSettingsWire {
  const out: EndpointSettingsWire = { ...a, ...b };
  if (a.IPAMConfig || b.IPAMConfig) out.IPAMConfig = { ...a.IPAMConfig, ...b.IPAMConfig };
  if (a.Aliases || b.Aliases) out.Aliases = [...(a.Aliases ?? []), ...(b.Aliases ?? [])];
  return out;
}
