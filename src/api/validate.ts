// Checks a decoded JSON body against the shape a handler expects, the way
// Go's decoder does for Docker: wrong types are a 400 naming the field.
// Unknown fields are ignored, as Docker's decoder ignores them.
import { invalid } from '../model/errors.ts';

/** 'strings': Docker's StrSlice (Cmd, Entrypoint), a string or a list of strings. */
type Kind = 'string' | 'boolean' | 'number' | 'object' | 'array' | 'stringMap' | 'stringArray' | 'strings';

/** A JSON object whose keys are data (port specs, network names), each value of one shape. */
export interface MapOf { mapOf: Kind | Shape | [Shape] }

export interface Shape { [field: string]: Kind | Shape | [Shape] | MapOf }

const isMapOf = (k: unknown): k is MapOf => typeof k === 'object' && k !== null && !Array.isArray(k) && 'mapOf' in k;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function check(value: unknown, kind: Kind | Shape | [Shape] | MapOf, path: string): void {
  if (value === null || value === undefined) return; // Go leaves the zero value
  const fail = (want: string) => {
    throw invalid(`invalid JSON: cannot unmarshal ${describe(value)} into field ${path} of type ${want}`);
  };
  if (Array.isArray(kind)) {
    if (!Array.isArray(value)) fail('array');
    (value as unknown[]).forEach((v, i) => check(v, kind[0], `${path}[${i}]`));
    return;
  }
  if (isMapOf(kind)) {
    if (typeof value !== 'object' || Array.isArray(value)) fail('object');
    for (const [k, v] of Object.entries(value as object)) check(v, kind.mapOf, `${path}[${JSON.stringify(k)}]`);
    return;
  }
  if (typeof kind === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) fail('object');
    for (const [k, sub] of Object.entries(kind)) check((value as Record<string, unknown>)[k], sub, path ? `${path}.${k}` : k);
    return;
  }
  switch (kind) {
    case 'string': if (typeof value !== 'string') fail('string'); break;
    case 'boolean': if (typeof value !== 'boolean') fail('bool'); break;
    case 'number': if (typeof value !== 'number' || !Number.isFinite(value)) fail('number'); break;
    case 'object': if (typeof value !== 'object' || Array.isArray(value)) fail('object'); break;
    case 'array': if (!Array.isArray(value)) fail('array'); break;
    case 'stringMap':
      if (typeof value !== 'object' || Array.isArray(value)) fail('map[string]string');
      for (const [k, v] of Object.entries(value as object)) if (typeof v !== 'string') throw invalid(`invalid JSON: cannot unmarshal ${describe(v)} into field ${path}.${k} of type string`);
      break;
    case 'strings':
      if (typeof value === 'string') break;
      if (!Array.isArray(value)) fail('[]string');
      (value as unknown[]).forEach((v, i) => { if (typeof v !== 'string') throw invalid(`invalid JSON: cannot unmarshal ${describe(v)} into field ${path}[${i}] of type string`); });
      break;
    case 'stringArray':
      if (!Array.isArray(value)) fail('[]string');
      (value as unknown[]).forEach((v, i) => { if (typeof v !== 'string') throw invalid(`invalid JSON: cannot unmarshal ${describe(v)} into field ${path}[${i}] of type string`); });
      break;
  }
}

/** Parses a request body as a JSON object of the given shape. */
export function parseBody<T>(raw: string, shape: Shape, opts: { required: boolean } = { required: true }): T {
  if (!raw.trim()) {
    if (opts.required) throw invalid('request body is empty: expected a JSON object');
    return {} as T;
  }
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw invalid(`invalid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalid(`invalid JSON: expected an object, got ${describe(v)}`);
  }
  check(v, shape, '');
  return v as T;
}

export const ENDPOINT_SETTINGS: Shape = {
  IPAMConfig: { IPv4Address: 'string', IPv6Address: 'string', LinkLocalIPs: 'stringArray' },
  Links: 'stringArray',
  Aliases: 'stringArray',
  MacAddress: 'string',
  DriverOpts: 'stringMap',
  GwPriority: 'number',
};

export const NETWORK_CREATE: Shape = {
  Name: 'string',
  CheckDuplicate: 'boolean',
  Driver: 'string',
  Scope: 'string',
  Internal: 'boolean',
  Attachable: 'boolean',
  Ingress: 'boolean',
  ConfigOnly: 'boolean',
  ConfigFrom: { Network: 'string' },
  EnableIPv4: 'boolean',
  EnableIPv6: 'boolean',
  IPAM: { Driver: 'string', Config: [{ Subnet: 'string', IPRange: 'string', Gateway: 'string', AuxiliaryAddresses: 'stringMap' }], Options: 'stringMap' },
  Options: 'stringMap',
  Labels: 'stringMap',
};

export const CONNECT: Shape = { Container: 'string', EndpointConfig: ENDPOINT_SETTINGS };
export const DISCONNECT: Shape = { Container: 'string', Force: 'boolean' };

const PORT_BINDING: Shape = { HostIp: 'string', HostPort: 'string' };

const MOUNT: Shape = {
  Type: 'string',
  Source: 'string',
  Target: 'string',
  ReadOnly: 'boolean',
  Consistency: 'string',
  BindOptions: { Propagation: 'string', NonRecursive: 'boolean', CreateMountpoint: 'boolean' },
  VolumeOptions: { NoCopy: 'boolean', Labels: 'stringMap', DriverConfig: { Name: 'string', Options: 'stringMap' }, Subpath: 'string' },
  TmpfsOptions: { SizeBytes: 'number', Mode: 'number' },
};

export const VOLUME_CREATE: Shape = { Name: 'string', Driver: 'string', DriverOpts: 'stringMap', Labels: 'stringMap' };

export const CONTAINER_CREATE: Shape = {
  Hostname: 'string',
  Domainname: 'string',
  Cmd: 'strings',
  Entrypoint: 'strings',
  Image: 'string',
  Env: 'stringArray',
  Labels: 'stringMap',
  ExposedPorts: 'object',
  Volumes: 'object',
  User: 'string',
  WorkingDir: 'string',
  Tty: 'boolean',
  OpenStdin: 'boolean',
  StdinOnce: 'boolean',
  AttachStdin: 'boolean',
  AttachStdout: 'boolean',
  AttachStderr: 'boolean',
  HostConfig: {
    ConsoleSize: 'array',
    NetworkMode: 'string',
    Binds: 'stringArray',
    Mounts: [MOUNT],
    Tmpfs: 'stringMap',
    Memory: 'number',
    NanoCpus: 'number',
    PidsLimit: 'number',
    Privileged: 'boolean',
    Init: 'boolean',
    RestartPolicy: { Name: 'string', MaximumRetryCount: 'number' },
    LogConfig: { Type: 'string', Config: 'stringMap' },
    Dns: 'stringArray',
    DnsSearch: 'stringArray',
    DnsOptions: 'stringArray',
    ExtraHosts: 'stringArray',
    AutoRemove: 'boolean',
    PortBindings: { mapOf: [PORT_BINDING] },
    PublishAllPorts: 'boolean',
  },
  NetworkingConfig: { EndpointsConfig: { mapOf: ENDPOINT_SETTINGS } },
};

export const EXEC_CREATE: Shape = {
  Cmd: 'strings',
  Env: 'stringArray',
  WorkingDir: 'string',
  User: 'string',
  Tty: 'boolean',
  AttachStdin: 'boolean',
  AttachStdout: 'boolean',
  AttachStderr: 'boolean',
  Privileged: 'boolean',
  DetachKeys: 'string',
  ConsoleSize: 'array',
};

export const EXEC_START: Shape = { Detach: 'boolean', Tty: 'boolean', ConsoleSize: 'array' };
