// Differential test: the real docker CLI and cnm run the same commands
// against the same fake daemon; their output, exit status and (normalised)
// request bodies must agree. Skipped where the docker CLI is not installed
// (a failure with CI=true).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeDaemon, runCli } from './cli-harness.ts';
import type { FakeDaemon, Recorded, Reply } from './cli-harness.ts';
import { skipUnlessCI } from '../helpers/ci.ts';

const hasDocker = spawnSync('docker', ['--version'], { encoding: 'utf8' }).status === 0;
const SKIP = skipUnlessCI('cli-docker-diff', hasDocker ? null : 'docker CLI not installed');

const NOW = Math.floor(Date.now() / 1000);
const NETWORKS = [
  {
    Name: 'net10', Id: '0123456789abcdef0123', Driver: 'bridge', Scope: 'local', Created: '2026-01-01T00:00:00.5Z', EnableIPv4: true, EnableIPv6: true,
    Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Labels: { team: 'a' },
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }] },
    Options: { 'com.docker.network.bridge.name': 'br-x' }, Containers: { c1: { Name: 'a', EndpointID: 'e', MacAddress: '', IPv4Address: '10.0.0.2/24', IPv6Address: '' } },
  },
  {
    Name: 'net2', Id: 'fedcba9876543210', Driver: 'bridge', Scope: 'local', Created: '2026-01-01T00:00:00Z', EnableIPv4: true, EnableIPv6: false,
    Internal: true, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Labels: {},
    IPAM: { Driver: 'default', Options: null, Config: [] }, Options: {}, Containers: {},
  },
];
const CONTAINERS = [{
  Id: 'c0ffee0123456789abcdef', Names: ['/web'], Image: '', ImageID: '', Command: 'sh -c "sleep 1000; echo done"', Created: NOW - 3700,
  Ports: [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 53, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 81, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 82, PublicPort: 82, Type: 'tcp' },
  ],
  Labels: { l: 'v' }, State: 'running', Status: 'Up 1 hour', HostConfig: { NetworkMode: 'net10' }, NetworkSettings: { Networks: { net10: {} } }, Mounts: [],
}];

function route(r: Recorded): Reply | undefined {
  if (r.path === '/_ping') return { raw: Buffer.from('OK'), contentType: 'text/plain', headers: { 'Api-Version': '1.50', OSType: 'linux' } };
  if (r.path === '/networks') return { json: NETWORKS };
  const net = NETWORKS.find((n) => r.path === `/networks/${n.Name}`);
  if (net && r.method === 'GET') return { json: net };
  if (r.path.startsWith('/networks/') && r.method === 'GET') return { status: 404, json: { message: `network ${r.path.split('/')[2]} not found` } };
  if (r.path === '/containers/json') return { json: CONTAINERS };
  if (r.path === '/networks/create') return { status: 201, json: { Id: 'abc123', Warning: '' } };
  if (/^\/networks\/[^/]+\/(connect|disconnect)$/.test(r.path)) return { status: 200 };
  return undefined;
}

/**
 * Drops what Go's omitempty (or a null) leaves out, so equal requests compare
 * equal; sorts IPAM.Config, which docker builds from a Go map (random order).
 */
function normalise(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) {
    const list = v.map((x) => normalise(x));
    return key === 'Config' ? list.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : list;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalise(x, k);
      const empty = n === null || n === '' || n === 0 || n === false || (typeof n === 'object' && Object.keys(n as object).length === 0);
      if (!empty) out[k] = n;
    }
    return out;
  }
  return v;
}

let d: FakeDaemon;
let config: string;
before(async () => {
  d = await fakeDaemon(route);
  config = mkdtempSync(join(tmpdir(), 'cnmt-dockercfg-'));
});
after(async () => {
  await d?.close();
  if (config) rmSync(config, { recursive: true, force: true });
});

function docker(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('docker', ['-H', `unix://${d.socket}`, ...args], { env: { ...process.env, DOCKER_CONFIG: config } }, (e, stdout) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout });
    });
  });
}

const bodies = (from: number): unknown[] => d.requests.slice(from).filter((r) => r.path !== '/_ping' && r.body !== undefined).map((r) => normalise(r.body));

const CASES: string[][] = [
  ['network', 'ls'], ['network', 'ls', '--no-trunc'], ['network', 'ls', '-q'], ['network', 'ls', '--format', 'json'],
  ['network', 'ls', '--format', 'table {{.Name}}\\t{{.Labels}}\\t{{.CreatedAt}}\\t{{.IPv6}}\\t{{.Internal}}'],
  ['network', 'ls', '--format', '{{.ID}}: {{.Name}} {{.Label "team"}}'],
  ['network', 'inspect', 'net10'], ['network', 'inspect', 'net10', 'nope'],
  ['network', 'inspect', '-f', '{{json .IPAM}} {{index .Options "com.docker.network.bridge.name"}} {{range .Containers}}{{.IPv4Address}}{{end}} {{len .Containers}}', 'net10', 'net2'],
  ['network', 'inspect', '-f', '{{range $k, $v := .Containers}}{{$k}}={{$v.Name}}{{end}} {{if .Internal}}internal{{else}}external{{end}}', 'net10', 'net2'],
  ['ps'], ['ps', '--no-trunc'], ['ps', '--format', 'json'], ['ps', '-q'],
  ['ps', '--format', 'table {{.Names}}\\t{{.Networks}}\\t{{.Labels}}\\t{{.State}}\\t{{.Ports}}'],
];

for (const args of CASES) {
  test(`same output as docker: ${args.join(' ')}`, { skip: SKIP }, async () => {
    const theirs = await docker(args);
    const ours = await runCli(d.socket, args);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.code, theirs.code);
  });
}

const BODY_CASES: string[][] = [
  ['network', 'create', '--subnet', '10.1.0.0/24', '--subnet', 'fd00::/64', '--gateway', 'fd00::1', '--ip-range', '10.1.0.0/25',
    '--aux-address', 'a=10.1.0.3', '--ipv6', '--label', 'x=y', '--label', 'z', '-o', 'k=v', '--ipam-opt', 'p=q', 'n1'],
  ['network', 'create', '--ipv4=false', '--internal', '--attachable', '-d', 'bridge', 'n2'],
  ['network', 'connect', '--ip', '10.0.0.5', '--ip6', 'fd00::5', '--alias', 'a,b', '--driver-opt', 'x=y', '--gw-priority', '5', 'net10', 'c1'],
  ['network', 'disconnect', '--force', 'net10', 'c1'],
];

for (const args of BODY_CASES) {
  test(`same request as docker: ${args.join(' ')}`, { skip: SKIP }, async () => {
    const n0 = d.requests.length;
    const theirs = await docker(args);
    const b0 = bodies(n0);
    const n1 = d.requests.length;
    const ours = await runCli(d.socket, args);
    assert.deepEqual(bodies(n1), b0);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.code, theirs.code);
  });
}
