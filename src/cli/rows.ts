// The per-row values `network ls` and `ps` templates see: docker's
// networkContext and ContainerContext (cli/command/formatter), as plain
// objects with docker's field names. Keys are sorted because docker
// marshals these contexts as Go maps (--format json).
import type { ContainerSummaryWire, NetworkWire } from '../api/wire.ts';
import type { ListSpec } from './format.ts';
import { MARSHAL_JSON, goJsonMarshal, goQuote } from './go-fmt.ts';

/** Docker's short IDs: the first 12 hex digits (stringid.TruncateID). */
export const SHORT_ID_LENGTH = 12;
export const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, SHORT_ID_LENGTH);

/** Docker's ps truncates COMMAND to 20 display columns with a trailing "…". */
const COMMAND_WIDTH = 20;
/** ... and each name in MOUNTS to 15. */
const MOUNT_WIDTH = 15;

/** Go's string comparison: by bytes, not by locale. */
const byteCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const sortKeys = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => byteCompare(a, b))) as T;

const labelsText = (labels: Record<string, string> | null | undefined): string =>
  Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Go's time.Time.String() for an RFC 3339 timestamp: "2006-01-02 15:04:05.999999999 -0700 MST". */
export function goTimeOf(rfc3339: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(rfc3339);
  if (!m) return rfc3339;
  const frac = (m[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '');
  const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[4]?.replace(':', '')} ${m[4]?.replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac} ${zone}`;
}

/** Go's time.Unix(sec, 0).String() in the local zone. */
export function goTimeOfUnix(sec: number): string {
  const d = new Date(sec * 1000);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const zone = `${sign}${pad2(Math.floor(Math.abs(off) / 60))}${pad2(Math.abs(off) % 60)}`;
  const name = off === 0 ? 'UTC' : zone;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zone} ${name}`;
}

/** go-units HumanDuration, as in docker ps's CREATED column. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60e3);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3600e3 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3600e3 / 24 / 365)} years`;
}

/** Docker's formatter.Ellipsis: cut to `max` columns, the last one "…". */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, max - 1).join('')}…`;
}

const joinHostPort = (ip: string, port: string): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

type PortWire = ContainerSummaryWire['Ports'][number];

/**
 * docker ps's PORTS column (formatter.DisplayablePorts): consecutive ports
 * with the same address and protocol collapse into ranges, host port equal
 * to container port groups as "IP:80-81->80-81/tcp", others list one by one.
 */
export function displayablePorts(ports: PortWire[]): string {
  const sorted = [...ports].sort((a, b) =>
    a.PrivatePort - b.PrivatePort || byteCompare(a.IP ?? '', b.IP ?? '') || (a.PublicPort ?? 0) - (b.PublicPort ?? 0) || byteCompare(a.Type, b.Type));
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const form = (key: string, g: { first: number; last: number }): string => {
    const slash = key.lastIndexOf('/');
    const ip = slash >= 0 ? key.slice(0, slash) : '';
    const proto = slash >= 0 ? key.slice(slash + 1) : key;
    let range = String(g.first);
    if (g.first !== g.last) range += `-${g.last}`;
    return ip ? `${joinHostPort(ip, range)}->${range}/${proto}` : `${range}/${proto}`;
  };
  for (const p of sorted) {
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        hostMappings.push(`${joinHostPort(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) { groups.set(key, { first: p.PrivatePort, last: p.PrivatePort }); continue; }
    if (p.PrivatePort === g.last + 1) { g.last = p.PrivatePort; continue; }
    result.push(form(key, g));
    groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
  }
  // Map iteration is insertion order: the order docker records its keys in.
  for (const [key, g] of groups) result.push(form(key, g));
  return [...result, ...hostMappings].join(', ');
}

export const NETWORK_LIST: ListSpec = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  raw: 'network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n',
  headers: {
    ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6',
    Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
  },
};

export interface NetworkRow {
  CreatedAt: string; Driver: string; ID: string; IPv4: string; IPv6: string; Internal: string; Labels: string; Name: string; Scope: string;
  Label: (name: unknown) => string;
  [MARSHAL_JSON]: () => string;
}

export function networkRow(n: NetworkWire, trunc: boolean): NetworkRow {
  const row = sortKeys({
    CreatedAt: goTimeOf(n.Created),
    Driver: n.Driver,
    ID: trunc ? shortId(n.Id) : n.Id,
    IPv4: String(!!n.EnableIPv4),
    IPv6: String(!!n.EnableIPv6),
    Internal: String(!!n.Internal),
    Labels: labelsText(n.Labels),
    Name: n.Name,
    Scope: n.Scope,
  });
  // Label is a method: JSON output leaves it out, as docker's does.
  return { ...row, Label: (name: unknown) => n.Labels?.[String(name)] ?? '', [MARSHAL_JSON]: () => goJsonMarshal(row) };
}

export const CONTAINER_LIST: ListSpec = {
  table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
  raw: 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n',
  headers: {
    ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS',
    State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES',
    Networks: 'NETWORKS',
  },
};

export interface ContainerRow {
  Command: string; CreatedAt: string; ID: string; Image: string; Labels: string; LocalVolumes: string; Mounts: string; Names: string;
  Networks: string; Platform: null; Ports: string; RunningFor: string; Size: string; State: string; Status: string;
  Label: (name: unknown) => string;
  [MARSHAL_JSON]: () => string;
}

export function containerRow(c: ContainerSummaryWire, trunc: boolean, now = Date.now()): ContainerRow {
  // Names carry a leading "/"; names with another "/" are legacy links, hidden when truncating.
  let names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  if (trunc) names = names.filter((n) => !n.includes('/')).slice(0, 1);
  const row = sortKeys({
    Command: goQuote(trunc ? ellipsis(c.Command, COMMAND_WIDTH) : c.Command),
    CreatedAt: goTimeOfUnix(c.Created),
    ID: trunc ? shortId(c.Id) : c.Id,
    // Sandboxes have no image; docker prints this placeholder for an empty one.
    Image: c.Image || '<no image>',
    Labels: labelsText(c.Labels),
    // docker's ContainerContext: mounts of the local driver; each mount's volume name or source, cut to 15.
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Mounts: (c.Mounts ?? []).map((m) => (trunc ? ellipsis(m.Name || m.Source, MOUNT_WIDTH) : m.Name || m.Source)).join(','),
    Names: names.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    Platform: null,
    Ports: displayablePorts(c.Ports ?? []),
    RunningFor: `${humanDuration(now - c.Created * 1000)} ago`,
    Size: '0B',
    State: c.State,
    Status: c.Status,
  });
  return { ...row, Label: (name: unknown) => c.Labels?.[String(name)] ?? '', [MARSHAL_JSON]: () => goJsonMarshal(row) };
}
