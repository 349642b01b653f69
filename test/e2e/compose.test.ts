// docker-compose 1.29 (Debian's) against cnm: a project of two services on
// two networks, one internal, with aliases, a static ipv4_address and a
// published port; up -d, ps, logs, exec, a second up that recreates
// nothing, stop, start and down.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';

const has = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
const missing = ['docker', 'docker-compose'].find((t) => !has(t));
const skip = skipUnlessCI('docker-compose', privilegedSkipReason() ?? (missing ? `needs ${missing} (scripts/setup.sh installs it)` : null));

const COMPOSE = `version: "3.8"
services:
  web:
    image: busybox:latest
    init: true
    command: ["sh", "-c", "echo web up; exec httpd -f -p 8080 -h /etc"]
    networks:
      front:
        aliases: [www]
        ipv4_address: 10.91.0.10
      back: {}
    ports:
      - "18080:8080"
  db:
    image: busybox:latest
    init: true
    command: ["sh", "-c", "echo db up; exec sleep 3600"]
    networks:
      back:
        aliases: [database]
networks:
  front:
    ipam:
      config:
        - subnet: 10.91.0.0/24
  back:
    internal: true
`;

describe(`docker-compose 1.29${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  const compose = async (args: string[]): Promise<{ stdout: string; stderr: string }> => {
    const r = await run('docker-compose', ['--no-ansi', '-p', 'demo', '-f', join(dir, 'docker-compose.yml'), ...args], { ...process.env, DOCKER_HOST: d.host });
    assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cnm-compose-'));
    writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE);
    writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
    await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
  });

  after(async () => {
    if (d && dir) await run('docker-compose', ['-p', 'demo', '-f', join(dir, 'docker-compose.yml'), 'down'], { ...process.env, DOCKER_HOST: d.host });
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('up -d creates the networks and containers as written', async () => {
    await compose(['up', '-d']);
    const ps = (await compose(['ps'])).stdout;
    assert.match(ps, /demo_web_1 .* Up /);
    assert.match(ps, /demo_db_1 .* Up /);
    const nets = (await d.docker(['network', 'ls', '--format', '{{.Name}}', '--filter', 'label=com.docker.compose.project=demo'])).stdout.trim().split('\n').sort();
    assert.deepEqual(nets, ['demo_back', 'demo_front']);
    assert.equal((await d.docker(['network', 'inspect', '-f', '{{.Internal}}', 'demo_back'])).stdout.trim(), 'true');
    const ip = (await d.docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "demo_front").IPAddress}}', 'demo_web_1'])).stdout.trim();
    assert.equal(ip, '10.91.0.10');
  });

  test('names, aliases and the published port work; logs and exec too', async () => {
    const inDb = (await compose(['exec', '-T', 'db', 'sh', '-c', 'ping -c1 -W2 web >/dev/null && echo web-ok; ping -c1 -W1 www >/dev/null 2>&1 || echo no-www'])).stdout;
    assert.equal(inDb, 'web-ok\nno-www\n', 'db shares only the back network with web: "web" resolves there, the front alias "www" does not');
    const inWeb = (await compose(['exec', '-T', 'web', 'sh', '-c', 'ping -c1 -W2 database >/dev/null && echo database-ok; hostname'])).stdout;
    assert.match(inWeb, /^database-ok\n[0-9a-f]{12}\n$/);
    const hostname = inWeb.split('\n')[1];
    const served = await d.ns.sh('wget -q -O- http://127.0.0.1:18080/hostname || true');
    assert.equal(served.stdout.trim(), hostname, 'the published port reaches web');
    const logs = (await compose(['logs', '--no-color'])).stdout;
    assert.match(logs, /web_1 +\| web up/);
    assert.match(logs, /db_1 +\| db up/);
  });

  test('a second up recreates nothing; stop, start and down', async () => {
    const ids = (await d.docker(['ps', '-q', '--no-trunc'])).stdout.trim().split('\n').sort();
    const again = await compose(['up', '-d']);
    assert.match(again.stderr, /demo_web_1 is up-to-date/);
    assert.match(again.stderr, /demo_db_1 is up-to-date/);
    assert.deepEqual((await d.docker(['ps', '-q', '--no-trunc'])).stdout.trim().split('\n').sort(), ids);
    await compose(['stop']);
    assert.equal((await d.docker(['ps', '-q'])).stdout.trim(), '');
    await compose(['start']);
    assert.equal((await d.docker(['ps', '-q'])).stdout.trim().split('\n').length, 2);
    await compose(['down']);
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
    assert.equal((await d.docker(['network', 'ls', '-q', '--filter', 'label=com.docker.compose.project=demo'])).stdout.trim(), '');
  });
});
