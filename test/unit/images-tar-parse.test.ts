// The layer tar parser (src/images/tar-parse.ts) on formats beyond plain
// ustar: PAX long names and binary xattr values, global PAX headers, GNU
// long names and links, base-256 numbers, headers split across chunks; and
// the unpacker's handling of them and of entries replacing earlier ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TarParser } from '../../src/images/tar-parse.ts';
import type { TarHeader } from '../../src/images/tar-parse.ts';
import { unpackLayer } from '../../src/images/unpack.ts';
import { sha256 } from '../../src/images/digest.ts';
import { chunks, makeTar, paxRecords, rawTar, tempDir } from '../helpers/images.ts';

interface Parsed { h: TarHeader; data: Buffer }

function parse(tar: Buffer, chunkSize = tar.length): Parsed[] {
  const out: Parsed[] = [];
  let parts: Buffer[] = [];
  const p = new TarParser({
    entry(h) { parts = []; out.push({ h, data: Buffer.alloc(0) }); },
    data(b) { parts.push(Buffer.from(b)); },
    entryEnd() { out.at(-1)!.data = Buffer.concat(parts); },
  }, 'layer t');
  for (let i = 0; i < tar.length; i += chunkSize) p.write(tar.subarray(i, i + chunkSize));
  p.end();
  return out;
}

const LONG = `${'d'.repeat(120)}/${'n'.repeat(150)}`;
const BINARY = Buffer.from([0x00, 0x01, 0x0a, 0xff, 0x80, 0x3d, 0x20]);

const tricky = (): Buffer => rawTar([
  { name: 'pax_global_header', type: 'g', data: paxRecords([['gid', '1234'], ['mtime', '1600000000.5']]) },
  { name: 'PaxHeaders/long', type: 'x', data: paxRecords([['path', LONG], ['SCHILY.xattr.trusted.bin', BINARY], ['SCHILY.xattr.user.text', 'héllo']]) },
  { name: 'short-stand-in', data: 'pax named\n' },
  { name: 'PaxHeaders/gid', type: 'x', data: paxRecords([['gid', '42']]) },
  { name: 'own', data: 'local uid wins\n' },
  { name: '././@LongLink', type: 'L', data: `${'g'.repeat(200)}\0`, magic: 'gnu' },
  { name: 'gnu-stand-in', data: 'gnu named\n', magic: 'gnu', prefix: 'ignored-in-gnu-format' },
  { name: '././@LongLink', type: 'K', data: `${'t'.repeat(180)}\0`, magic: 'gnu' },
  { name: 'sym', type: '2', linkname: 'short', magic: 'gnu' },
  { name: 'tail', prefix: 'ustar/prefix', data: 'x' },
  { name: 'big-uid', uid: 0o77777777 + 5, uid256: true, data: '' },
  { name: 'dir', type: '5' },
  { name: 'weird-type', type: 'Z', data: 'treated as a file\n' },
  { name: 'v7-dir/', type: '\0' },
]);

test('tar parser: PAX long names, binary xattrs, global headers, GNU long names and links, ustar prefix, base-256, unknown types', () => {
  const whole = parse(tricky());
  const split = parse(tricky(), 7);
  assert.deepEqual(split.map((e) => [e.h, e.data]), whole.map((e) => [e.h, e.data]), 'the same whatever the chunking');
  const by = new Map(whole.map((e) => [e.h.name, e]));
  assert.deepEqual([...by.keys()], [LONG, 'own', 'g'.repeat(200), 'sym', 'ustar/prefix/tail', 'big-uid', 'dir', 'weird-type', 'v7-dir/']);
  assert.equal(by.get('v7-dir/')!.h.type, 'directory', 'a file entry named with a trailing slash is a directory');
  const long = by.get(LONG)!;
  assert.equal(long.data.toString(), 'pax named\n');
  assert.deepEqual(long.h.xattrs?.get('trusted.bin'), BINARY, 'binary xattr value byte for byte');
  assert.equal(long.h.xattrs?.get('user.text')?.toString(), 'héllo');
  assert.deepEqual([long.h.gid, long.h.mtime], [1234, 1600000000.5], 'the global header applies');
  assert.equal(by.get('own')!.h.gid, 42, 'a local PAX header wins over the global one');
  assert.equal(by.get('big-uid')!.h.gid, 1234, 'the global header still applies after it');
  assert.equal(by.get('own')!.h.xattrs, undefined, 'a local PAX header applies to one entry only');
  assert.equal(by.get('g'.repeat(200))!.data.toString(), 'gnu named\n');
  assert.equal(by.get('sym')!.h.linkname, 't'.repeat(180));
  assert.equal(by.get('sym')!.h.type, 'symlink');
  assert.equal(by.get('big-uid')!.h.uid, 0o77777777 + 5);
  assert.deepEqual([by.get('dir')!.h.type, by.get('dir')!.data.length], ['directory', 0]);
  assert.deepEqual([by.get('weird-type')!.h.type, by.get('weird-type')!.data.toString()], ['file', 'treated as a file\n']);
});

test('tar parser: end of archive, truncation and corruption', () => {
  const tar = rawTar([{ name: 'a', data: 'x'.repeat(700) }]);
  assert.equal(parse(Buffer.concat([tar, Buffer.from('trailing bytes after the end are ignored')])).length, 1);
  for (const cut of [100, 512, 1000, 1024]) {
    assert.throws(() => parse(tar.subarray(0, cut)), /layer t: truncated tar \(unexpected end of data\)/, `cut at ${cut}`);
  }
  assert.throws(() => parse(rawTar([{ name: 'x', type: 'x', data: paxRecords([['path', 'p']]) }]).subarray(0, 1024)), /truncated tar/, 'a PAX header without its entry');
  const bad = Buffer.from(tar);
  bad[3] = 0x41;
  assert.throws(() => parse(bad), /layer t: invalid tar header \(bad checksum\)/);
  assert.throws(() => parse(Buffer.from('not a tar at all'.repeat(40))), /invalid tar header/);
  assert.throws(() => parse(rawTar([{ name: 'x', type: 'x', data: '5 broken\n' }])), /layer t: invalid PAX header record at byte 0/);
});

test('unpack: PAX and GNU long names, a global header, and later entries replacing earlier ones', async () => {
  const root = tempDir('tarparse');
  try {
    const base = rawTar([
      { name: 'pax_global_header', type: 'g', data: paxRecords([['mtime', '1500000000']]) },
      { name: 'PaxHeaders/long', type: 'x', data: paxRecords([['path', LONG]]) },
      { name: 'x', data: 'long\n' },
      { name: '././@LongLink', type: 'L', data: `${'g'.repeat(200)}\0`, magic: 'gnu' },
      { name: 'x', data: 'gnu\n', magic: 'gnu' },
    ]);
    const replacing = await makeTar([
      { name: 'a', data: 'file first\n' },
      { name: 'a/', type: 'directory' }, // a directory replaces the file
      { name: 'a/in', data: 'inside\n' },
      { name: 'b/c/d', data: 'deep\n' }, // parents made as plain directories
      { name: 'b', type: 'symlink', linkname: 'elsewhere' }, // replaces the directory b and all in it
      { name: 'b', data: 'then a file\n' },
      { name: 'c/', type: 'directory', mode: 0o700 },
      { name: 'c/f', data: 'kept\n' },
      { name: 'c/', type: 'directory', mode: 0o750 }, // a directory over a directory keeps its children
      { name: 'e', type: 'symlink', linkname: 'one' },
      { name: 'e', type: 'symlink', linkname: 'two' },
    ]);
    const tar = Buffer.concat([base.subarray(0, base.length - 1024), replacing]);
    const file = join(root, 'layer.tar.gz');
    writeFileSync(file, gzipSync(tar));
    for (const [how, body] of [['from the blob file', file], ['from a stream', chunks(tar, 3001)]] as const) {
      const dir = join(root, how.replace(/ /g, '-'));
      mkdirSync(dir);
      assert.deepEqual(await unpackLayer(body, dir, 'layer t'), { diffId: sha256(tar), size: tar.length }, how);
      assert.equal(readFileSync(join(dir, LONG), 'utf8'), 'long\n');
      assert.equal(lstatSync(join(dir, LONG)).mtime.getTime(), 1500000000_000, 'global PAX mtime');
      assert.equal(readFileSync(join(dir, 'g'.repeat(200)), 'utf8'), 'gnu\n');
      assert.ok(lstatSync(join(dir, 'a')).isDirectory());
      assert.equal(readFileSync(join(dir, 'a/in'), 'utf8'), 'inside\n');
      assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'then a file\n');
      assert.equal(readFileSync(join(dir, 'c/f'), 'utf8'), 'kept\n');
      assert.equal(lstatSync(join(dir, 'c')).mode & 0o777, 0o750);
      assert.equal(readlinkSync(join(dir, 'e')), 'two');
    }
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('unpack: a layer directory that is not empty is refused', async () => {
  const root = tempDir('notempty');
  try {
    writeFileSync(join(root, 'stray'), '');
    await assert.rejects(unpackLayer(chunks(await makeTar([{ name: 'f', data: 'x' }])), root, 'layer t'), /layer t: the layer directory .* is not empty/);
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('unpack: a source that fails mid-way rejects with its own error and the next layer unpacks normally', async () => {
  const root = tempDir('srcfail');
  try {
    const tar = await makeTar([{ name: 'f', data: 'x'.repeat(100_000) }]);
    async function* failing(): AsyncGenerator<Buffer> {
      yield tar.subarray(0, 20_000);
      throw new Error('connection reset');
    }
    mkdirSync(join(root, 'a'));
    await assert.rejects(unpackLayer(failing(), join(root, 'a'), 'layer t'), /^Error: connection reset$/);
    mkdirSync(join(root, 'b'));
    assert.equal((await unpackLayer(chunks(tar), join(root, 'b'), 'layer t')).diffId, sha256(tar));
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('unpack: layers unpack side by side, and a failing one leaves the others unharmed', { timeout: 30_000 }, async () => {
  const root = tempDir('parallel');
  try {
    const tar = await makeTar([{ name: 'f', data: 'x'.repeat(50_000) }]);
    // Each body stops after its first chunk until all three have started.
    let started = 0;
    let go: () => void = () => {};
    const allStarted = new Promise<void>((r) => { go = r; });
    async function* gated(fail: boolean): AsyncGenerator<Buffer> {
      yield tar.subarray(0, 10_000);
      if (++started === 3) go();
      await allStarted;
      if (fail) throw new Error('body failed');
      yield tar.subarray(10_000);
    }
    const runs = [0, 1, 2].map((i) => {
      mkdirSync(join(root, String(i)));
      return unpackLayer(gated(i === 1), join(root, String(i)), `layer ${i}`);
    });
    const results = await Promise.allSettled(runs);
    assert.equal(started, 3, 'all three were reading at once');
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(readFileSync(join(root, '2', 'f'), 'utf8').length, 50_000);
  } finally { rmSync(root, { recursive: true, force: true }); }
});
