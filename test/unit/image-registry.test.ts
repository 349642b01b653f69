// The registry client against an in-memory registry behind its Transport
// seam: Bearer token flow, redirects, platform choice, verification, errors,
// Docker's progress messages. The real registry is exercised in
// test/priv/image-registry.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeReference } from '../../src/images/reference.ts';
import {
  MT_DOCKER_CONFIG, MT_DOCKER_LAYER_GZIP, MT_DOCKER_MANIFEST, MT_OCI_INDEX, MT_SCHEMA1_SIGNED,
  RegistryClient, pullImage, registryBaseUrl, parsePlatform,
} from '../../src/images/registry/index.ts';
import type { ProgressEvent } from '../../src/images/registry/index.ts';
import { Authenticator, parseChallenge } from '../../src/images/registry/auth.ts';
import type { HttpRequest } from '../../src/images/registry/transport.ts';
import type { BlobSink } from '../../src/images/blob-sink.ts';
import { DirBlobSink } from '../helpers/dir-blob-sink.ts';
import { BASE, FakeRegistry, REALM } from '../helpers/fake-registry.ts';

const sink = (): DirBlobSink => new DirBlobSink(mkdtempSync(join(tmpdir(), 'cnm-sink-')));

/** Adds an image (config + n layers) and returns its manifest descriptor. */
function addImage(reg: FakeRegistry, repoTag: string | undefined, arch = 'amd64', nLayers = 2): { digest: string; size: number; layers: string[]; config: string } {
  const layers = Array.from({ length: nLayers }, (_, i) => Buffer.from(`layer ${arch} ${i} `.repeat(50 + i)));
  const cfg = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const config = reg.addBlob(cfg);
  const layerDigests = layers.map((l) => reg.addBlob(l));
  const m = reg.addManifest(repoTag, MT_DOCKER_MANIFEST, {
    schemaVersion: 2, mediaType: MT_DOCKER_MANIFEST,
    config: { mediaType: MT_DOCKER_CONFIG, size: cfg.length, digest: config },
    layers: layers.map((l, i) => ({ mediaType: MT_DOCKER_LAYER_GZIP, size: l.length, digest: layerDigests[i] })),
  });
  return { ...m, layers: layerDigests, config };
}

const client = (reg: FakeRegistry): RegistryClient => new RegistryClient({ domain: 'reg.test', baseUrl: BASE, transport: reg.transport });

test('Bearer: the challenge is answered from the token server, one token per scope, reused', async () => {
  const reg = new FakeRegistry({ bearer: true });
  const img = addImage(reg, 'app/x:1');
  const s = sink();
  await pullImage(client(reg), normalizeReference('reg.test/app/x:1'), s);
  assert.equal(reg.tokensIssued, 1);
  const tokenReq = reg.requests.find((r) => r.url.startsWith(REALM));
  assert.ok(tokenReq);
  const u = new URL(tokenReq.url);
  assert.equal(u.searchParams.get('service'), 'reg.test');
  assert.equal(u.searchParams.get('scope'), 'repository:app/x:pull');
  // After the first 401 every registry request carries the token.
  const after = reg.requests.slice(reg.requests.indexOf(tokenReq) + 1);
  assert.ok(after.every((r) => r.headers?.Authorization === 'Bearer tok-repository:app/x:pull'));
  for (const d of [img.config, ...img.layers]) assert.equal(await s.has(d), true);
});

test('without a token server answer the 401 is reported as unauthorized', async () => {
  const reg = new FakeRegistry({ bearer: true });
  const failing = new RegistryClient({ domain: 'reg.test', baseUrl: BASE, transport: async (req) => {
    if (req.url.startsWith(REALM)) return { status: 401, headers: {}, url: req.url, body: (async function* () { /* empty */ })() };
    return reg.transport(req);
  } });
  await assert.rejects(failing.ping(), /unauthorized/);
});

test('307 redirects of blobs are followed; Authorization is not sent to another host', async () => {
  const reg = new FakeRegistry({ bearer: true, redirectBlobs: true });
  const img = addImage(reg, 'app/x:1');
  const s = sink();
  await pullImage(client(reg), normalizeReference('reg.test/app/x:1'), s);
  const storage = reg.requests.filter((r) => r.url.startsWith('http://storage.test/'));
  assert.equal(storage.length, 3);
  assert.ok(storage.every((r) => r.headers?.Authorization === undefined));
  assert.deepEqual((await s.read(img.layers[0] ?? '')).length, reg.blobs.get(img.layers[0] ?? '')?.length);
});

test('an OCI index: linux/amd64 by default, another platform when asked; Digest is the index digest', async () => {
  const reg = new FakeRegistry();
  const amd = addImage(reg, undefined, 'amd64');
  const arm = addImage(reg, undefined, 'arm64');
  const idx = reg.addManifest('multi:1', MT_OCI_INDEX, {
    schemaVersion: 2, mediaType: MT_OCI_INDEX,
    manifests: [
      { mediaType: MT_DOCKER_MANIFEST, size: arm.size, digest: arm.digest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: MT_DOCKER_MANIFEST, size: amd.size, digest: amd.digest, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  });
  const events: ProgressEvent[] = [];
  const r = await pullImage(client(reg), normalizeReference('reg.test/multi:1'), sink(), { onProgress: (e) => events.push(e) });
  assert.equal(r.manifest.digest, amd.digest);
  assert.equal(r.digest, idx.digest);
  assert.ok(events.some((e) => e.status === `Digest: ${idx.digest}`));
  const r2 = await pullImage(client(reg), normalizeReference('reg.test/multi:1'), sink(), { platforms: [parsePlatform('linux/arm64/v8')] });
  assert.equal(r2.manifest.digest, arm.digest);
  await assert.rejects(pullImage(client(reg), normalizeReference('reg.test/multi:1'), sink(), { platforms: [parsePlatform('linux/s390x')] }),
    /no matching manifest for linux\/s390x/);
});

test('schema 1 is refused with Docker 28 text', async () => {
  const reg = new FakeRegistry();
  reg.addManifest('old:1', MT_SCHEMA1_SIGNED, { schemaVersion: 1, name: 'old', tag: '1', fsLayers: [] });
  await assert.rejects(pullImage(client(reg), normalizeReference('reg.test/old:1'), sink()), (e: Error) => {
    assert.equal(e.message, 'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. '
      + 'Suggest the author of reg.test/old:1 to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. '
      + 'More information at https://docs.docker.com/go/deprecated-image-specs/');
    return true;
  });
});

test('an unknown tag: 404 with the registry error code', async () => {
  const reg = new FakeRegistry();
  await assert.rejects(pullImage(client(reg), normalizeReference('reg.test/x:nope'), sink()), (e: Error & { registryCode?: string; code?: string }) => {
    assert.equal(e.message, 'manifest for reg.test/x:nope not found: manifest unknown: manifest unknown');
    assert.equal(e.registryCode, 'MANIFEST_UNKNOWN');
    assert.equal(e.code, 'NOT_FOUND');
    return true;
  });
});

test('a blob whose bytes do not match its digest is refused and not stored', async () => {
  const reg = new FakeRegistry();
  const img = addImage(reg, 'x:1');
  const bad = img.layers[1] ?? '';
  reg.tamper.set(bad, Buffer.from('not the layer'));
  const s = sink();
  await assert.rejects(pullImage(client(reg), normalizeReference('reg.test/x:1'), s), /digest mismatch|bytes, expected|larger than/);
  assert.equal(await s.has(bad), false);
});

test('a manifest asked for by digest must hash to it', async () => {
  const reg = new FakeRegistry();
  const img = addImage(reg, 'x:1');
  const m = reg.manifests.get(img.digest);
  assert.ok(m);
  m.bytes = Buffer.concat([m.bytes, Buffer.from(' ')]);
  await assert.rejects(pullImage(client(reg), normalizeReference(`reg.test/x@${img.digest}`), sink()), /manifest for reg.test\/x@sha256:\w+ digest mismatch/);
});

test("progress: Docker's messages in order; a second pull says Already exists / up to date", async () => {
  const reg = new FakeRegistry();
  const img = addImage(reg, 'library/busybox:latest');
  const s = sink();
  const events: ProgressEvent[] = [];
  const dockerHub = new RegistryClient({ domain: 'docker.io', baseUrl: BASE, transport: reg.transport });
  await pullImage(dockerHub, normalizeReference('busybox'), s, { onProgress: (e) => events.push(e) });
  const id = (img.layers[0] ?? '').slice(7, 19);
  assert.deepEqual(events[0], { status: 'Pulling from library/busybox', id: 'latest' });
  assert.deepEqual(events[1], { status: 'Pulling fs layer', progressDetail: {}, id });
  const mine = events.filter((e) => e.id === id).map((e) => e.status);
  assert.deepEqual(mine.filter((x) => x !== 'Downloading'), ['Pulling fs layer', 'Verifying Checksum', 'Download complete', 'Pull complete']);
  const dl = events.find((e) => e.id === id && e.status === 'Downloading');
  assert.ok(dl?.progressDetail?.total && dl.progressDetail.current !== undefined && dl.progress?.startsWith('['));
  assert.deepEqual(events.at(-2), { status: `Digest: ${img.digest}` });
  assert.deepEqual(events.at(-1), { status: 'Status: Downloaded newer image for busybox:latest' });

  const again: ProgressEvent[] = [];
  const r = await pullImage(dockerHub, normalizeReference('busybox'), s, { onProgress: (e) => again.push(e) });
  assert.equal(r.upToDate, true);
  assert.deepEqual(again.filter((e) => e.id === id).map((e) => e.status), ['Already exists']);
  assert.deepEqual(again.at(-1), { status: 'Status: Image is up to date for busybox:latest' });
});

test('layers download at most `concurrency` at once', async () => {
  const reg = new FakeRegistry();
  addImage(reg, 'x:1', 'amd64', 7);
  let active = 0;
  let max = 0;
  const inner = sink();
  const slow: BlobSink = {
    has: (d) => inner.has(d),
    put: async (d, n, body) => {
      active++;
      max = Math.max(max, active);
      await new Promise((r) => setTimeout(r, 20));
      try {
        await inner.put(d, n, body);
      } finally {
        active--;
      }
    },
  };
  await pullImage(client(reg), normalizeReference('reg.test/x:1'), slow, { concurrency: 3 });
  assert.equal(max, 3);
});

test('plain HTTP for loopback and configured insecure registries, HTTPS otherwise; Docker Hub at registry-1', () => {
  assert.equal(registryBaseUrl('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(registryBaseUrl('127.3.4.5'), 'http://127.3.4.5');
  assert.equal(registryBaseUrl('[::1]:5000'), 'http://[::1]:5000');
  assert.equal(registryBaseUrl('localhost:5000'), 'http://localhost:5000');
  assert.equal(registryBaseUrl('reg.example:5000'), 'https://reg.example:5000');
  assert.equal(registryBaseUrl('reg.example:5000', ['reg.example:5000']), 'http://reg.example:5000');
  assert.equal(registryBaseUrl('10.0.0.1:5000', ['10.0.0.1']), 'http://10.0.0.1:5000');
  assert.equal(registryBaseUrl('docker.io'), 'https://registry-1.docker.io');
});

test('WWW-Authenticate challenges parse', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
    scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
});

test('a token is reused until it expires, then fetched again; credentials go to the token server as Basic', async () => {
  const seen: HttpRequest[] = [];
  let n = 0;
  const transport = async (req: HttpRequest): Promise<{ status: number; headers: Record<string, string>; url: string; body: AsyncIterable<Uint8Array> }> => {
    seen.push(req);
    const body = Buffer.from(JSON.stringify({ token: `t${++n}`, expires_in: 120 }));
    return { status: 200, headers: {}, url: req.url, body: (async function* () { yield body; })() };
  };
  let now = 1_000_000;
  const auth = new Authenticator(transport, { username: 'u', password: 'p' }, () => now);
  const ch = 'Bearer realm="http://auth.test/token",service="svc",scope="repository:a:pull"';
  assert.equal(auth.header('repository:a:pull'), undefined);
  assert.equal(await auth.answer(ch, 'repository:a:pull'), 'Bearer t1');
  assert.equal(seen[0]?.headers?.Authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
  now += 119_000;
  assert.equal(auth.header('repository:a:pull'), 'Bearer t1');
  assert.equal(auth.header('repository:b:pull'), undefined);
  now += 2_000;
  assert.equal(auth.header('repository:a:pull'), undefined);
  assert.equal(await auth.answer(ch, 'repository:a:pull'), 'Bearer t2');
});

test('a layer listed twice is downloaded once', async () => {
  const reg = new FakeRegistry();
  const layer = Buffer.from('same layer');
  const cfg = Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}');
  const ld = reg.addBlob(layer);
  const cd = reg.addBlob(cfg);
  reg.addManifest('dup:1', MT_DOCKER_MANIFEST, {
    schemaVersion: 2, mediaType: MT_DOCKER_MANIFEST,
    config: { mediaType: MT_DOCKER_CONFIG, size: cfg.length, digest: cd },
    layers: [ld, ld].map((digest) => ({ mediaType: MT_DOCKER_LAYER_GZIP, size: layer.length, digest })),
  });
  const s = sink();
  const r = await pullImage(client(reg), normalizeReference('reg.test/dup:1'), s);
  assert.deepEqual(r.layers.map((l) => l.digest), [ld, ld]);
  assert.deepEqual(s.puts.filter((d) => d === ld), [ld]);
});
