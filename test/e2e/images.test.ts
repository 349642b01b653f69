// The real docker CLI's image commands against cnm: load, save, import with
// --change, pull from Debian's docker-registry on 127.0.0.1 in the daemon's
// namespace (with and without Basic auth), tag, images with filters,
// inspect, history, rmi with Docker's conflicts, prune and system df; and
// bad input that must store nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { startRegistry, stopRegistries } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';

const has = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
const missing = ['docker', 'docker-registry', 'skopeo', 'htpasswd'].find((t) => !has(t));
const skip = skipUnlessCI('docker images', privilegedSkipReason() ?? (missing ? `needs ${missing} (scripts/setup.sh installs it)` : null));

const REG = '127.0.0.1:5000';

interface Inspect {
  Id: string; RepoTags: string[]; RepoDigests: string[]; Comment: string; Os: string; Size: number;
  Config: { Cmd: string[] | null; Entrypoint: string[] | null; Env: string[] | null; WorkingDir: string; User: string; ExposedPorts?: Record<string, object> };
  RootFS: { Layers: string[] };
}
const AUTHED = '127.0.0.1:5001';

describe(`docker image commands against cnm${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  let busybox: { tar: Buffer; id: string };
  let tarPath: string;
  const registries: ChildProcess[] = [];
  const ids = async (): Promise<string[]> => (await d.docker(['images', '-q', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean).sort();

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cnm-images-'));
    busybox = await makeBusyboxImage();
    tarPath = join(dir, 'busybox.tar');
    writeFileSync(tarPath, busybox.tar);
    writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
    registries.push(startRegistry(d.ns, dir, 'plain', REG));
    registries.push(startRegistry(d.ns, dir, 'authed', AUTHED, ['auth:', '  htpasswd:', '    realm: cnm-test', `    path: ${join(dir, 'htpasswd')}`].join('\n')));
    await waitFor(async () => (await d.ns.sh(`wget -q -O- http://${REG}/v2/ >/dev/null 2>&1 && echo up || true`)).stdout.includes('up'), { what: 'the registry to answer' });
    for (const [reg, creds] of [[REG, ''], [AUTHED, '--dest-creds=alice:s3cret']] as const) {
      await waitFor(async () => (await d.ns.sh(`skopeo copy --quiet --dest-tls-verify=false ${creds} docker-archive:${tarPath} docker://${reg}/library/busybox:1.36 && echo ok || true`)).stdout.includes('ok'), { what: `busybox pushed to ${reg}` });
    }
  });

  after(async () => {
    stopRegistries(registries);
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('docker load prints Docker\'s line; images, inspect and history show the image', async () => {
    const r = await d.docker(['load', '-i', tarPath]);
    assert.equal(r.stdout.trim(), 'Loaded image: busybox:latest');
    assert.deepEqual(await ids(), [busybox.id]);
    const row = (await d.docker(['images', '--format', '{{.Repository}} {{.Tag}} {{.ID}}'])).stdout.trim();
    assert.equal(row, `busybox latest ${busybox.id.slice(7, 19)}`);
    const [img] = JSON.parse((await d.docker(['image', 'inspect', 'busybox'])).stdout) as Inspect[];
    assert.equal(img?.Id, busybox.id);
    assert.deepEqual(img?.RepoTags, ['busybox:latest']);
    assert.deepEqual(img?.Config.Cmd, ['sh']);
    assert.equal(img?.Os, 'linux');
    assert.equal(img?.RootFS.Layers.length, 1);
    assert.ok((img?.Size ?? 0) > 500_000, `size ${img?.Size}`);
    // By ID, short ID and the full name too.
    for (const ref of [busybox.id, busybox.id.slice(7, 19), 'docker.io/library/busybox:latest']) {
      assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim(), busybox.id);
    }
    const hist = (await d.docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}', 'busybox'])).stdout.trim().split('\n');
    assert.equal(hist.length, 1);
    assert.match(hist[0] ?? '', new RegExp(`^${busybox.id}\\|make-busybox-image`));
    // Loading the same archive again changes nothing.
    assert.equal((await d.docker(['load', '-i', tarPath])).stdout.trim(), 'Loaded image: busybox:latest');
    assert.deepEqual(await ids(), [busybox.id]);
  });

  test('tag, filters, untag by name, and rmi conflicts with Docker\'s texts', async () => {
    await d.docker(['tag', 'busybox', 'mybox:1']);
    await d.docker(['tag', busybox.id.slice(7, 19), 'localhost:5000/team/box']);
    const tags = (await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(tags, ['busybox:latest', 'localhost:5000/team/box:latest', 'mybox:1']);
    assert.equal((await d.docker(['images', '--filter', 'reference=my*', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim(), 'mybox:1');
    assert.equal((await d.docker(['images', '--filter', 'reference=*/team/*', '--format', '{{.Repository}}'])).stdout.trim(), 'localhost:5000/team/box');
    assert.equal((await d.docker(['images', '--filter', 'dangling=true', '-q'])).stdout.trim(), '');
    const conflict = await d.docker(['rmi', busybox.id.slice(7, 19)], { allowFail: true });
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, new RegExp(`conflict: unable to delete ${busybox.id.slice(7, 19)} \\(must be forced\\) - image is referenced in multiple repositories`));
    assert.equal((await d.docker(['rmi', 'mybox:1'])).stdout.trim(), 'Untagged: mybox:1');
    assert.equal((await d.docker(['rmi', 'localhost:5000/team/box'])).stdout.trim(), 'Untagged: localhost:5000/team/box:latest');
    assert.deepEqual(await ids(), [busybox.id]);
    const bad = await d.docker(['tag', 'busybox', 'Upper:1'], { allowFail: true });
    assert.notEqual(bad.code, 0);
    const missing = await d.docker(['rmi', 'nosuch:1'], { allowFail: true });
    assert.match(missing.stderr, /No such image: nosuch:1/);
  });

  test('save then rmi then load gives back the same ID; the saved tar is Docker\'s layout', async () => {
    const out = join(dir, 'saved.tar');
    await d.docker(['save', '-o', out, 'busybox:latest']);
    const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(names.includes('manifest.json') && names.includes('repositories'), names.join(' '));
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[] }[];
    assert.deepEqual(manifest[0]?.RepoTags, ['busybox:latest']);
    const rm = (await d.docker(['rmi', 'busybox'])).stdout.trim().split('\n');
    assert.equal(rm[0], 'Untagged: busybox:latest');
    assert.ok(rm.includes(`Deleted: ${busybox.id}`), rm.join('\n'));
    assert.deepEqual(await ids(), []);
    assert.equal((await d.docker(['load', '-i', out])).stdout.trim(), 'Loaded image: busybox:latest');
    assert.deepEqual(await ids(), [busybox.id]);
  });

  test('docker import with --change sets CMD, ENTRYPOINT, ENV, WORKDIR, USER and EXPOSE', async () => {
    const root = join(dir, 'rootfs');
    mkdirSync(join(root, 'srv'), { recursive: true });
    writeFileSync(join(root, 'srv', 'hello.txt'), 'hello\n');
    const plain = execFileSync('tar', ['-C', root, '--owner=0', '--group=0', '-cf', '-', '.']);
    const gz = join(dir, 'rootfs.tar.gz');
    writeFileSync(gz, gzipSync(plain));
    const r = await d.docker(['import',
      '--change', 'CMD ["/bin/cat","hello.txt"]', '--change', 'ENTRYPOINT /bin/sh', '--change', 'ENV A=1 B="two words"',
      '--change', 'WORKDIR /srv', '--change', 'USER nobody', '--change', 'EXPOSE 80 53/udp', '-m', 'my rootfs', gz, 'imported:v1']);
    const id = r.stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const [img] = JSON.parse((await d.docker(['image', 'inspect', 'imported:v1'])).stdout) as Inspect[];
    assert.equal(img?.Id, id);
    assert.equal(img?.Comment, 'my rootfs');
    assert.deepEqual(img?.Config.Cmd, ['/bin/cat', 'hello.txt']);
    assert.deepEqual(img?.Config.Entrypoint, ['/bin/sh', '-c', '/bin/sh']);
    assert.deepEqual(img?.Config.Env, ['A=1', 'B=two words']);
    assert.equal(img?.Config.WorkingDir, '/srv');
    assert.equal(img?.Config.User, 'nobody');
    assert.deepEqual(Object.keys(img?.Config.ExposedPorts ?? {}).sort(), ['53/udp', '80/tcp']);
    // The layer's DiffID is the uncompressed tar's digest.
    assert.deepEqual(img?.RootFS.Layers, [`sha256:${execFileSync('sha256sum', { input: plain, encoding: 'utf8' }).split(' ')[0]}`]);
    const bad = await d.docker(['import', '--change', 'RUN rm -rf /', gz, 'bad:1'], { allowFail: true });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /RUN is not a valid change command/);
    await d.docker(['rmi', 'imported:v1']);
  });

  test('docker pull from a loopback registry: progress, digest, up to date, Basic auth', async () => {
    // Nothing of it is here: every layer is downloaded.
    await d.docker(['rmi', 'busybox']);
    const r = await d.docker(['pull', `${REG}/library/busybox:1.36`]);
    assert.match(r.stdout, /1\.36: Pulling from library\/busybox/);
    assert.match(r.stdout, /Pull complete/);
    assert.match(r.stdout, /Digest: sha256:[0-9a-f]{64}/);
    assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${REG}/library/busybox:1.36`));
    const [img] = JSON.parse((await d.docker(['image', 'inspect', `${REG}/library/busybox:1.36`])).stdout) as Inspect[];
    assert.equal(img?.Id, busybox.id, 'the registry round trip keeps the image ID');
    assert.match(img?.RepoDigests[0] ?? '', new RegExp(`^${REG}/library/busybox@sha256:[0-9a-f]{64}$`));
    const digest = (img?.RepoDigests[0] ?? '').split('@')[1];
    assert.ok(r.stdout.includes(`Digest: ${digest}`));
    const again = await d.docker(['pull', `${REG}/library/busybox:1.36`]);
    assert.match(again.stdout, /Status: Image is up to date/);
    // By digest, and the digest reference resolves.
    await d.docker(['pull', `${REG}/library/busybox@${digest}`]);
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', `${REG}/library/busybox@${digest}`])).stdout.trim(), busybox.id);
  });

  test('Basic auth: pull refused without login, docker login checks the password, then pull works', async () => {
    const denied = await d.docker(['pull', `${AUTHED}/library/busybox:1.36`], { allowFail: true });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /unauthorized|authentication required/i);
    // A config directory of the test's own: the runner's ~/.docker is left alone.
    const cfg = join(dir, 'docker-config');
    const wrong = await d.docker(['--config', cfg, 'login', '-u', 'alice', '-p', 'wrong', AUTHED], { allowFail: true });
    assert.notEqual(wrong.code, 0);
    const ok = await d.docker(['--config', cfg, 'login', '-u', 'alice', '-p', 's3cret', AUTHED]);
    assert.match(ok.stdout, /Login Succeeded/);
    const r = await d.docker(['--config', cfg, 'pull', `${AUTHED}/library/busybox:1.36`]);
    assert.match(r.stdout, /Status: (Downloaded newer image|Image is up to date) for 127\.0\.0\.1:5001\/library\/busybox:1\.36/);
    await d.docker(['rmi', `${AUTHED}/library/busybox:1.36`]);
  });

  test('a pull of an image the registry lacks, or from a registry that is down, fails and stores nothing', async () => {
    const before = await ids();
    const nf = await d.docker(['pull', `${REG}/library/nosuch:1`], { allowFail: true });
    assert.notEqual(nf.code, 0);
    assert.match(nf.stderr, /not found|unknown/i);
    const down = await d.docker(['pull', '127.0.0.1:5999/x:1'], { allowFail: true });
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /127\.0\.0\.1:5999/);
    assert.deepEqual(await ids(), before);
  });

  test('bad archives are refused and store nothing', async () => {
    const before = await ids();
    const blobsBefore = readdirSync(join(d.dir, 'data', 'images', 'blobs', 'sha256')).sort();
    const cut = join(dir, 'cut.tar');
    writeFileSync(cut, busybox.tar.subarray(0, Math.floor(busybox.tar.length / 2)));
    const junk = join(dir, 'junk.tar');
    writeFileSync(junk, Buffer.from('this is not a tar archive at all, not even close'.repeat(20)));
    for (const f of [cut, junk]) {
      const r = await d.docker(['load', '-i', f], { allowFail: true });
      assert.notEqual(r.code, 0, `${f} was accepted`);
      assert.ok(r.stderr.trim().length > 0);
    }
    assert.deepEqual(await ids(), before);
    assert.deepEqual(readdirSync(join(d.dir, 'data', 'images', 'blobs', 'sha256')).sort(), blobsBefore);
  });

  test('kill -9 of the daemon in the middle of a pull: no partial image after restart, its blobs collected, the pull then works', async () => {
    // A 48 MB incompressible layer, so the kill lands while it downloads.
    const big = join(dir, 'big');
    mkdirSync(big, { recursive: true });
    writeFileSync(join(big, 'noise.bin'), randomBytes(48 << 20));
    const layer = execFileSync('tar', ['-C', big, '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 64 << 20 });
    writeFileSync(join(dir, 'big.tar'), layer);
    await d.docker(['import', join(dir, 'big.tar'), 'big:1']);
    await d.docker(['save', '-o', join(dir, 'big-saved.tar'), 'big:1']);
    await d.ns.sh(`skopeo copy --quiet --dest-tls-verify=false docker-archive:${join(dir, 'big-saved.tar')} docker://${REG}/big:1`);
    await d.docker(['rmi', 'big:1']);
    const images = join(d.dir, 'data', 'images');
    const blobsBefore = readdirSync(join(images, 'blobs', 'sha256')).sort();

    const firstProgress = new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: d.socket, method: 'POST', path: `/v1.50/images/create?fromImage=${REG}/big&tag=1` }, (res) => {
        res.on('data', (c: Buffer) => { if (c.toString().includes('Downloading')) resolve(); });
        res.on('error', () => undefined);
        res.on('end', () => reject(new Error('the pull ended before any download progress')));
      });
      req.on('error', () => undefined);
      req.end();
    });
    await firstProgress;
    await d.stop('SIGKILL');
    await d.restart();
    const ids = (await d.docker(['images', '-q', '--no-trunc', '--filter', `reference=${REG}/big`])).stdout.trim();
    // Either it had not finished (no image) or it had (a whole one); never half.
    if (ids) assert.equal((await d.docker(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', `${REG}/big:1`])).stdout.trim(), '1');
    else assert.deepEqual(readdirSync(join(images, 'blobs', 'sha256')).sort(), blobsBefore);
    assert.deepEqual(readdirSync(join(images, 'tmp')), []);
    assert.deepEqual(readdirSync(join(images, 'layers')).filter((n) => n.endsWith('.tmp')), []);
    const again = await d.docker(['pull', `${REG}/big:1`]);
    assert.match(again.stdout, /Status: (Downloaded newer image|Image is up to date) for 127\.0\.0\.1:5000\/big:1/);
    await d.docker(['rmi', `${REG}/big:1`]);
  });

  test('system df counts images; prune -a removes unused ones', async () => {
    const df = (await d.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}'])).stdout;
    assert.match(df, /Images [1-9]/);
    const info = (await d.docker(['info', '--format', '{{.Images}}'])).stdout.trim();
    assert.ok(Number(info) >= 1);
    // docker system prune: containers, networks, dangling images, build cache (cnm has none).
    assert.match((await d.docker(['system', 'prune', '-f'])).stdout, /Total reclaimed space/);
    const pruned = await d.docker(['image', 'prune', '-a', '-f']);
    assert.match(pruned.stdout, /Total reclaimed space/);
    assert.deepEqual(await ids(), []);
    assert.deepEqual(readdirSync(join(d.dir, 'data', 'images', 'layers')), []);
  });
});
