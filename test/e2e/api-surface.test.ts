// What clients meet at the edges of what cnm serves: routes it does not
// implement answer clearly (and promptly), swarm routes
// answer as a Docker outside a swarm does, and the fields and filters
// docker-py and compose rely on are there. Each case runs the real docker
// CLI or docker-py against the daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { runSandbox } from '../helpers/sandbox.ts';

const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const hasDockerPy = spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('api-surface', privilegedSkipReason() ?? (hasDocker ? null : 'needs the docker CLI'));
// In CI a missing tool is a failure (setup installs python3-docker).
const pySkip = skip || skipUnlessCI('api-surface docker-py', hasDockerPy ? null : 'needs docker-py (python3-docker)');

describe(`Engine API surface${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  /** docker ARGS, killed after 30 s (code 124 then): attach used to hang. */
  const docker = (args: string[]) => run('timeout', ['-k', '5', '30', 'docker', ...args], { ...process.env, DOCKER_HOST: d.host });

  test('docker exec and docker attach are served (no longer 501) and return promptly', async () => {
    await runSandbox(d, 'target');
    const r = await docker(['exec', 'target', 'echo', 'served']);
    assert.deepEqual([r.code, r.stdout], [0, 'served\n'], r.stderr);
    // The docker CLI asks for the container's exit (POST /wait) before it
    // attaches and waits for that answer's headers: they must come at once.
    const raw = await d.client.raw('POST', '/containers/target/attach?stdout=1&stderr=1&logs=1');
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'application/vnd.docker.raw-stream');
  });

  test('every unserved route answers 501 naming it; unknown paths stay 404', async () => {
    for (const [method, path, route] of [
      ['GET', '/images/search?term=busybox', 'GET /images/search'],
      ['POST', '/images/library/busybox/push', 'POST /images/{name}/push'],
      ['POST', '/session', 'POST /session'],
      ['POST', '/build', 'POST /build'],
      ['GET', '/plugins', 'GET /plugins'],
      ['POST', '/containers/target/update', 'POST /containers/{id}/update'],
      ['GET', '/distribution/busybox/json', 'GET /distribution/{name}/json'],
    ] as const) {
      const r = await d.client.raw(method, path, method === 'POST' ? {} : undefined);
      assert.equal(r.status, 501, `${method} ${path}`);
      assert.equal((JSON.parse(r.body.toString()) as { message: string }).message, `cnm does not implement ${route} yet`);
    }
    assert.equal((await d.client.raw('GET', '/no/such/route')).status, 404);
  });

  test('swarm routes answer as a Docker outside a swarm: 503 "This node is not part of a swarm"', async () => {
    for (const [method, path] of [['GET', '/swarm'], ['POST', '/swarm/leave?force=1'], ['GET', '/nodes'], ['GET', '/services'],
      ['GET', '/tasks'], ['GET', '/secrets'], ['GET', '/configs']] as const) {
      const r = await d.client.raw(method, path, method === 'POST' ? {} : undefined);
      assert.equal(r.status, 503, `${method} ${path}`);
      assert.equal((JSON.parse(r.body.toString()) as { message: string }).message, 'This node is not part of a swarm');
    }
    const leave = await docker(['swarm', 'leave', '--force']);
    assert.match(leave.stderr, /Error response from daemon: This node is not part of a swarm/);
  });

  test('the label filter of /containers/json: label=key and label=key=value, ANDed', async () => {
    await runSandbox(d, 'web-a', { extra: { Labels: { tier: 'web', 'com.docker.compose.project': 'p1' } } });
    await runSandbox(d, 'db-a', { extra: { Labels: { tier: 'db', 'com.docker.compose.project': 'p1' } } });
    await runSandbox(d, 'web-b', { extra: { Labels: { tier: 'web', 'com.docker.compose.project': 'p2' } } });
    const names = async (...filters: string[]) => {
      const r = await docker(['ps', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await names('label=tier'), ['db-a', 'web-a', 'web-b']);
    assert.deepEqual(await names('label=tier=web'), ['web-a', 'web-b']);
    assert.deepEqual(await names('label=tier=web', 'label=com.docker.compose.project=p1'), ['web-a']);
    assert.deepEqual(await names('label=nosuch'), []);
  });

  test('container inspect has HostConfig.LogConfig', async () => {
    const r = await docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'target']);
    assert.deepEqual(JSON.parse(r.stdout), { Type: 'json-file', Config: { 'max-size': String(20 * 1024 * 1024), 'max-file': '5' } });
  });

  test('docker info reports the machine\'s memory and CPUs', async () => {
    const r = await docker(['info', '--format', '{{.MemTotal}} {{.NCPU}}']);
    const [mem, ncpu] = r.stdout.trim().split(' ').map(Number);
    const kb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    assert.equal(mem, kb * 1024);
    assert.ok((mem ?? 0) > 0);
    assert.equal(ncpu, availableParallelism());
  });

  test('--config-only is refused with a 400 and creates nothing', async () => {
    const r = await docker(['network', 'create', '--config-only', '--subnet', '10.77.0.0/24', 'cfg']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /config-only networks \(--config-only\) are not supported by cnm/);
    const ls = await docker(['network', 'ls', '--format', '{{.Name}}']);
    assert.doesNotMatch(ls.stdout, /\bcfg\b/);
  });

  test(`docker-py: leave_swarm(force=True) and containers.run()${pySkip ? ` (skipped: ${pySkip})` : ''}`, { skip: pySkip ?? false }, async () => {
    const script = [
      'import docker, sys',
      `c = docker.DockerClient(base_url="${d.host}")`,
      'assert c.api.leave_swarm(force=True) is True',
      '# Sandboxes run host binaries: no image. An image is refused, not ignored.',
      'out = c.containers.run("", ["sh", "-c", "echo from-py"], name="py-run", remove=True)',
      'sys.stdout.write(out.decode())',
      'try:',
      '    c.containers.create("busybox:latest", ["true"])',
      '    sys.exit("an image was silently accepted")',
      'except docker.errors.ImageNotFound as e:',
      '    assert "No such image: busybox:latest" in str(e), str(e)',
    ].join('\n');
    const r = await run('timeout', ['-k', '5', '60', 'python3', '-c', script], process.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from-py\n');
  });
});
