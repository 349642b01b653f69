// The registry client against Debian's docker-registry (distribution 2.8)
// running in a test namespace on 127.0.0.1: one registry without auth, one
// with htpasswd (Basic). The client runs in the same namespace as a child
// process (test/helpers/registry-child.ts). Fixture images are made here
// (a tiny layer tar + config) and pushed with the client's push or with
// skopeo; a small fake registry (test/helpers/fake-bearer-registry.ts) in
// the same namespace covers the Bearer token flow over real HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { waitFor } from '../helpers/wait.ts';
import { startRegistry as startReg, stopRegistries } from '../helpers/registry.ts';
import type { ProgressEvent } from '../../src/images/registry/index.ts';

const execFileP = promisify(execFile);
const NODE = process.execPath;
const CHILD = join(import.meta.dirname, '..', 'helpers', 'registry-child.ts');
const PLAIN = '127.0.0.1:5000';
const AUTHED = '127.0.0.1:5001';
const BEARER = '127.0.0.1:5002';
const DOWN = '127.0.0.1:5999';
const FAKE_BEARER = join(import.meta.dirname, '..', 'helpers', 'fake-bearer-registry.ts');
const ALICE = { username: 'alice', password: 's3cret' };

function missingTools(): string | null {
  for (const t of ['docker-registry', 'htpasswd', 'skopeo']) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    } catch {
      return `needs ${t} (scripts/setup.sh installs docker-registry, apache2-utils, skopeo)`;
    }
  }
  return null;
}

const skip = skipUnlessCI('registry client', privilegedSkipReason() ?? missingTools());
const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface ChildOut {
  error?: string;
  code?: string;
  registryCode?: string;
  digest?: string;
  manifestDigest?: string;
  config?: string;
  layers?: string[];
  upToDate?: boolean;
  events?: ProgressEvent[];
}

interface Fixture {
  files: string[];
  config: string;
  layer: string;
  manifest: string;
  manifestDigest: string;
  manifestSize: number;
}

describe('registry client against docker-registry', { skip }, () => {
  let ns: TestNetns;
  let dir: string;
  const registries: ChildProcess[] = [];

  const client = async (op: Record<string, unknown>): Promise<ChildOut> => {
    const r = await execFileP('nsenter', [`--net=${ns.path}`, NODE, '--disable-warning=ExperimentalWarning', CHILD, JSON.stringify(op)], { maxBuffer: 16 << 20 });
    return JSON.parse(r.stdout) as ChildOut;
  };

  function startRegistry(name: string, addr: string, auth: string): void {
    registries.push(startReg(ns, dir, name, addr, auth));
  }

  /** A one-layer image for `arch`: files written to `dir`, digests returned. */
  function makeImage(arch: string): Fixture {
    const d = join(dir, `img-${arch}`);
    mkdirSync(join(d, 'rootfs'), { recursive: true });
    writeFileSync(join(d, 'rootfs', 'hello.txt'), `hello from ${arch}\n`);
    execFileSync('tar', ['-C', join(d, 'rootfs'), '--owner=0', '--group=0', '-cf', join(d, 'layer.tar'), '.']);
    const tar = readFileSync(join(d, 'layer.tar'));
    const gz = gzipSync(tar);
    const config = Buffer.from(JSON.stringify({
      architecture: arch, os: 'linux', config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [sha(tar)] },
    }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: gz.length, digest: sha(gz) }],
    }));
    const files = [join(d, 'layer.tar.gz'), join(d, 'config.json')];
    writeFileSync(files[0] ?? '', gz);
    writeFileSync(files[1] ?? '', config);
    writeFileSync(join(d, 'manifest.json'), manifest);
    return { files, config: sha(config), layer: sha(gz), manifest: join(d, 'manifest.json'), manifestDigest: sha(manifest), manifestSize: manifest.length };
  }

  const push = (domain: string, repo: string, ref: string, fx: Fixture, credentials?: typeof ALICE): Promise<ChildOut> =>
    client({ op: 'push', domain, repo, ref, blobs: fx.files, manifest: fx.manifest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', credentials });

  let amd: Fixture;
  let arm: Fixture;

  before(async () => {
    ns = await TestNetns.create('reg');
    dir = mkdtempSync(join(tmpdir(), 'cnm-registry-'));
    writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', ALICE.username, ALICE.password]));
    startRegistry('plain', PLAIN, '');
    startRegistry('authed', AUTHED, ['auth:', '  htpasswd:', '    realm: cnm-test', `    path: ${join(dir, 'htpasswd')}`].join('\n'));
    await waitFor(async () => !(await client({ op: 'ping', domain: PLAIN })).error, { what: 'the plain registry to answer /v2/' });
    await waitFor(async () => (await client({ op: 'ping', domain: AUTHED })).code === 'FORBIDDEN', { what: 'the htpasswd registry to answer /v2/ with 401' });
    amd = makeImage('amd64');
    arm = makeImage('arm64');
  });

  after(async () => {
    stopRegistries(registries);
    await ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('push a small image, pull it back into a sink: digests verified, Docker progress', async () => {
    const pushed = await push(PLAIN, 'x', '1', amd);
    assert.equal(pushed.error, undefined);
    assert.equal(pushed.digest, amd.manifestDigest);
    // Another client reads what was pushed.
    const insp = await ns.sh(`skopeo inspect --tls-verify=false docker://${PLAIN}/x:1`);
    assert.equal((JSON.parse(insp.stdout) as { Digest: string }).Digest, amd.manifestDigest);

    const sinkDir = join(dir, 'sink1');
    const r = await client({ op: 'pull', ref: `${PLAIN}/x:1`, sinkDir });
    assert.equal(r.error, undefined);
    assert.equal(r.digest, amd.manifestDigest);
    assert.equal(r.config, amd.config);
    assert.deepEqual(r.layers, [amd.layer]);
    for (const d of [amd.config, amd.layer]) assert.equal(sha(readFileSync(join(sinkDir, d.replace(':', '-')))), d);
    const id = amd.layer.slice(7, 19);
    const statuses = (r.events ?? []).map((e) => `${e.status}${e.id ? ` ${e.id}` : ''}`);
    assert.deepEqual(statuses.filter((s) => !s.startsWith('Downloading')), [
      'Pulling from x 1', `Pulling fs layer ${id}`, `Verifying Checksum ${id}`, `Download complete ${id}`, `Pull complete ${id}`,
      `Digest: ${amd.manifestDigest}`, `Status: Downloaded newer image for ${PLAIN}/x:1`,
    ]);
    const again = await client({ op: 'pull', ref: `${PLAIN}/x:1`, sinkDir });
    assert.equal(again.upToDate, true);
    assert.ok(again.events?.some((e) => e.status === 'Already exists' && e.id === id));
  });

  test('an image pushed by skopeo (from a docker-archive) pulls back with the same config and layer content', async () => {
    const d = join(dir, 'archive');
    mkdirSync(d, { recursive: true });
    const tar = readFileSync(join(dir, 'img-amd64', 'layer.tar'));
    const config = readFileSync(amd.files[1] ?? '');
    writeFileSync(join(d, 'layer.tar'), tar);
    writeFileSync(join(d, 'config.json'), config);
    writeFileSync(join(d, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['sk:1'], Layers: ['layer.tar'] }]));
    execFileSync('tar', ['-C', d, '-cf', join(dir, 'archive.tar'), 'manifest.json', 'config.json', 'layer.tar']);
    await ns.sh(`skopeo copy --quiet --dest-tls-verify=false docker-archive:${join(dir, 'archive.tar')} docker://${PLAIN}/sk:1`);
    const sinkDir = join(dir, 'sink7');
    const r = await client({ op: 'pull', ref: `${PLAIN}/sk:1`, sinkDir });
    assert.equal(r.error, undefined);
    assert.equal(r.config, sha(config));
    assert.equal(r.layers?.length, 1);
    const blob = readFileSync(join(sinkDir, (r.layers?.[0] ?? '').replace(':', '-')));
    assert.deepEqual(gunzipSync(blob), tar);
  });

  test('an OCI index with two platforms: linux/amd64 is chosen, linux/arm64 when asked', async () => {
    assert.equal((await push(PLAIN, 'multi', 'amd64', amd)).error, undefined);
    assert.equal((await push(PLAIN, 'multi', 'arm64', arm)).error, undefined);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: arm.manifestSize, digest: arm.manifestDigest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: amd.manifestSize, digest: amd.manifestDigest, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    };
    const file = join(dir, 'index.json');
    writeFileSync(file, JSON.stringify(index));
    const put = await client({ op: 'push', domain: PLAIN, repo: 'multi', ref: '1', blobs: [], manifest: file, mediaType: index.mediaType });
    assert.equal(put.error, undefined);
    const r = await client({ op: 'pull', ref: `${PLAIN}/multi:1`, sinkDir: join(dir, 'sink2') });
    assert.equal(r.error, undefined);
    assert.equal(r.manifestDigest, amd.manifestDigest);
    assert.equal(r.digest, sha(readFileSync(file)));
    const a = await client({ op: 'pull', ref: `${PLAIN}/multi:1`, sinkDir: join(dir, 'sink2'), platform: 'linux/arm64' });
    assert.equal(a.manifestDigest, arm.manifestDigest);
    assert.equal(a.config, arm.config);
  });

  test('Bearer: the token comes from the realm the 401 names, once per scope; blob redirects followed', async () => {
    const srv = ns.spawn(NODE, ['--disable-warning=ExperimentalWarning', FAKE_BEARER, BEARER, 'x', '1', amd.manifest,
      'application/vnd.docker.distribution.manifest.v2+json', ...amd.files], { stdio: ['ignore', 'pipe', 'inherit'] });
    registries.push(srv);
    await new Promise<void>((resolve) => srv.stdout?.once('data', () => resolve()));
    const r = await client({ op: 'pull', ref: `${BEARER}/x:1`, sinkDir: join(dir, 'sink6') });
    assert.equal(r.error, undefined);
    assert.equal(r.config, amd.config);
    assert.deepEqual(r.layers, [amd.layer]);
    const stats = await ns.sh(`busybox wget -qO- http://${BEARER}/stats`);
    assert.deepEqual(JSON.parse(stats.stdout), { tokens: 1 });
  });

  test('an unknown tag is a 404 naming the registry error code', async () => {
    const r = await client({ op: 'pull', ref: `${PLAIN}/x:nope`, sinkDir: join(dir, 'sink3') });
    assert.equal(r.error, `manifest for ${PLAIN}/x:nope not found: manifest unknown: manifest unknown`);
    assert.equal(r.code, 'NOT_FOUND');
    assert.equal(r.registryCode, 'MANIFEST_UNKNOWN');
  });

  test('a registry that is down: the dial error, as Docker prints it', async () => {
    const r = await client({ op: 'pull', ref: `${DOWN}/x:1`, sinkDir: join(dir, 'sink4') });
    assert.equal(r.error, `Get "http://${DOWN}/v2/x/manifests/1": dial tcp ${DOWN}: connect: connection refused`);
    assert.equal(r.code, 'UNAVAILABLE');
  });

  test('htpasswd registry: 401 without credentials, push and pull with them', async () => {
    const denied = await push(AUTHED, 'x', '1', amd);
    assert.equal(denied.code, 'FORBIDDEN');
    assert.match(denied.error ?? '', /unauthorized: authentication required/);
    const wrong = await push(AUTHED, 'x', '1', amd, { ...ALICE, password: 'nope' });
    assert.match(wrong.error ?? '', /unauthorized/);
    assert.equal((await push(AUTHED, 'x', '1', amd, ALICE)).digest, amd.manifestDigest);
    const anon = await client({ op: 'pull', ref: `${AUTHED}/x:1`, sinkDir: join(dir, 'sink5') });
    assert.equal(anon.code, 'FORBIDDEN');
    assert.equal(anon.registryCode, 'UNAUTHORIZED');
    const r = await client({ op: 'pull', ref: `${AUTHED}/x:1`, sinkDir: join(dir, 'sink5'), credentials: ALICE });
    assert.equal(r.error, undefined);
    assert.equal(r.config, amd.config);
  });
});
