// Containers from images with the real docker CLI: the image's config
// merged as Docker merges it, a writable overlayfs root that lasts until
// rm, exit codes, Docker's errors, rmi refusing an image in use, the
// create-then-pull path of `docker run`, and a kill -9 of the daemon while
// a container runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { startRegistry, stopRegistries } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';

const has = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
const missing = ['docker', 'docker-registry', 'skopeo'].find((t) => !has(t));
const skip = skipUnlessCI('containers from images', privilegedSkipReason() ?? (missing ? `needs ${missing} (scripts/setup.sh installs it)` : null));
const REG = '127.0.0.1:5000';

describe(`containers from images${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  let busybox: { tar: Buffer; id: string };
  const registries: ChildProcess[] = [];
  /** Overlay mounts under this daemon's data root, as the host sees them. */
  const mounts = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(d.dir, 'data')));

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cnm-ctr-'));
    busybox = await makeBusyboxImage();
    writeFileSync(join(dir, 'busybox.tar'), busybox.tar);
    await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
  });

  after(async () => {
    stopRegistries(registries);
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('docker run --rm prints the output; the image is the root, with the sandbox files', async () => {
    const r = await d.docker(['run', '--rm', '--name', 'one', '--hostname', 'h1', 'busybox', 'sh', '-c', 'echo hi; cat /etc/hostname; ls /bin/busybox; id -u']);
    assert.equal(r.stdout, 'hi\nh1\n/bin/busybox\n0\n');
    assert.equal((await d.docker(['ps', '-aq', '--filter', 'name=one'])).stdout.trim(), '');
    assert.deepEqual(mounts(), []);
  });

  test('the image\'s Cmd, Env, WorkingDir and User are defaults the run overrides as in Docker', async () => {
    // An image with a config of its own: busybox's layer, imported with changes.
    const layer = join(dir, 'layer.tar');
    const manifest = JSON.parse(spawnSync('tar', ['-xOf', join(dir, 'busybox.tar'), 'manifest.json'], { encoding: 'utf8' }).stdout) as { Layers: string[] }[];
    writeFileSync(layer, spawnSync('tar', ['-xOf', join(dir, 'busybox.tar'), manifest[0]?.Layers[0] ?? ''], { maxBuffer: 64 << 20 }).stdout);
    await d.docker(['import', '--change', 'CMD ["/bin/sh","-c","echo cmd:$GREETING:$KEEP:$(pwd):$(id -u)"]', '--change', 'ENV GREETING=hello KEEP=1',
      '--change', 'WORKDIR /tmp', '--change', 'USER 65534', layer, 'conf:1']);
    assert.equal((await d.docker(['run', '--rm', 'conf:1'])).stdout, 'cmd:hello:1:/tmp:65534\n');
    assert.equal((await d.docker(['run', '--rm', '-e', 'GREETING=bye', '-w', '/', '-u', '0', 'conf:1'])).stdout, 'cmd:bye:1:/:0\n');
    // A command replaces Cmd; an entrypoint replaces both.
    assert.equal((await d.docker(['run', '--rm', 'conf:1', 'echo', 'args'])).stdout, 'args\n');
    assert.equal((await d.docker(['run', '--rm', '--entrypoint', '/bin/echo', 'conf:1', 'from', 'entrypoint'])).stdout, 'from entrypoint\n');
    await d.docker(['create', '--name', 'cfg', 'conf:1']);
    const [c] = JSON.parse((await d.docker(['inspect', 'cfg'])).stdout) as { Image: string; Config: { Cmd: string[]; Env: string[]; WorkingDir: string; User: string; Image: string } }[];
    assert.equal(c?.Config.Image, 'conf:1');
    assert.match(c?.Image ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(c?.Config.Cmd, ['/bin/sh', '-c', 'echo cmd:$GREETING:$KEEP:$(pwd):$(id -u)']);
    assert.ok(c?.Config.Env.includes('GREETING=hello'));
    assert.equal(c?.Config.WorkingDir, '/tmp');
    assert.equal(c?.Config.User, '65534');
    await d.docker(['rm', 'cfg']);
  });

  test('exit codes pass through: 0, 1, 127 for a missing command with Docker\'s text, 137 after docker kill', async () => {
    assert.equal((await d.docker(['run', '--rm', 'busybox', 'true'], { allowFail: true })).code, 0);
    assert.equal((await d.docker(['run', '--rm', 'busybox', 'false'], { allowFail: true })).code, 1);
    const missing = await d.docker(['run', '--rm', 'busybox', 'nosuchcommand'], { allowFail: true });
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /exec: "nosuchcommand": executable file not found in \$PATH/);
    // docker kill: SIGKILL, 137 (128 + 9), for the attached run and in inspect.
    const killed = d.docker(['run', '--name', 'victim', 'busybox', 'sleep', '300'], { allowFail: true });
    await waitFor(async () => (await d.docker(['inspect', '-f', '{{.State.Running}}', 'victim'], { allowFail: true })).stdout.trim() === 'true', { what: 'victim to run' });
    await d.docker(['kill', 'victim']);
    assert.equal((await killed).code, 137);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'victim'])).stdout.trim(), '137');
    await d.docker(['rm', 'victim']);
  });

  test('the root is writable, keeps its writes across stop and start, and goes with rm', async () => {
    await d.docker(['run', '-d', '--name', 'wr', 'busybox', 'sh', '-c', 'echo kept > /data.txt; exec sleep 300']);
    await waitFor(async () => (await d.docker(['exec', 'wr', 'cat', '/data.txt'], { allowFail: true })).stdout === 'kept\n', { what: 'the write' });
    assert.equal(mounts().length, 1);
    await d.docker(['stop', '-t', '1', 'wr']);
    assert.deepEqual(mounts(), [], 'a stopped container\'s root is unmounted');
    await d.docker(['start', 'wr']);
    assert.equal((await d.docker(['exec', 'wr', 'cat', '/data.txt'])).stdout, 'kept\n');
    // Another container of the same image does not see it.
    assert.equal((await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'cat /data.txt 2>/dev/null || echo absent'])).stdout, 'absent\n');
    // docker diff: what the container wrote, against its image.
    await d.docker(['exec', 'wr', 'sh', '-c', 'rm /bin/cat && echo x > /etc/passwd']);
    const diff = (await d.docker(['diff', 'wr'])).stdout.trim().split('\n');
    assert.deepEqual(diff.sort(), ['A /data.txt', 'C /bin', 'C /etc', 'C /etc/passwd', 'D /bin/cat'].sort());
    // docker export: the whole root, the container's own writes included; docker import takes it back.
    const exported = join(dir, 'wr.tar');
    await d.docker(['export', '-o', exported, 'wr']);
    const names = spawnSync('tar', ['-tf', exported], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(names.includes('./data.txt') && names.includes('./bin/busybox') && !names.includes('./bin/cat'), names.slice(0, 10).join(' '));
    // docker commit: the writable layer on top of the image's, deletions included, and --change.
    const committed = (await d.docker(['commit', '-c', 'CMD ["/bin/sh","-c","read x < /data.txt; echo $x; test -e /bin/cat || echo cat-gone"]', '-m', 'a note', 'wr', 'committed:1'])).stdout.trim();
    assert.match(committed, /^sha256:[0-9a-f]{64}$/);
    assert.equal((await d.docker(['run', '--rm', 'committed:1'])).stdout, 'kept\ncat-gone\n');
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{len .RootFS.Layers}} {{.Comment}}', 'committed:1'])).stdout.trim(), '2 a note');
    await d.docker(['rmi', 'committed:1']);
    // docker ps --size: its writable layer.
    assert.match((await d.docker(['ps', '--size', '--format', '{{.Size}}', '--filter', 'name=wr'])).stdout, /^\d+(\.\d+)?[kM]?B /);
    await d.docker(['rm', '-f', 'wr']);
    assert.deepEqual(mounts(), []);
  });

  test('rmi refuses an image a container uses, with Docker\'s texts', async () => {
    const id = (await d.docker(['run', '-d', '--name', 'user1', 'busybox', 'sleep', '300'])).stdout.trim();
    const short = busybox.id.slice(7, 19);
    for (const ref of ['busybox', 'busybox:latest', short]) {
      assert.equal((await d.docker(['ps', '-q', '--no-trunc', '--filter', `ancestor=${ref}`])).stdout.trim(), id, `ancestor=${ref}`);
    }
    assert.equal((await d.docker(['ps', '-q', '--filter', 'ancestor=nosuch:1'])).stdout.trim(), '');
    const byId = await d.docker(['rmi', '-f', short], { allowFail: true });
    assert.match(byId.stderr, new RegExp(`conflict: unable to delete ${short} \\(cannot be forced\\) - image is being used by running container`));
    const byName = await d.docker(['rmi', 'busybox'], { allowFail: true });
    assert.match(byName.stderr, /conflict: unable to remove repository reference "busybox" \(must force\) - container [0-9a-f]{12} is using its referenced image/);
    await d.docker(['rm', '-f', 'user1']);
  });

  test('docker run of an image not here: "Unable to find image", pulled, then run', async () => {
    registries.push(startRegistry(d.ns, dir, 'plain', REG));
    await waitFor(async () => (await d.ns.sh(`skopeo copy --quiet --dest-tls-verify=false docker-archive:${join(dir, 'busybox.tar')} docker://${REG}/bb:1 && echo ok || true`)).stdout.includes('ok'), { what: 'the push' });
    const r = await d.docker(['run', '--rm', `${REG}/bb:1`, 'echo', 'pulled and ran']);
    assert.match(r.stderr, new RegExp(`Unable to find image '${REG}/bb:1' locally`));
    assert.match(r.stderr, /Pull complete|Already exists/);
    assert.equal(r.stdout.trim().split('\n').at(-1), 'pulled and ran');
    const none = await d.docker(['run', '--rm', `${REG}/nothing:1`], { allowFail: true });
    assert.equal(none.code, 125);
    assert.match(none.stderr, /not found|unknown/i);
  });

  test('--network container:NAME shares the other container\'s namespace, hostname and files', async () => {
    await d.docker(['network', 'create', 'shared-net']);
    await d.docker(['run', '-d', '--name', 'owner', '--hostname', 'ownerhost', '--network', 'shared-net', 'busybox', 'sleep', '300']);
    const addr = (await d.docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "shared-net").IPAddress}}', 'owner'])).stdout.trim();
    const r = await d.docker(['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c', 'hostname; ip -o -4 addr show | grep -v " lo " | awk "{print \\$4}"; grep -c ownerhost /etc/hosts']);
    assert.equal(r.stdout, `ownerhost\n${addr}/16\n1\n`);
    const refused = await d.docker(['run', '--rm', '--network', 'container:owner', '-h', 'x', 'busybox', 'true'], { allowFail: true });
    assert.match(refused.stderr, /conflicting options: hostname and the network mode/);
    await d.docker(['create', '--name', 'joiner', '--network', 'container:owner', 'busybox', 'sleep', '300']);
    const connect = await d.docker(['network', 'connect', 'shared-net', 'joiner'], { allowFail: true });
    assert.match(connect.stderr, /cannot be connected to any other network/);
    await d.docker(['stop', '-t', '0', 'owner']);
    const notRunning = await d.docker(['start', 'joiner'], { allowFail: true });
    assert.match(notRunning.stderr, /cannot join network namespace of a non running container/);
    await d.docker(['rm', '-f', 'joiner', 'owner']);
    await d.docker(['network', 'rm', 'shared-net']);
  });

  test('docker cp both ways, running or stopped; a link in the container never leads onto the host', async () => {
    await d.docker(['run', '-d', '--name', 'cpy', 'busybox', 'sh', '-c', 'mkdir -p /srv/data && echo inside > /srv/data/a.txt && ln -s /etc /evil && ln -s / /root-link && exec sleep 300']);
    await waitFor(async () => (await d.docker(['exec', 'cpy', 'ls', '/evil'], { allowFail: true })).code === 0, { what: 'the links' });
    const out = join(dir, 'cp-out');
    await d.docker(['cp', 'cpy:/srv/data', out]);
    assert.equal(readFileSync(join(out, 'a.txt'), 'utf8'), 'inside\n');
    const marker = `cnm-cp-${process.pid}-${Date.now()}`;
    writeFileSync(join(dir, marker), 'from host\n');
    // Through the container's own absolute links: into its /etc and its /, not the host's.
    await d.docker(['cp', join(dir, marker), 'cpy:/evil/']);
    await d.docker(['cp', join(dir, marker), 'cpy:/root-link/tmp/']);
    assert.equal((await d.docker(['exec', 'cpy', 'cat', `/etc/${marker}`, `/tmp/${marker}`])).stdout, 'from host\nfrom host\n');
    assert.equal(existsSync(`/etc/${marker}`), false, 'nothing written on the host through the link');
    assert.equal(existsSync(`/tmp/${marker}`), false);
    // A stopped container: its root is mounted for the copy only.
    await d.docker(['stop', '-t', '0', 'cpy']);
    await d.docker(['cp', 'cpy:/etc/' + marker, join(dir, 'back.txt')]);
    assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'), 'from host\n');
    // Unmounted once the tar has gone out (the client may read its end first).
    await waitFor(() => mounts().length === 0, { what: 'the copy\'s mount to go' });
    const missing = await d.docker(['cp', 'cpy:/nope', join(dir, 'x')], { allowFail: true });
    assert.match(missing.stderr, /Could not find the file \/nope in container cpy/);
    await d.docker(['rm', '-f', 'cpy']);
  });

  test('kill -9 of the daemon while a container runs: it keeps running, is adopted, and rm unmounts its root', async () => {
    await d.docker(['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'echo before; exec sleep 300']);
    await waitFor(async () => (await d.docker(['logs', 'survivor'])).stdout === 'before\n', { what: 'the first line' });
    await d.stop('SIGKILL');
    await d.restart();
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', 'survivor'])).stdout.trim(), 'true');
    assert.equal((await d.docker(['exec', 'survivor', 'echo', 'after'])).stdout, 'after\n');
    assert.equal((await d.docker(['logs', 'survivor'])).stdout, 'before\n');
    await d.docker(['rm', '-f', 'survivor']);
    assert.deepEqual(mounts(), []);
  });
});
