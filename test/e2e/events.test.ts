// docker events against cnm with the real docker CLI: a live stream while
// containers are created, started, stopped and removed; network connect and
// disconnect; a since/until window replayed from the daemon's ring, which
// ends by itself; and Docker's refusal of since > until.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('events', privilegedSkipReason() ?? (hasDocker ? null : 'needs the docker CLI'));
const hasDockerPy = spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' }).status === 0;
const pySkip = skip || skipUnlessCI('events docker-py', hasDockerPy ? null : 'needs docker-py (python3-docker)');
const hasCompose = spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status === 0;
const composeSkip = skip || skipUnlessCI('events docker-compose', hasCompose ? null : 'needs docker-compose (scripts/setup.sh installs it)');

interface Msg { status?: string; id?: string; from?: string; Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; scope: string; time: number; timeNano: number }

const parse = (out: string): Msg[] => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Msg);
/** The CLI's --since/--until form: seconds.nanoseconds. */
const stamp = (ms: number): string => (ms / 1000).toFixed(3);

describe(`docker events${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: d.host });
  const docker = (args: string[]) => run('timeout', ['-k', '5', '60', 'docker', ...args], env());

  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test('a streaming `docker events --filter type=container` sees create, start, kill, die, stop and destroy as they happen', async () => {
    // --since now: what happens before the CLI's request reaches the daemon is replayed, so no race.
    const child = spawn('docker', ['events', '--since', stamp(Date.now()), '--filter', 'type=container', '--format', '{{json .}}'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    try {
      const id = await runSandbox(d, 'streamed', { extra: { Labels: { role: 'probe' } } });
      assert.equal((await docker(['stop', '-t', '5', 'streamed'])).code, 0);
      assert.equal((await docker(['rm', 'streamed'])).code, 0);
      await waitFor(() => parse(out).some((m) => m.Action === 'destroy'), { timeoutMs: 20_000, what: `destroy event (got ${out} ${err})` });
      const mine = parse(out).filter((m) => m.Actor.ID === id);
      assert.deepEqual(mine.map((m) => m.Action), ['create', 'start', 'kill', 'die', 'stop', 'destroy']);
      assert.ok(parse(out).every((m) => m.Type === 'container'), 'the type filter holds');
      const die = mine.find((m) => m.Action === 'die')!;
      assert.equal(die.status, 'die', 'the legacy status compose 1.29 needs');
      assert.equal(die.id, id);
      assert.deepEqual([die.Actor.Attributes.name, die.Actor.Attributes.role, die.scope], ['streamed', 'probe', 'local']);
      assert.match(die.Actor.Attributes.exitCode ?? '', /^\d+$/);
      assert.match(die.Actor.Attributes.execDuration ?? '', /^\d+$/);
      assert.equal(mine.find((m) => m.Action === 'kill')!.Actor.Attributes.signal, '15');
      assert.ok(mine.every((m, i) => i === 0 || m.timeNano >= mine[i - 1]!.timeNano));
      assert.equal(Math.floor(die.timeNano / 1e9), die.time);
    } finally {
      child.kill('SIGTERM');
    }
  });

  test('network create, connect, disconnect and destroy; a since/until window is replayed and the command ends by itself', async () => {
    const t0 = Date.now() - 1;
    assert.equal((await docker(['network', 'create', 'ev-net'])).code, 0);
    const id = await runSandbox(d, 'ev-box');
    assert.equal((await docker(['network', 'connect', 'ev-net', 'ev-box'])).code, 0);
    assert.equal((await docker(['network', 'disconnect', 'ev-net', 'ev-box'])).code, 0);
    assert.equal((await docker(['network', 'rm', 'ev-net'])).code, 0);
    const t1 = Date.now() + 1;
    const r = await docker(['events', '--since', stamp(t0), '--until', stamp(t1), '--filter', 'network=ev-net', '--format', '{{json .}}']);
    assert.equal(r.code, 0, r.stderr);
    const msgs = parse(r.stdout);
    assert.deepEqual(msgs.map((m) => `${m.Type} ${m.Action}`), ['network create', 'network connect', 'network disconnect', 'network destroy']);
    const connect = msgs[1]!;
    assert.deepEqual(connect.Actor.Attributes, { container: id, name: 'ev-net', type: 'bridge' });
    assert.equal(connect.status, undefined, 'network events carry no legacy fields, as in Docker');
    // The same window, by container: its create and start, its connect
    // events are the network's (Docker matches the actor, not the attribute).
    const byBox = parse((await docker(['events', '--since', stamp(t0), '--until', stamp(t1), '--filter', 'container=ev-box', '--format', '{{json .}}'])).stdout);
    assert.deepEqual(byBox.map((m) => m.Action), ['create', 'start']);
    // The CLI's default output line.
    const plain = await docker(['events', '--since', stamp(t0), '--until', stamp(t1), '--filter', 'event=create', '--filter', 'type=container']);
    assert.match(plain.stdout, new RegExp(`^\\S+ container create ${id} \\(image=, name=ev-box\\)$`, 'm'));
  });

  test('docker exec, attach and image load/tag/rmi are reported too', async () => {
    const t0 = Date.now() - 1;
    const id = await runSandbox(d, 'ev-exec');
    assert.equal((await docker(['exec', 'ev-exec', 'sh', '-c', 'exit 3'])).code, 3);
    const attach = await d.client.raw('POST', '/containers/ev-exec/attach?stdout=1&logs=1');
    assert.equal(attach.status, 200);
    const dir = mkdtempSync(join(tmpdir(), 'cnm-events-'));
    try {
      const busybox = await makeBusyboxImage();
      writeFileSync(join(dir, 'busybox.tar'), busybox.tar);
      assert.equal((await docker(['load', '-i', join(dir, 'busybox.tar')])).code, 0);
      assert.equal((await docker(['tag', 'busybox', 'ev/box:1'])).code, 0);
      assert.equal((await docker(['rmi', 'ev/box:1'])).code, 0);
      const t1 = Date.now() + 1;
      const window = ['--since', stamp(t0), '--until', stamp(t1), '--format', '{{json .}}'];
      const execs = parse((await docker(['events', ...window, '--filter', 'container=ev-exec'])).stdout).filter((m) => m.Action.startsWith('exec_') || m.Action === 'attach');
      assert.deepEqual(execs.map((m) => m.Action), ['exec_create: sh -c exit 3', 'exec_start: sh -c exit 3', 'exec_die', 'attach']);
      assert.equal(execs[2]!.Actor.Attributes.exitCode, '3');
      assert.equal(execs[2]!.Actor.ID, id);
      // A bare exec_create matches the command form, as in Docker.
      assert.equal(parse((await docker(['events', ...window, '--filter', 'event=exec_create'])).stdout).length, 1);
      const images = parse((await docker(['events', ...window, '--filter', 'type=image'])).stdout);
      assert.deepEqual(images.map((m) => `${m.Action} ${m.Actor.Attributes.name}`), [`load ${busybox.id}`, 'tag ev/box:1', `untag ${busybox.id}`]);
      assert.ok(images.every((m) => m.status === m.Action && m.Actor.ID === busybox.id), 'legacy status and id on image events');
      assert.equal(parse((await docker(['events', ...window, '--filter', 'image=busybox', '--filter', 'type=image'])).stdout).length, 0, 'image events of an ID do not match a name');
      // Prunes are reported once each, with what they freed.
      await docker(['network', 'prune', '-f']);
      await docker(['image', 'prune', '-f']);
      await docker(['container', 'prune', '-f', '--filter', 'label=none-such']);
      const prunes = parse((await docker(['events', '--since', stamp(t0), '--until', stamp(Date.now() + 1), '--filter', 'event=prune', '--format', '{{json .}}'])).stdout);
      assert.deepEqual(prunes.map((m) => `${m.Type} ${m.Actor.ID} ${m.Actor.Attributes.reclaimed}`), ['network  0', 'image  0', 'container  0']);
      assert.deepEqual(prunes.map((m) => [m.status, m.id]), [[undefined, undefined], ['prune', undefined], ['prune', undefined]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`docker-py (what compose 1.29 uses): events filtered by labels in the list form, each with status and id${pySkip ? ` (skipped: ${pySkip})` : ''}`, { skip: pySkip ?? false }, async () => {
    const t0 = Date.now() - 1;
    const id = await runSandbox(d, 'py-labelled', { extra: { Labels: { 'com.docker.compose.project': 'evp', 'com.docker.compose.service': 'web' } } });
    await runSandbox(d, 'py-other', { extra: { Labels: { 'com.docker.compose.project': 'other' } } });
    const script = [
      'import docker, json, sys, time',
      `c = docker.APIClient(base_url="${d.host}")`,
      `evs = c.events(since=${t0 / 1000}, until=time.time() + 0.5, decode=True, filters={"label": ["com.docker.compose.project=evp"]})`,
      'for e in evs:',
      '    print(json.dumps({"status": e.get("status"), "id": e.get("id"), "name": e["Actor"]["Attributes"]["name"]}))',
    ].join('\n');
    const r = await run('timeout', ['-k', '5', '60', 'python3', '-c', script], process.env);
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string; id: string; name: string });
    assert.deepEqual(got, [{ status: 'create', id, name: 'py-labelled' }, { status: 'start', id, name: 'py-labelled' }]);
  });

  test(`docker-compose 1.29 up (attached, --exit-code-from), which reads GET /events, ends with the job's exit code${composeSkip ? ` (skipped: ${composeSkip})` : ''}`, { skip: composeSkip ?? false }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnm-events-compose-'));
    try {
      writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
      assert.equal((await docker(['load', '-i', join(dir, 'busybox.tar')])).code, 0);
      writeFileSync(join(dir, 'docker-compose.yml'), [
        'version: "3.8"', 'services:',
        '  job:', '    image: busybox:latest', '    command: ["sh", "-c", "sleep 1; echo job done; exit 3"]',
        '  idle:', '    image: busybox:latest', '    init: true', '    command: ["sleep", "3600"]', '',
      ].join('\n'));
      // Attached, compose follows the project through GET /events (label filters) while it streams the logs.
      const r = await run('timeout', ['-k', '5', '120', 'docker-compose', '--no-ansi', '-p', 'evc', '-f', join(dir, 'docker-compose.yml'), 'up', '--exit-code-from', 'job'], env());
      assert.equal(r.code, 3, r.stderr + r.stdout);
      assert.match(r.stdout, /job done/);
      assert.match(r.stdout, /evc_job_1 exited with code 3/);
      const down = await run('timeout', ['-k', '5', '120', 'docker-compose', '--no-ansi', '-p', 'evc', '-f', join(dir, 'docker-compose.yml'), 'down'], env());
      assert.equal(down.code, 0, down.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('volumes: create, mount at start, unmount at the end, destroy with rm -v and volume rm, prune', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnm-events-vol-'));
    try {
      writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
      assert.equal((await docker(['load', '-i', join(dir, 'busybox.tar')])).code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const t0 = Date.now() - 1;
    assert.equal((await docker(['volume', 'create', 'ev-vol'])).code, 0);
    const run1 = await docker(['run', '-d', '--name', 'ev-vol-box', '-v', 'ev-vol:/data', '-v', '/anon', 'busybox', 'sleep', '600']);
    assert.equal(run1.code, 0, run1.stderr);
    const id = run1.stdout.trim();
    assert.equal((await docker(['stop', '-t', '1', 'ev-vol-box'])).code, 0);
    assert.equal((await docker(['rm', '-v', 'ev-vol-box'])).code, 0);
    assert.equal((await docker(['volume', 'rm', 'ev-vol'])).code, 0);
    assert.equal((await docker(['volume', 'prune', '-f'])).code, 0);
    const msgs = parse((await docker(['events', '--since', stamp(t0), '--until', stamp(Date.now() + 1), '--filter', 'type=volume', '--format', '{{json .}}'])).stdout);
    const anon = msgs.find((m) => m.Action === 'create' && m.Actor.ID !== 'ev-vol')?.Actor.ID ?? 'none';
    const name = (m: Msg): string => (m.Actor.ID === anon ? 'anon' : m.Actor.ID);
    assert.deepEqual(msgs.map((m) => `${m.Action} ${name(m)}`).sort(), [
      'create anon', 'create ev-vol', 'destroy anon', 'destroy ev-vol', 'mount anon', 'mount ev-vol', 'prune ', 'unmount anon', 'unmount ev-vol',
    ]);
    const mount = msgs.find((m) => m.Action === 'mount' && m.Actor.ID === 'ev-vol')!;
    assert.deepEqual(mount.Actor.Attributes, { container: id, destination: '/data', driver: 'local', propagation: '', 'read/write': 'true' });
    // Docker's order: mounts before the start, unmounts after the die.
    const order = parse((await docker(['events', '--since', stamp(t0), '--until', stamp(Date.now() + 1), '--filter', 'event=mount', '--filter', 'event=start',
      '--filter', 'event=die', '--filter', 'event=unmount', '--format', '{{json .}}'])).stdout).map((m) => m.Action);
    assert.deepEqual(order, ['mount', 'mount', 'start', 'die', 'unmount', 'unmount']);
  });

  test('a terminal container: attach, resize (height, width) and a detach by the detach keys are reported', async () => {
    const t0 = Date.now() - 1;
    const { Id: id } = await d.client.containerCreate('ev-tty', {
      Cmd: ['sh'], Tty: true, OpenStdin: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, HostConfig: { NetworkMode: 'none' },
    });
    await d.client.containerStart(id);
    assert.equal((await d.client.raw('POST', '/containers/ev-tty/resize?h=30&w=100')).status, 200);
    const sock = connect(d.socket);
    let got = '';
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('data', (b: Buffer) => { got += b.toString('latin1'); });
    sock.write('POST /v1.50/containers/ev-tty/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-x,a HTTP/1.1\r\nHost: cnm\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    await waitFor(() => got.includes('101 UPGRADED'), { what: () => `the upgrade: ${JSON.stringify(got)}` });
    sock.write(Buffer.from('\x18a'));
    await closed;
    const msgs = parse((await docker(['events', '--since', stamp(t0), '--until', stamp(Date.now() + 1), '--filter', 'container=ev-tty', '--format', '{{json .}}'])).stdout);
    assert.deepEqual(msgs.map((m) => m.Action), ['create', 'start', 'resize', 'attach', 'detach']);
    assert.deepEqual([msgs[2]!.Actor.Attributes.height, msgs[2]!.Actor.Attributes.width], ['30', '100']);
    assert.equal((await d.client.containerInspect('ev-tty')).State.Running, true, 'a detach leaves it running');
  });

  test('since after until is refused with Docker\'s message', async () => {
    const r = await docker(['events', '--since', '2000', '--until', '1000']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: `since` time \(2000\) cannot be after `until` time \(1000\)/);
    const bad = await d.client.raw('GET', '/events?filters=' + encodeURIComponent('{"colour":["red"]}'));
    assert.equal(bad.status, 400);
  });

  test('the daemon stops on SIGTERM while docker events and docker logs -f stream from it, and those end', async () => {
    await runSandbox(d, 'ev-logged', { cmd: ['sh', '-c', 'echo hello; sleep infinity'] });
    const clients = [['events'], ['logs', '-f', 'ev-logged']].map((args) => spawn('docker', args, { env: env(), stdio: ['ignore', 'pipe', 'ignore'] }));
    const ended = clients.map((c) => new Promise<number | null>((r) => c.once('exit', (code) => r(code))));
    try {
      const logged = clients[1]!.stdout!;
      await new Promise((r) => logged.once('data', r));
      // The events stream is open once it carries an event, so the SIGTERM
      // cannot land before `docker events` has connected. An event made
      // before it connects is not sent to it: make one until one arrives.
      const watched = clients[0]!.stdout!;
      let seen = false;
      watched.once('data', () => { seen = true; });
      for (let i = 0; !seen; i++) {
        await d.client.networkCreate({ Name: `ev-probe-${i}` });
        await waitFor(() => seen, { what: 'an event on the docker events stream', timeoutMs: 300 }).catch(() => undefined);
      }
      d.proc.kill('SIGTERM');
      // Before streams were ended at shutdown, the daemon waited for them forever.
      await waitFor(() => d.proc.exitCode !== null, { what: 'the daemon to exit with streams open', timeoutMs: 15_000 });
      assert.equal(d.proc.exitCode, 0);
      assert.deepEqual(await Promise.all(ended), [0, 0], 'the CLIs saw their streams end');
    } finally {
      for (const c of clients) c.kill('SIGKILL');
      if (d.proc.exitCode === null) d.proc.kill('SIGKILL');
    }
  });
});
