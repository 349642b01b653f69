// The content store, digests, archive load/save and the busybox image builder:
// everything that needs no privilege (layers without whiteouts or devices).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { BlobStore } from '../../src/images/blob-store.ts';
import { chainIds, sha256 } from '../../src/images/digest.ts';
import { ImageStore } from '../../src/images/image-store.ts';
import { loadArchive, saveImages } from '../../src/images/archive.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { chunks, dockerArchive, makeTar, tempDir, tree } from '../helpers/images.ts';
import { blobSinkContract } from '../helpers/blob-sink-contract.ts';
import { cleanName } from '../../src/images/layer-path.ts';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

test('ChainIDs follow the OCI image spec', () => {
  const a = sha256('a'), b = sha256('b'), c = sha256('c');
  const ab = sha256(`${a} ${b}`);
  assert.deepEqual(chainIds([a, b, c]), [a, ab, sha256(`${ab} ${c}`)]);
});

blobSinkContract('BlobStore', async () => {
  const root = tempDir('sink');
  const s = await BlobStore.open(root);
  return { sink: s, stored: async () => { assert.deepEqual(tree(join(root, 'blobs')), ['sha256', ...(await s.list()).map((d) => `sha256/${d.slice(7)}`)], 'no temp files'); return s.list(); }, cleanup: async () => rmSync(root, { recursive: true, force: true }) };
});

test('blob store: sizes and digests are checked, bad digests refused', async () => {
  const root = tempDir('blobs');
  try {
    const s = await BlobStore.open(root);
    const data = Buffer.from('hello blob');
    const d = sha256(data);
    await assert.rejects(s.put(d, data.length + 5, chunks(data)), /size mismatch: expected 15 bytes, got 10/);
    await assert.rejects(s.put('sha256:nothex', 1, chunks(data)), /invalid digest "sha256:nothex"/);
    assert.deepEqual(tree(s.dir), [], 'nothing stored, no temp files');
  } finally { rmSync(root, { recursive: true, force: true }); }
});

const layerA = (): Promise<Buffer> => makeTar([
  { name: 'etc/', type: 'directory' },
  { name: 'etc/hostname', data: 'a\n' },
  { name: 'bin/', type: 'directory' },
  { name: 'bin/tool', data: '#!/bin/sh\n', mode: 0o755 },
  { name: 'bin/tool2', type: 'link', linkname: 'bin/tool' },
  { name: 'bin/sh', type: 'symlink', linkname: '/bin/tool' },
]);
const layerB = (): Promise<Buffer> => makeTar([{ name: 'etc/motd', data: 'hi\n' }]);

test('load (docker save, gzip/zstd/plain layers, compressed archive) then save→load gives the same ID; layers shared and refcounted', async () => {
  const root = tempDir('load');
  try {
    const store = await ImageStore.open(root);
    const [a, b] = [await layerA(), await layerB()];
    const one = await dockerArchive([a, b], { tags: ['one:latest'], gzipLayers: true });
    const loaded = await loadArchive(store, chunks(zstdCompressSync(one.tar)));
    assert.deepEqual(loaded, [{ id: one.id, tags: ['one:latest'] }]);
    const rec = store.resolve('one:latest');
    assert.equal(rec.id, one.id);
    assert.deepEqual(rec.diffIds, [sha256(a), sha256(b)]);
    const layer0 = await store.layer(rec.chainIds[0]!);
    assert.equal(readFileSync(join(layer0.dir, 'etc/hostname'), 'utf8'), 'a\n');
    // A second image sharing the first layer (old layout, plain layers).
    const two = await dockerArchive([a], { tags: ['two:1'], oldLayout: true });
    await loadArchive(store, chunks(gzipSync(two.tar)));
    assert.equal(store.layerRefs(rec.chainIds[0]!), 2);
    // save -> load into a fresh store: same ID and tags.
    const saved: Buffer[] = [];
    for await (const c of await saveImages(store, ['one:latest'])) saved.push(c as Buffer);
    const root2 = tempDir('load2');
    const store2 = await ImageStore.open(root2);
    try {
      const again = await loadArchive(store2, chunks(Buffer.concat(saved)));
      assert.deepEqual(again, [{ id: one.id, tags: ['one:latest'] }]);
    } finally { store2.close(); rmSync(root2, { recursive: true, force: true }); }
    // Removing "one" keeps the shared layer and the blob it was unpacked
    // from (one's gzip blob, which save of "two" writes); removing "two" then
    // empties the store.
    assert.equal((await store.layer(rec.chainIds[0]!)).blob, one.layerBlobs[0]);
    await store.remove('one:latest');
    assert.ok(existsSync(store.layerDir(rec.chainIds[0]!)));
    assert.ok(!existsSync(store.layerDir(rec.chainIds[1]!)));
    assert.equal(await store.blobs.has(one.layerBlobs[0]!), true, 'the blob the shared layer names is kept');
    await store.remove('two:1');
    assert.deepEqual(tree(join(root, 'images', 'layers')), []);
    assert.deepEqual(tree(join(root, 'images', 'blobs')), ['sha256']);
    // State survives reopening.
    await loadArchive(store, chunks(one.tar));
    // A blob being written by the owner: a second open fails and leaves it.
    const writing = join(store.blobs.dir, '.pulling.1234.tmp');
    writeFileSync(writing, 'half');
    await assert.rejects(ImageStore.open(root), (e: Error & { code?: string }) => e.code === 'UNAVAILABLE' && /images\.db is in use by another process/.test(e.message), 'one owner at a time');
    assert.ok(existsSync(writing), 'the owner\'s temp blob is untouched');
    store.close();
    const reopened = await ImageStore.open(root);
    assert.equal(reopened.resolve('one:latest').id, one.id);
    reopened.close();
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('OCI image layout archive loads, named from its annotations; unknown media types refused', async () => {
  const root = tempDir('oci');
  try {
    const store = await ImageStore.open(root);
    const layer = gzipSync(await layerB());
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(await layerB())] } }));
    const oci = async (layerType: string): Promise<Buffer> => {
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: layerType, digest: sha256(layer), size: layer.length }] }));
      const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length,
        annotations: { 'io.containerd.image.name': 'docker.io/library/oci:latest', 'org.opencontainers.image.ref.name': 'latest' } }] };
      return makeTar([
        { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
        { name: 'index.json', data: JSON.stringify(index) },
        ...[config, manifest, layer].map((b) => ({ name: `blobs/sha256/${sha256(b).slice(7)}`, data: b })),
      ]);
    };
    const before = tree(root);
    await assert.rejects(loadArchive(store, chunks(await oci('application/vnd.example.layer'))), /layer 0 has the unknown media type "application\/vnd.example.layer"/);
    assert.deepEqual(tree(root), before, 'nothing stored');
    const swapped = await oci('application/vnd.oci.image.layer.v1.tar+gzip');
    const tampered = Buffer.from(swapped);
    const at = tampered.indexOf(layer.subarray(0, 64));
    tampered[at + 40] = tampered[at + 40]! ^ 0xff; // a byte of the layer blob, inside gzip's deflate data
    await assert.rejects(loadArchive(store, chunks(tampered)), /blob blobs\/sha256\/[0-9a-f]+ does not match its digest: expected sha256:[0-9a-f]+, got sha256:/);
    assert.deepEqual(tree(root), before, 'nothing stored');
    const got = await loadArchive(store, chunks(swapped));
    assert.deepEqual(got, [{ id: sha256(config), tags: ['docker.io/library/oci:latest'] }]);
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('bad archives: each a clear error, and the store as before', async () => {
  const root = tempDir('bad');
  try {
    const store = await ImageStore.open(root);
    const a = await layerA();
    const b = await makeTar([{ name: 'b', data: 'b' }]);
    const c = await makeTar([{ name: 'c', data: 'c' }]);
    const good = await dockerArchive([a]);
    const before = tree(root);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated tar', good.tar.subarray(0, 1000), /archive: truncated tar/],
      ['corrupt gzip', Buffer.concat([gzipSync(good.tar).subarray(0, 200), Buffer.alloc(100, 7)]), /archive: corrupt gzip data/],
      ['digest mismatch', (await dockerArchive([a], { diffIds: [sha256('something else')] })).tar, /invalid diffID for layer 0: expected "sha256:[0-9a-f]+", got "sha256:[0-9a-f]+"/],
      ['layer count', (await dockerArchive([a], { diffIds: [sha256(a), sha256('x')] })).tar, /layers length mismatch: expected 2 \(config rootfs.diff_ids\), got 1/],
      // Layers unpack side by side: the good ones around a bad one are removed too, and the lowest bad layer is named.
      ['middle and last layers bad', (await dockerArchive([a, b, c], { diffIds: [sha256(a), sha256('x'), sha256('y')] })).tar, /invalid diffID for layer 1: /],
      ['bad tag', (await dockerArchive([a], { tags: ['no tag here'] })).tar, /invalid tag "no tag here"/],
      ['escaping layer', (await dockerArchive([await makeTar([{ name: '../evil', data: 'x' }])])).tar, /path "..\/evil" escapes the layer/],
      ['not an image archive', await makeTar([{ name: 'hello.txt', data: 'x' }]), /neither manifest.json \(docker save\) nor index.json/],
    ];
    for (const [what, body, re] of cases) {
      await assert.rejects(loadArchive(store, chunks(body)), re, what);
      assert.deepEqual(tree(root), before, `${what}: nothing stored`);
    }
    assert.deepEqual(store.list(), []);
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('crash leftovers are collected on open: temp files, *.tmp layer dirs, layer dirs without a row', async () => {
  const root = tempDir('crash');
  try {
    const store = await ImageStore.open(root);
    const img = await dockerArchive([await layerA()], { tags: ['kept:1'] });
    await loadArchive(store, chunks(img.tar));
    store.close();
    const before = tree(root);
    mkdirSync(join(root, 'images', 'layers', `${'ab'.repeat(32)}.tmp`, 'diff'), { recursive: true });
    mkdirSync(join(root, 'images', 'layers', 'cd'.repeat(32), 'diff'), { recursive: true });
    writeFileSync(join(root, 'images', 'blobs', 'sha256', '.x.1234.tmp'), 'partial');
    mkdirSync(join(root, 'images', 'tmp', 'load-1234.tmp'));
    writeFileSync(join(root, 'images', '.tags.json.9999.tmp'), '{');
    const reopened = await ImageStore.open(root);
    reopened.close();
    assert.deepEqual(tree(root), before);
    const again = await ImageStore.open(root);
    assert.equal(again.resolve('kept:1').id, img.id);
    again.close();
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('a pull killed before its commit: its blobs and unpacked layer are collected on reopen; stored images keep theirs', async () => {
  const root = tempDir('killed');
  try {
    const store = await ImageStore.open(root);
    const kept = await dockerArchive([await layerA()], { tags: ['kept:1'] });
    await loadArchive(store, chunks(kept.tar));
    const before = tree(root);
    // What a pull has done when kill -9 hits: config and layer blobs stored
    // (the BlobSink side), the layer unpacked and renamed in, no image row.
    const layer = await layerB();
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const blob = gzipSync(layer);
    await store.blobs.put(sha256(blob), blob.length, chunks(blob));
    await store.blobs.put(sha256(config), config.length, chunks(config));
    mkdirSync(join(store.layerDir(sha256(layer)), 'diff'), { recursive: true });
    writeFileSync(join(store.layerDir(sha256(layer)), 'diff', 'motd'), 'hi\n');
    store.close();
    const reopened = await ImageStore.open(root);
    assert.deepEqual(tree(root), before, 'nothing of the pull is left');
    assert.equal(await reopened.blobs.has(sha256(blob)), false);
    assert.equal(await reopened.blobs.has(kept.id), true);
    assert.equal(await reopened.blobs.has(kept.layerBlobs[0]!), true);
    // Pulled again, it is stored whole.
    await reopened.blobs.put(sha256(blob), blob.length, chunks(blob));
    await reopened.blobs.put(sha256(config), config.length, chunks(config));
    const rec = await reopened.addImage(sha256(config), [sha256(blob)], ['pulled:1']);
    assert.equal(readFileSync(join((await reopened.layer(rec.chainIds[0]!)).dir, 'etc/motd'), 'utf8'), 'hi\n');
    reopened.close();
  } finally { rmSync(root, { recursive: true, force: true }); }
});

/** Stores an image as a pull does: blobs through the sink, then addImage with its repo digest. */
async function pullInto(store: ImageStore, layers: Buffer[], tags: string[], repoDigests: string[], label = 'x'): Promise<{ id: string; sizes: number[] }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], Labels: { label } }, rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } }));
  const blobs = layers.map((l) => gzipSync(l));
  for (const b of [config, ...blobs]) await store.blobs.put(sha256(b), b.length, chunks(b));
  const rec = await store.addImage(sha256(config), blobs.map((b) => sha256(b)), tags, { repoDigests });
  return { id: rec.id, sizes: await Promise.all(rec.chainIds.map(async (c) => (await store.layer(c)).size)) };
}

const DIGEST_M = `sha256:${'1'.repeat(64)}`;

test('repo digests: recorded by addImage, resolved by name@digest, kept across reopen with tags and created; config and size', async () => {
  const root = tempDir('digests');
  try {
    const store = await ImageStore.open(root);
    const ref = `docker.io/library/busybox@${DIGEST_M}`;
    const { id, sizes } = await pullInto(store, [await layerA(), await layerB()], ['docker.io/library/busybox:latest'], [ref]);
    assert.deepEqual(store.digestsOf(id), [ref]);
    assert.equal(store.resolve(ref).id, id);
    assert.throws(() => store.resolve(`docker.io/library/busybox@sha256:${'2'.repeat(64)}`), /No such image: docker.io\/library\/busybox@sha256:2+/);
    await assert.rejects(store.addImage(id, store.resolve(id).layerBlobs, [], { repoDigests: ['busybox@sha256:short'] }), /invalid repo digest "busybox@sha256:short": expected NAME@sha256:<64 lowercase hex digits>/);
    await assert.rejects(store.tag(`x@${DIGEST_M}`, id), /refusing to create a tag with a digest reference/);
    const config = await store.config('docker.io/library/busybox:latest');
    assert.deepEqual((config.config as { Cmd: string[] }).Cmd, ['sh']);
    assert.equal(await store.config(id), config, 'parsed once');
    assert.throws(() => { (config as { os: string }).os = 'windows'; }, TypeError, 'frozen: callers share it');
    assert.equal(await store.size(id), sizes[0]! + sizes[1]!);
    assert.deepEqual(sizes, [(await layerA()).length, (await layerB()).length], 'a layer\'s size is its uncompressed tar\'s');
    const created = store.resolve(id).created;
    store.close();
    const again = await ImageStore.open(root);
    const rec = again.resolve(ref);
    assert.equal(rec.id, id);
    assert.equal(rec.created, created);
    assert.deepEqual(again.tagsOf(id), ['docker.io/library/busybox:latest']);
    assert.deepEqual(again.digestsOf(id), [ref]);
    assert.equal(await again.size(id), sizes[0]! + sizes[1]!);
    again.close();
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('rmi as Docker: a repository\'s last tag takes its digests along; untag leaves the image; by ID refused across repositories', async () => {
  const root = tempDir('rmi');
  try {
    const store = await ImageStore.open(root);
    const digest = `reg/bb@${DIGEST_M}`;
    const { id } = await pullInto(store, [await layerB()], ['reg/bb:1', 'reg/bb:2'], [digest]);
    assert.deepEqual(await store.remove('reg/bb:1'), { untagged: ['reg/bb:1'], deleted: [] });
    const gone = await store.remove('reg/bb:2');
    assert.deepEqual(gone.untagged, ['reg/bb:2', digest]);
    assert.equal(gone.deleted[0], id);
    assert.deepEqual(store.list(), []);
    assert.deepEqual(await store.blobs.list(), [], 'config and layer blobs deleted');

    const two = await pullInto(store, [await layerB()], ['reg/bb:1', 'other:1'], [digest]);
    await assert.rejects(store.remove(two.id), /unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/);
    assert.equal(await store.untag('other:1'), two.id);
    await assert.rejects(store.untag('other:1'), /No such image: other:1/);
    assert.deepEqual(store.tagsOf(two.id), ['reg/bb:1']);
    // One tag and digests of its repository: a single reference, removed by ID.
    const layer = store.resolve(two.id).chainIds[0]!;
    assert.deepEqual(await store.remove(two.id.slice(7, 19)), { untagged: ['reg/bb:1', digest], deleted: [two.id, layer] });
    assert.deepEqual(store.list(), []);
    store.close();
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('a store in the JSON layout (images/*.json, tags.json, layer files) is migrated at open, then its files deleted', async () => {
  const root = tempDir('migrate');
  try {
    const store = await ImageStore.open(root);
    const img = await dockerArchive([await layerA(), await layerB()], { tags: ['old:1'] });
    await loadArchive(store, chunks(img.tar));
    const rec = store.resolve('old:1');
    const layers = await Promise.all(rec.chainIds.map((c) => store.layer(c)));
    const size = await store.size(rec.id);
    store.close();
    // The layout the store wrote before images.db, made from what it held.
    const dir = join(root, 'images');
    rmSync(join(dir, 'images.db'));
    rmSync(join(dir, 'images.db-wal'), { force: true });
    const created = '2024-01-02T03:04:05.000Z';
    mkdirSync(join(dir, 'images'));
    writeFileSync(join(dir, 'images', `${rec.id.slice(7)}.json`), JSON.stringify({ ...rec, created }));
    writeFileSync(join(dir, 'images', '.x.json.1234.tmp'), '{');
    writeFileSync(join(dir, 'tags.json'), JSON.stringify({ 'old:1': rec.id, 'old:2': rec.id, 'gone:1': sha256('no such image') }));
    for (const l of layers) {
      for (const [f, v] of [['diffid', l.diffId], ['parent', l.parent], ['size', String(l.size)], ['blob', l.blob]]) writeFileSync(join(dir, 'layers', l.chainId.slice(7), f!), v!);
    }
    const migrated = await ImageStore.open(root);
    const got = migrated.resolve('old:2');
    assert.deepEqual(got, { ...rec, created });
    assert.deepEqual(migrated.tagsOf(rec.id), ['old:1', 'old:2']);
    assert.throws(() => migrated.resolve('gone:1'), /No such image/);
    assert.deepEqual(await migrated.layer(rec.chainIds[1]!), layers[1]);
    assert.equal(await migrated.size(rec.id), size);
    assert.ok(!existsSync(join(dir, 'images')) && !existsSync(join(dir, 'tags.json')), 'JSON files deleted');
    assert.deepEqual(tree(join(dir, 'layers', rec.chainIds[0]!.slice(7))), ['diff', ...tree(layers[0]!.dir).map((p) => `diff/${p}`)], 'layer files deleted');
    // Saved as before: the save→load round trip still gives the same ID.
    const saved: Buffer[] = [];
    for await (const c of await saveImages(migrated, ['old:1'])) saved.push(c as Buffer);
    migrated.close();
    const root2 = tempDir('migrate2');
    const store2 = await ImageStore.open(root2);
    try {
      assert.deepEqual((await loadArchive(store2, chunks(Buffer.concat(saved))))[0]?.id, rec.id);
    } finally { store2.close(); rmSync(root2, { recursive: true, force: true }); }
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('busybox image: deterministic, loads as busybox:latest with a stable ID', { skip: existsSync('/bin/busybox') ? false : 'needs /bin/busybox (Debian busybox-static)' }, async () => {
  const one = await makeBusyboxImage();
  const two = await makeBusyboxImage();
  assert.ok(one.tar.equals(two.tar), 'same bytes twice');
  assert.match(one.id, DIGEST);
  const root = tempDir('bb');
  try {
    const store = await ImageStore.open(root);
    assert.deepEqual(await loadArchive(store, chunks(one.tar)), [{ id: one.id, tags: ['busybox:latest'] }]);
    const rec = store.resolve('busybox:latest');
    const dir = (await store.layer(rec.chainIds[0]!)).dir;
    assert.match(readFileSync(join(dir, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
    const { statSync } = await import('node:fs');
    assert.equal(statSync(join(dir, 'bin/sh')).ino, statSync(join(dir, 'bin/busybox')).ino, 'applets are hard links');
    assert.equal(statSync(join(dir, 'tmp')).mode & 0o7777, 0o1777);
    const config = JSON.parse((await store.blobs.read(rec.id)).toString()) as { config: { Cmd: string[] }; architecture: string; os: string };
    assert.deepEqual(config.config.Cmd, ['sh']);
    assert.equal(config.architecture, 'amd64');
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('layer entry names: cleaned, names ending in a dot kept, escapes refused', () => {
  assert.equal(cleanName('./', 'l'), '');
  assert.equal(cleanName('./etc//foo./', 'l'), 'etc/foo.');
  assert.equal(cleanName('a/./b', 'l'), 'a/b');
  assert.throws(() => cleanName('a/../../b', 'l'), /l: path "a\/..\/..\/b" escapes the layer/);
  assert.throws(() => cleanName('/abs', 'l'), /absolute path "\/abs" refused/);
});

test('tags: an image with two tags is untagged by one, refused by ID unless forced', async () => {
  const root = tempDir('tags');
  try {
    const store = await ImageStore.open(root);
    const img = await dockerArchive([await layerB()], { tags: ['a:1'] });
    await loadArchive(store, chunks(img.tar));
    await store.tag('b:2', 'a:1');
    assert.deepEqual(store.tagsOf(img.id), ['a:1', 'b:2']);
    await assert.rejects(store.remove(img.id), (e: Error & { code?: string }) => e.code === 'CONFLICT' && /image is referenced in multiple repositories/.test(e.message));
    assert.deepEqual(await store.remove('a:1'), { untagged: ['a:1'], deleted: [] });
    assert.equal(store.resolve(img.id.slice(7, 19)).id, img.id, 'a short ID prefix resolves');
    const gone = await store.remove('b:2');
    assert.deepEqual(gone.untagged, ['b:2']);
    assert.equal(gone.deleted[0], img.id);
    assert.throws(() => store.resolve('b:2'), /No such image: b:2/);
  } finally { rmSync(root, { recursive: true, force: true }); }
});
