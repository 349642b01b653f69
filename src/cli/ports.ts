// `run -p/--publish` specs to the API's PortBindings and ExposedPorts, as
// the docker CLI parses them (go-connections nat.ParsePortSpec):
// [HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTO], IPv6 host
// addresses in brackets ("[::1]:8080:80").
import { isIP } from 'node:net';
import type { PortBindingWire } from '../api/wire.ts';
import { CliError } from './cli-error.ts';

const PROTOS = ['tcp', 'udp', 'sctp'];
const MAX_PORT = 65535;

export interface PortPublish {
  /** "80/tcp": the key of PortBindings and ExposedPorts. */
  key: string;
  binding: PortBindingWire;
}

interface Range { start: number; end: number }

function parseRange(s: string, what: string, spec: string): Range {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  const start = Number(m?.[1]);
  const end = m?.[2] === undefined ? start : Number(m[2]);
  if (!m || start < 1 || end > MAX_PORT || end < start) {
    throw new CliError({ code: 'PORT_SPEC', spec, reason: `invalid ${what} "${s}": expected a port 1-65535 or a range like 8000-8010` });
  }
  return { start, end };
}

/** Splits "ip:host:container" from the right; the IP may itself contain ":" (IPv6). */
function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const ctr = parts[n - 1] ?? '';
  if (n === 1) return ['', '', ctr];
  if (n === 2) return ['', parts[0] ?? '', ctr];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2] ?? '', ctr];
}

export function parsePublish(spec: string): PortPublish[] {
  const bad = (reason: string): never => { throw new CliError({ code: 'PORT_SPEC', spec, reason }); };
  let rest = spec.trim();
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!PROTOS.includes(proto)) bad(`invalid protocol "${proto}": expected tcp, udp or sctp`);
  }
  const [rawIp, hostPort, ctrPort] = splitParts(rest);
  const ip = rawIp.startsWith('[') && rawIp.endsWith(']') ? rawIp.slice(1, -1) : rawIp;
  if (ip && !isIP(ip)) bad(`invalid IP address "${ip}"`);
  if (!ctrPort) bad('no container port specified');
  const ctr = parseRange(ctrPort, 'container port', spec);
  const host = hostPort ? parseRange(hostPort, 'host port', spec) : undefined;
  const ctrCount = ctr.end - ctr.start;
  const hostCount = host ? host.end - host.start : 0;
  // One container port may take its host port from a range; otherwise the
  // ranges map port by port and must be the same length.
  if (host && ctrCount !== hostCount && ctrCount !== 0) {
    bad(`invalid ranges specified for container and host ports: ${ctrPort} and ${hostPort}`);
  }
  const out: PortPublish[] = [];
  for (let i = 0; i <= ctrCount; i++) {
    let hp = '';
    if (host) hp = ctrCount === 0 && hostCount !== 0 ? `${host.start}-${host.end}` : String(host.start + i);
    out.push({ key: `${ctr.start + i}/${proto}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** `--expose PORT[-END][/PROTO]`. */
export function parseExpose(spec: string): string[] {
  const [ports = '', proto = 'tcp'] = spec.split('/');
  if (!PROTOS.includes(proto.toLowerCase())) throw new CliError({ code: 'PORT_SPEC', spec, reason: `invalid protocol "${proto}": expected tcp, udp or sctp` });
  const r = parseRange(ports, 'port', spec);
  return Array.from({ length: r.end - r.start + 1 }, (_x, i) => `${r.start + i}/${proto.toLowerCase()}`);
}

export function portBindings(specs: string[]): { bindings: Record<string, PortBindingWire[]>; exposed: Record<string, object> } {
  const bindings: Record<string, PortBindingWire[]> = {};
  const exposed: Record<string, object> = {};
  for (const s of specs) {
    for (const p of parsePublish(s)) {
      (bindings[p.key] ??= []).push(p.binding);
      exposed[p.key] = {};
    }
  }
  return { bindings, exposed };
}
