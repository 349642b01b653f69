// Layer unpacking as root: whiteouts become 0/0 character devices, opaque
// markers the trusted.overlay.opaque xattr, devices, fifos, owners, setuid
// modes, mtimes, xattrs and hard links are kept, and overlayfs (mounted in a
// private mount namespace of its own, so the host's mount table is never
// touched) shows the merged tree as Docker's overlay2 would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { unpackLayer } from '../../src/images/unpack.ts';
import { fsnodes } from '../../src/images/fsnodes.ts';
import { sha256 } from '../../src/images/digest.ts';
import { ImageStore } from '../../src/images/image-store.ts';
import { loadArchive } from '../../src/images/archive.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { chunks, makeTar, paxRecords, rawTar, tempDir } from '../helpers/images.ts';
import { isRoot } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';

const skip = skipUnlessCI('images-unpack', isRoot() ? null : 'needs root (mknod, trusted.* xattrs, overlay mounts)');
const MTIME = new Date('2023-05-06T07:08:09Z');

const lower = (): Promise<Buffer> => makeTar([
  { name: 'dir/', type: 'directory' },
  { name: 'dir/keep', data: 'keep\n' },
  { name: 'dir/gone', data: 'gone\n' },
  { name: 'opq/', type: 'directory' },
  { name: 'opq/old', data: 'old\n' },
  { name: 'file-a', data: 'a\n' },
]);

const upper = (): Promise<Buffer> => makeTar([
  { name: 'dir/', type: 'directory' },
  { name: 'dir/.wh.gone', uid: 7, gid: 8 },
  { name: 'opq/', type: 'directory', mtime: MTIME },
  { name: 'opq/.wh..wh..opq' },
  { name: 'opq/new', data: 'new\n' },
  { name: 'data/', type: 'directory' },
  { name: 'data/f1', data: 'shared\n', uid: 1000, gid: 1001, mode: 0o4755, mtime: MTIME, pax: { 'SCHILY.xattr.user.comment': 'hello' } },
  { name: 'data/f2', type: 'link', linkname: 'data/f1' },
  { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
  { name: 'dev/', type: 'directory' },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'dev/pipe', type: 'fifo', mode: 0o600 },
]);

test('a layer with whiteouts, an opaque dir, links, devices and a fifo unpacks as an overlayfs lower layer', { skip }, async () => {
  const root = tempDir('unpack');
  try {
    const tarBytes = await upper();
    const dir = join(root, 'l2');
    mkdirSync(dir);
    const got = await unpackLayer(chunks(zstdCompressSync(tarBytes)), dir, 'upper');
    assert.deepEqual(got, { diffId: sha256(tarBytes), size: tarBytes.length }, 'DiffID = sha256 of the uncompressed tar');
    const wh = lstatSync(join(dir, 'dir/gone'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'whiteout is a 0/0 char device');
    assert.deepEqual([wh.uid, wh.gid], [7, 8]);
    assert.equal(fsnodes().lgetxattr(join(dir, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.throws(() => lstatSync(join(dir, 'opq/.wh..wh..opq')), /ENOENT/, 'the marker itself is not written');
    const f1 = lstatSync(join(dir, 'data/f1'));
    assert.equal(f1.ino, lstatSync(join(dir, 'data/f2')).ino, 'hard link');
    assert.deepEqual([f1.uid, f1.gid, f1.mode & 0o7777], [1000, 1001, 0o4755], 'owner and setuid mode');
    assert.equal(f1.mtime.getTime(), MTIME.getTime());
    assert.equal(lstatSync(join(dir, 'opq')).mtime.getTime(), MTIME.getTime(), 'directory mtime set after its children');
    assert.equal(fsnodes().lgetxattr(join(dir, 'data/f1'), 'user.comment')?.toString(), 'hello');
    assert.equal(readlinkSync(join(dir, 'link')), '/etc/passwd');
    const dev = lstatSync(join(dir, 'dev/null'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (1 << 8) | 3);
    assert.ok(lstatSync(join(dir, 'dev/pipe')).isFIFO());

    const l1 = join(root, 'l1');
    mkdirSync(l1);
    await unpackLayer(chunks(gzipSync(await lower())), l1, 'lower');
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(root, d));
    // A private mount namespace: the mount vanishes with the shell.
    const script = `set -e
mount -t overlay overlay -o lowerdir=${dir}:${l1},upperdir=${root}/upper,workdir=${root}/work ${root}/merged
cd ${root}/merged
echo "dir: $(ls -A dir | tr '\\n' ' ')"
echo "opq: $(ls -A opq | tr '\\n' ' ')"
echo "file-a: $(cat file-a)"
echo "f2: $(cat data/f2)"
test -p dev/pipe && echo "fifo ok"`;
    const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
    assert.match(out, /^dir: keep $/m, 'the whited-out file is gone');
    assert.match(out, /^opq: new $/m, 'the opaque dir hides the lower children');
    assert.match(out, /^file-a: a$/m);
    assert.match(out, /^f2: shared$/m);
    assert.match(out, /^fifo ok$/m);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(join(root, 'merged')), 'host mount table untouched');
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('paths escaping the layer are refused: "..", absolute, through a symlink', { skip }, async () => {
  const root = tempDir('escape');
  try {
    const cases: [string, Buffer, RegExp][] = [
      ['dotdot', await makeTar([{ name: 'a/../../x', data: 'x' }]), /escapes the layer/],
      ['absolute', await makeTar([{ name: '/etc/x', data: 'x' }]), /absolute path "\/etc\/x" refused/],
      ['symlink', await makeTar([{ name: 'evil', type: 'symlink', linkname: root }, { name: 'evil/owned', data: 'x' }]), /goes through the symlink "evil"/],
      ['hard link out', await makeTar([{ name: 'h', type: 'link', linkname: '../../etc/passwd' }]), /escapes the layer/],
      ['truncated', (await makeTar([{ name: 'big', data: 'x'.repeat(5000) }])).subarray(0, 2048), /truncated tar/],
      // Before: `.wh...` removed the directory above the layer (the test's root).
      ['whiteout dotdot', await makeTar([{ name: '.wh...' }]), /invalid whiteout "\.wh\.\.\." \(it would remove a directory above the entry\)/],
      ['whiteout dot', await makeTar([{ name: 'd/.wh..' }]), /invalid whiteout "d\/\.wh\.\."/],
    ];
    for (const [what, body, re] of cases) {
      const dir = join(root, what.replace(/ /g, '-'));
      mkdirSync(dir);
      await assert.rejects(unpackLayer(chunks(body), dir, `layer ${what}`), re, what);
    }
    assert.throws(() => lstatSync(join(root, 'owned')), /ENOENT/);
    assert.ok(existsSync(join(root, 'dotdot')) && existsSync(join(root, 'truncated')), 'nothing outside a layer removed');
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('the busybox image, loaded into the store, runs from an overlay of its layer (chroot in a private mount namespace)', { skip: skip || (existsSync('/bin/busybox') ? false : 'needs /bin/busybox (Debian busybox-static)') }, async () => {
  const root = tempDir('bbrun');
  try {
    const store = await ImageStore.open(root);
    const img = await makeBusyboxImage();
    await loadArchive(store, chunks(img.tar));
    const layer = await store.layer(store.resolve('busybox:latest').chainIds[0]!);
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(root, d));
    const script = `set -e
mount -t overlay overlay -o lowerdir=${layer.dir},upperdir=${root}/upper,workdir=${root}/work ${root}/merged
chroot ${root}/merged /bin/sh -c 'echo written > /tmp/f; cat /tmp/f; id -un; ls /bin | wc -l'`;
    const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
    assert.match(out, /^written\nroot\n\d+\n$/);
    assert.equal(readFileSync(join(root, 'upper/tmp/f'), 'utf8'), 'written\n', 'writes land in the upper dir');
    assert.ok(!existsSync(join(layer.dir, 'tmp/f')), 'the shared layer is untouched');
    store.close();
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('binary xattr values, setgid directories and modes the umask would cut are kept', { skip }, async () => {
  const root = tempDir('attrs');
  try {
    const bin = Buffer.from([0x00, 0x01, 0x0a, 0xff, 0x80, 0x3d]);
    const tar = Buffer.concat([
      rawTar([
        { name: 'PaxHeaders/bin', type: 'x', data: paxRecords([['SCHILY.xattr.trusted.cnm-bin', bin]]) },
        { name: 'bin', data: 'x' },
      ]).subarray(0, -1024),
      await makeTar([
        { name: 'sg/', type: 'directory', mode: 0o2775, gid: 5 },
        { name: 'sg/root-file', data: 'x' }, // 0:0, though the setgid parent would give it group 5
        { name: 'sg/sub/f', data: 'x', gid: 0 },
        { name: 'wide', data: 'x', mode: 0o666 },
        { name: 'narrow', data: 'x', mode: 0o640, uid: 3, gid: 4 },
        { name: 'sticky-dir/', type: 'directory', mode: 0o1777 },
      ]),
    ]);
    const dir = join(root, 'l');
    mkdirSync(dir);
    await unpackLayer(chunks(tar), dir, 'attrs');
    assert.deepEqual(fsnodes().lgetxattr(join(dir, 'bin'), 'trusted.cnm-bin'), bin, 'binary value byte for byte');
    const sg = lstatSync(join(dir, 'sg'));
    assert.deepEqual([sg.gid, sg.mode & 0o7777], [5, 0o2775]);
    assert.equal(lstatSync(join(dir, 'sg/root-file')).gid, 0);
    assert.equal(lstatSync(join(dir, 'sg/sub')).gid, 5, 'an implicit parent inherits the setgid group');
    assert.equal(lstatSync(join(dir, 'sg/sub/f')).gid, 0);
    assert.equal(lstatSync(join(dir, 'wide')).mode & 0o7777, 0o666);
    const narrow = lstatSync(join(dir, 'narrow'));
    assert.deepEqual([narrow.uid, narrow.gid, narrow.mode & 0o7777], [3, 4, 0o640]);
    assert.equal(lstatSync(join(dir, 'sticky-dir')).mode & 0o7777, 0o1777);
  } finally { rmSync(root, { recursive: true, force: true }); }
});
