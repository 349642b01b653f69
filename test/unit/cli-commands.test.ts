// The client commands against a fake Engine API on a unix socket: the
// requests they send, what they print, and their exit statuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fakeDaemon, runCli } from './cli-harness.ts';
import type { FakeDaemon, Recorded, Reply } from './cli-harness.ts';

const NET = {
  Name: 'net1', Id: '0123456789abcdef0123456789abcdef', Created: '2026-01-01T00:00:00Z', Scope: 'local', Driver: 'bridge',
  EnableIPv4: true, EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.1.0.0/24', Gateway: '10.1.0.1' }] },
  Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Options: {}, Labels: {}, Containers: {},
};

const CONTAINER = {
  Id: 'feedface0123456789', Name: '/web', State: { Status: 'running', Running: true, Pid: 4242, ExitCode: 0 },
  NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }], '53/udp': null, '9/tcp': [{ HostIp: '0.0.0.0', HostPort: '9' }] } },
};

function frame(stream: 1 | 2, text: string): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(Buffer.byteLength(text), 4);
  return Buffer.concat([h, Buffer.from(text)]);
}

const notFound = (what: string): Reply => ({ status: 404, json: { message: `No such container: ${what}` } });

/** A sandbox that exits when the test says so; its followed log ends then. */
const slow = { exit: (_code: number) => {}, ended: Promise.resolve() };

function route(r: Recorded): Reply | undefined | Promise<Reply> {
  const p = r.path;
  if (r.method === 'POST' && p === '/containers/c-slow/wait') {
    let end = (): void => {};
    slow.ended = new Promise((res) => { end = res; });
    return new Promise((resolve) => { slow.exit = (code) => { end(); resolve({ json: { StatusCode: code, Error: null } }); }; });
  }
  if (r.method === 'GET' && p === '/containers/c-slow/logs') {
    // A followed log: the daemon ends it when the sandbox stops.
    setImmediate(() => slow.exit(5));
    return slow.ended.then(() => ({ raw: Buffer.concat([frame(1, 'line 1\n'), frame(1, 'line 2\n')]) }));
  }
  if (r.method === 'POST' && p === '/networks/create') return { status: 201, json: { Id: 'new-network-id', Warning: '' } };
  if (r.method === 'GET' && p === '/networks') return { json: [{ ...NET, Name: 'net10' }, NET] };
  if (r.method === 'GET' && p === '/networks/net1') return { json: NET };
  if (r.method === 'GET' && p.startsWith('/networks/')) return { status: 404, json: { message: `network ${p.split('/')[2]} not found` } };
  if (r.method === 'POST' && /^\/networks\/net1\/(connect|disconnect)$/.test(p)) return { status: 200 };
  if (r.method === 'DELETE' && p === '/networks/net1') return { status: 204 };
  if (r.method === 'DELETE' && p === '/networks/busy') return { status: 403, json: { message: 'error while removing network: network busy has active endpoints' } };
  if (r.method === 'DELETE' && p.startsWith('/networks/')) return { status: 404, json: { message: `network ${p.split('/')[2]} not found` } };
  if (r.method === 'POST' && p === '/networks/prune') return { json: { NetworksDeleted: ['n1', 'n2'] } };
  if (r.method === 'POST' && p === '/containers/create') {
    const body = r.body as { Cmd: string[] };
    if (body.Cmd[0] === 'fail-create') return { status: 400, json: { message: 'network nope not found' } };
    const ids: Record<string, string> = { exit3: 'c-exit3', slow: 'c-slow' };
    return { status: 201, json: { Id: ids[body.Cmd[0] ?? ''] ?? 'c-ok', Warnings: [] } };
  }
  if (r.method === 'POST' && /^\/containers\/c-[a-z0-9]+\/start$/.test(p)) return { status: 204 };
  if (r.method === 'POST' && p === '/containers/c-exit3/wait') return { json: { StatusCode: 3, Error: null } };
  if (r.method === 'POST' && p === '/containers/c-ok/wait') return { json: { StatusCode: 0, Error: null } };
  if (r.method === 'GET' && /^\/containers\/c-[a-z0-9]+\/logs$/.test(p)) return { raw: Buffer.concat([frame(1, 'hello out\n'), frame(2, 'hello err\n')]) };
  if (r.method === 'DELETE' && p.startsWith('/containers/c-')) return { status: 204 };
  if (r.method === 'GET' && p === '/containers/json') return { json: [] };
  if (r.method === 'GET' && p === '/containers/web/json') return { json: CONTAINER };
  if (r.method === 'GET' && p === '/containers/stopped/json') return { json: { ...CONTAINER, Id: 'deadbeef', State: { Running: false, Pid: 0 } } };
  // exec: the ID names the command; `sh` echoes stdin and exits 7.
  if (r.method === 'POST' && p === '/containers/web/exec') return { status: 201, json: { Id: `e-${(r.body as { Cmd: string[] }).Cmd[0]}` } };
  if (r.method === 'POST' && p === '/containers/stopped/exec') return { status: 409, json: { message: 'container deadbeef is not running' } };
  if (r.method === 'POST' && p === '/exec/e-ip/start') return { upgrade: { output: Buffer.concat([frame(1, 'lo UP\n'), frame(2, 'warn\n')]) } };
  if (r.method === 'POST' && p === '/exec/e-sh/start') return { upgrade: { output: frame(2, 'reading\n'), echoStdin: true } };
  if (r.method === 'GET' && /^\/exec\/e-[a-z]+\/json$/.test(p)) return { json: { ID: p.split('/')[2], Running: false, ExitCode: p.includes('e-sh') ? 7 : 0 } };
  if (p === '/containers/web' || p.startsWith('/containers/web/')) return { status: 204 };
  if (p.startsWith('/containers/')) return notFound(p.split('/')[2] ?? '');
  return undefined;
}

let d: FakeDaemon;
before(async () => { d = await fakeDaemon(route); });
after(async () => { await d.close(); });

const last = (method: string, path: string): Recorded | undefined => [...d.requests].reverse().find((r) => r.method === method && r.path === path);

test('network create sends docker\'s body and prints the ID', async () => {
  const r = await runCli(d.socket, ['network', 'create', '-d', 'bridge', '--subnet', '10.5.0.0/24,fd05::/64', '--gateway', '10.5.0.1',
    '--ip-range=10.5.0.128/25', '--aux-address', 'host=10.5.0.2', '--ipv6', '--ipv4=true', '--internal', '--label', 'a=b', '--label', 'flag',
    '-o', 'com.docker.network.bridge.name=br5', '--ipam-opt', 'x=y', 'net5']);
  assert.deepEqual(r, { code: 0, stdout: 'new-network-id\n', stderr: '' });
  assert.deepEqual(last('POST', '/networks/create')?.body, {
    Name: 'net5', Driver: 'bridge', Scope: '', EnableIPv4: true, EnableIPv6: true,
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.5.0.0/24', IPRange: '10.5.0.128/25', Gateway: '10.5.0.1', AuxiliaryAddresses: { host: '10.5.0.2' } }, { Subnet: 'fd05::/64' }], Options: { x: 'y' } },
    Internal: true, Attachable: false, Ingress: false, ConfigOnly: false,
    Options: { 'com.docker.network.bridge.name': 'br5' }, Labels: { a: 'b', flag: '' },
  });
});

test('network create: --ipv6 does not swallow the name; --ipv4=false; IPv4/IPv6 left out unless given', async () => {
  assert.equal((await runCli(d.socket, ['network', 'create', '--ipv6', 'n6'])).code, 0);
  const b1 = last('POST', '/networks/create')?.body as Record<string, unknown>;
  assert.equal(b1.Name, 'n6');
  assert.equal(b1.EnableIPv6, true);
  assert.equal('EnableIPv4' in b1, false);
  assert.equal((await runCli(d.socket, ['network', 'create', '--ipv4=false', '--ipv6=0', 'n4'])).code, 0);
  const b2 = last('POST', '/networks/create')?.body as Record<string, unknown>;
  assert.equal(b2.EnableIPv4, false);
  assert.equal(b2.EnableIPv6, false);
});

test('usage errors: bad flags exit 125, wrong argument counts exit 1, bad IPAM flags exit 1 before any request', async () => {
  const n = d.requests.length;
  const unknown = await runCli(d.socket, ['network', 'ls', '--bogus']);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /unknown option '--bogus'[\s\S]*Run 'cnm network ls --help' for more information/);
  assert.equal((await runCli(d.socket, ['network', 'create', '--ipv6=maybe', 'x'])).code, 125);
  assert.equal((await runCli(d.socket, ['network', 'create'])).code, 1);
  assert.equal((await runCli(d.socket, ['ps', 'extra'])).code, 1);
  assert.equal((await runCli(d.socket, ['network', 'connect', '--gw-priority', 'high', 'n', 'c'])).code, 125);
  assert.equal((await runCli(d.socket, ['network', 'ls', '-f', 'novalue'])).code, 125);
  const ipam = await runCli(d.socket, ['network', 'create', '--gateway', '10.0.0.1', 'x']);
  assert.equal(ipam.code, 1);
  assert.match(ipam.stderr, /every ip-range or gateway must have a corresponding subnet/);
  assert.equal(d.requests.length, n);
});

test('network ls: natural name order, filters sent, -q', async () => {
  const r = await runCli(d.socket, ['network', 'ls', '-f', 'driver=bridge', '-f', 'Name = net']);
  assert.equal(r.stdout, 'NETWORK ID     NAME      DRIVER    SCOPE\n0123456789ab   net1      bridge    local\n0123456789ab   net10     bridge    local\n');
  assert.deepEqual(JSON.parse(last('GET', '/networks')?.query.get('filters') ?? ''), { driver: ['bridge'], name: ['net'] });
  assert.equal((await runCli(d.socket, ['network', 'ls', '-q', '--no-trunc'])).stdout, `${NET.Id}\n${NET.Id}\n`);
});

test('network inspect: found items as an indented array, then errors, exit 1', async () => {
  const ok = await runCli(d.socket, ['network', 'inspect', 'net1']);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, `${JSON.stringify([NET], null, 4)}\n`);
  const mixed = await runCli(d.socket, ['network', 'inspect', '-f', '{{.Name}} {{range .IPAM.Config}}{{.Gateway}}{{end}}', 'net1', 'nope']);
  assert.deepEqual(mixed, { code: 1, stdout: 'net1 10.1.0.1\n', stderr: 'Error response from daemon: network nope not found\n' });
  const none = await runCli(d.socket, ['network', 'inspect', 'nope']);
  assert.deepEqual(none, { code: 1, stdout: '[]\n', stderr: 'Error response from daemon: network nope not found\n' });
});

test('network connect/disconnect bodies', async () => {
  assert.equal((await runCli(d.socket, ['network', 'connect', '--ip', '10.1.0.9', '--ip6', 'fd00::9', '--alias', 'a,b', '--alias', 'c',
    '--driver-opt', 'k=v', '--gw-priority', '-5', 'net1', 'web'])).code, 0);
  assert.deepEqual(last('POST', '/networks/net1/connect')?.body, {
    Container: 'web',
    EndpointConfig: { IPAMConfig: { IPv4Address: '10.1.0.9', IPv6Address: 'fd00::9' }, Links: null, Aliases: ['a', 'b', 'c'], DriverOpts: { k: 'v' }, GwPriority: -5 },
  });
  assert.equal((await runCli(d.socket, ['network', 'disconnect', '-f', 'net1', 'web'])).code, 0);
  assert.deepEqual(last('POST', '/networks/net1/disconnect')?.body, { Container: 'web', Force: true });
});

test('network rm: prints each removed name, reports each failure, exit 1 if any failed; -f ignores missing', async () => {
  const r = await runCli(d.socket, ['network', 'rm', 'net1', 'busy', 'gone']);
  assert.deepEqual(r, {
    code: 1, stdout: 'net1\n',
    stderr: 'Error response from daemon: error while removing network: network busy has active endpoints\nError response from daemon: network gone not found\n',
  });
  assert.deepEqual(await runCli(d.socket, ['network', 'rm', '-f', 'gone', 'net1']), { code: 0, stdout: 'net1\n', stderr: '' });
});

test('network prune: asks first, cancels on anything but y', async () => {
  const warning = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';
  const n = d.requests.length;
  assert.deepEqual(await runCli(d.socket, ['network', 'prune'], { stdin: 'n\n' }), { code: 0, stdout: warning, stderr: '' });
  assert.deepEqual(await runCli(d.socket, ['network', 'prune'], { stdin: '' }), { code: 0, stdout: warning, stderr: '' });
  assert.equal(d.requests.length, n);
  const yes = await runCli(d.socket, ['network', 'prune'], { stdin: 'y\n' });
  assert.equal(yes.stdout, `${warning}Deleted Networks:\nn1\nn2\n\n`);
  const forced = await runCli(d.socket, ['network', 'prune', '-f', '--filter', 'until=24h']);
  assert.equal(forced.stdout, 'Deleted Networks:\nn1\nn2\n\n');
  assert.deepEqual(JSON.parse(last('POST', '/networks/prune')?.query.get('filters') ?? ''), { until: ['24h'] });
});

test('run -d: the create body, then start; prints the ID', async () => {
  const r = await runCli(d.socket, ['run', '-d', '--rm', '--name', 'w1', '--hostname', 'h1', '--network', 'net1', '--network', 'name=net2,alias=x,ip=10.2.0.4',
    '--ip', '10.1.0.5', '--ip6', 'fd00::5', '--network-alias', 'web', '--net-alias', 'www', '--dns', '10.0.0.53', '--dns-search', 'example.org',
    '--add-host', 'db:10.0.0.7', '-p', '8080:80', '-p', '127.0.0.1:5353:53/udp', '-P', '-e', 'A=1', '-l', 'k=v', '--gw-priority', '3',
    '--', 'sleep', '100']);
  assert.deepEqual(r, { code: 0, stdout: 'c-ok\n', stderr: '' });
  const create = last('POST', '/containers/create');
  assert.equal(create?.query.get('name'), 'w1');
  assert.deepEqual(create?.body, {
    Hostname: 'h1', Domainname: '', Cmd: ['sleep', '100'], Image: '', Env: ['A=1'], Labels: { k: 'v' },
    ExposedPorts: { '80/tcp': {}, '53/udp': {} },
    HostConfig: {
      NetworkMode: 'net1', Dns: ['10.0.0.53'], DnsSearch: ['example.org'], DnsOptions: [], ExtraHosts: ['db:10.0.0.7'], AutoRemove: true,
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] }, PublishAllPorts: true,
    },
    NetworkingConfig: {
      EndpointsConfig: {
        net1: { IPAMConfig: { IPv4Address: '10.1.0.5', IPv6Address: 'fd00::5' }, Aliases: ['web', 'www'], GwPriority: 3 },
        net2: { IPAMConfig: { IPv4Address: '10.2.0.4' }, Aliases: ['x'] },
      },
    },
  });
  assert.ok(last('POST', '/containers/c-ok/start'));
});

test('run without networks uses bridge; options after the command belong to the command', async () => {
  assert.equal((await runCli(d.socket, ['run', '-d', '--', 'sh', '-c', 'echo --rm', '-d'])).code, 0);
  const body = last('POST', '/containers/create')?.body as { Cmd: string[]; HostConfig: { NetworkMode: string; AutoRemove: boolean }; NetworkingConfig: unknown };
  assert.deepEqual(body.Cmd, ['sh', '-c', 'echo --rm', '-d']);
  assert.equal(body.HostConfig.NetworkMode, 'bridge');
  assert.equal(body.HostConfig.AutoRemove, false);
  assert.deepEqual(body.NetworkingConfig, { EndpointsConfig: {} });
});

test('run in the foreground: waits, prints the output, exits with the status, --rm removes it', async () => {
  const r = await runCli(d.socket, ['run', '--rm', '--', 'exit3']);
  assert.deepEqual(r, { code: 3, stdout: 'hello out\n', stderr: 'hello err\n' });
  // The CLI removes it itself: the daemon's AutoRemove would delete the logs on exit.
  assert.equal((last('POST', '/containers/create')?.body as { HostConfig: { AutoRemove: boolean } }).HostConfig.AutoRemove, false);
  assert.equal(last('DELETE', '/containers/c-exit3')?.query.get('force'), '1');
  const ok = await runCli(d.socket, ['run', '--', 'true']);
  assert.equal(ok.code, 0);
});

test('run in the foreground follows the log until the sandbox stops', async () => {
  const r = await runCli(d.socket, ['run', '--', 'slow']);
  assert.deepEqual(r, { code: 5, stdout: 'line 1\nline 2\n', stderr: '' });
  // One followed request, not polling.
  const logs = d.requests.filter((x) => x.path === '/containers/c-slow/logs');
  assert.equal(logs.length, 1);
  assert.equal(logs[0]?.query.get('follow'), '1');
});

test('run reports its own and the daemon\'s errors with status 125', async () => {
  const n = d.requests.length;
  const bad = await runCli(d.socket, ['run', '-p', '80/icmp', '--', 'x']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /^cnm: invalid port specification "80\/icmp": invalid protocol "icmp"/);
  assert.equal((await runCli(d.socket, ['run', '--dns', 'not-an-ip', '--', 'x'])).code, 125);
  assert.equal((await runCli(d.socket, ['run', '--add-host', 'nocolon', '--', 'x'])).code, 125);
  assert.equal((await runCli(d.socket, ['run', '--network', 'n', '--network', 'n', '--', 'x'])).code, 125);
  assert.equal(d.requests.length, n);
  const daemon = await runCli(d.socket, ['run', '--', 'fail-create']);
  assert.equal(daemon.code, 125);
  assert.match(daemon.stderr, /^cnm: Error response from daemon: network nope not found\n/);
  assert.equal((await runCli(d.socket, ['run', '--bogus', 'x'])).code, 125);
  assert.equal((await runCli(d.socket, ['run'])).code, 1);
});

test('ps, stop, start, rm: names printed, failures reported at the end with exit 1', async () => {
  const ps = await runCli(d.socket, ['ps', '-a', '-f', 'status=exited']);
  assert.equal(ps.stdout, 'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
  assert.equal(last('GET', '/containers/json')?.query.get('all'), '1');
  assert.deepEqual(await runCli(d.socket, ['stop', '-t', '3', 'web']), { code: 0, stdout: 'web\n', stderr: '' });
  assert.equal(last('POST', '/containers/web/stop')?.query.get('t'), '3');
  assert.deepEqual(await runCli(d.socket, ['stop', 'ghost', 'web']), { code: 1, stdout: 'web\n', stderr: 'Error response from daemon: No such container: ghost\n' });
  assert.deepEqual(await runCli(d.socket, ['start', 'ghost', 'web']), {
    code: 1, stdout: 'web\n', stderr: 'Error response from daemon: No such container: ghost\nError: failed to start containers: ghost\n',
  });
  assert.deepEqual(await runCli(d.socket, ['rm', '-f', 'ghost', 'web']), { code: 0, stdout: 'web\n', stderr: '' });
  assert.equal((await runCli(d.socket, ['rm', 'ghost'])).code, 1);
});

test('inspect: containers first, then networks; unknown names are "No such object"', async () => {
  const c = await runCli(d.socket, ['inspect', '-f', '{{.State.Pid}}', 'web']);
  assert.deepEqual(c, { code: 0, stdout: '4242\n', stderr: '' });
  const n = await runCli(d.socket, ['inspect', '--format', '{{.Driver}}', 'net1']);
  assert.deepEqual(n, { code: 0, stdout: 'bridge\n', stderr: '' });
  const none = await runCli(d.socket, ['inspect', 'nothing']);
  assert.deepEqual(none, { code: 1, stdout: '[]\n', stderr: 'Error: No such object: nothing\n' });
  const tplErr = await runCli(d.socket, ['inspect', '-f', '{{.State.Nope.X}}', 'web']);
  assert.equal(tplErr.code, 1);
  assert.match(tplErr.stderr, /template parsing error/);
});

test('logs, logs -n, logs -f, -t, --since; port', async () => {
  assert.deepEqual(await runCli(d.socket, ['logs', 'c-ok']), { code: 0, stdout: 'hello out\n', stderr: 'hello err\n' });
  // Tail, follow, timestamps and the time window are the daemon's to apply.
  await runCli(d.socket, ['logs', '-n', '0', 'c-ok']);
  assert.equal(last('GET', '/containers/c-ok/logs')?.query.get('tail'), '0');
  assert.equal((await runCli(d.socket, ['logs', '--tail', 'lots', 'c-ok'])).code, 125);
  assert.deepEqual(await runCli(d.socket, ['logs', '-f', '-t', '--since', '1700000000', 'c-ok']), { code: 0, stdout: 'hello out\n', stderr: 'hello err\n' });
  const q = last('GET', '/containers/c-ok/logs')?.query;
  assert.equal(q?.get('follow'), '1');
  assert.equal(q?.get('timestamps'), '1');
  assert.equal(q?.get('since'), '1700000000');
  assert.deepEqual(await runCli(d.socket, ['port', 'web']), { code: 0, stdout: '9/tcp -> 0.0.0.0:9\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n', stderr: '' });
  assert.deepEqual(await runCli(d.socket, ['port', 'web', '80']), { code: 0, stdout: '0.0.0.0:8080\n[::]:8080\n', stderr: '' });
  const none = await runCli(d.socket, ['port', 'web', '53/udp']);
  assert.deepEqual(none, { code: 1, stdout: '', stderr: "cnm: No public port '53/udp' published for web\n" });
});

test('exec: through the daemon\'s exec API (create, hijacked start, inspect), stdin with -i, exit status passed on', async () => {
  const ok = await runCli(d.socket, ['exec', 'web', 'ip', '-br', 'addr']);
  assert.deepEqual(ok, { code: 0, stdout: 'lo UP\n', stderr: 'warn\n' });
  assert.deepEqual(last('POST', '/containers/web/exec')?.body, {
    Cmd: ['ip', '-br', 'addr'], Env: [], WorkingDir: '', User: '', Tty: false, Privileged: false,
    AttachStdin: false, AttachStdout: true, AttachStderr: true, DetachKeys: '', ConsoleSize: [0, 0],
  });
  const start = last('POST', '/exec/e-ip/start');
  assert.equal(start?.upgrade, true);
  assert.deepEqual(start?.body, { Detach: false, Tty: false, ConsoleSize: [0, 0] });
  assert.ok(last('GET', '/exec/e-ip/json'), 'the exit code comes from exec inspect');
  const piped = await runCli(d.socket, ['exec', '-i', '-w', '/tmp', '-e', 'A=1', '-u', 'nobody', 'web', 'sh', '-c', 'cat; exit 7'], { stdin: 'hello\n' });
  assert.deepEqual(piped, { code: 7, stdout: 'hello\n', stderr: 'reading\n' });
  const body = last('POST', '/containers/web/exec')?.body as { AttachStdin: boolean; WorkingDir: string; Env: string[]; User: string };
  assert.deepEqual([body.AttachStdin, body.WorkingDir, body.Env, body.User], [true, '/tmp', ['A=1'], 'nobody']);
  const stopped = await runCli(d.socket, ['exec', 'stopped', 'true']);
  assert.deepEqual(stopped, { code: 1, stdout: '', stderr: 'Error response from daemon: container deadbeef is not running\n' });
  // As docker: -it needs a terminal on stdin.
  assert.deepEqual(await runCli(d.socket, ['exec', '-it', 'web', 'sh']), { code: 1, stdout: '', stderr: 'cnm: the input device is not a TTY\n' });
});
