#!/usr/bin/env node
// Builds a ~100 MB multi-layer image for the image benchmarks, the same
// bytes every time (fixed seed, owner, order and mtimes): 5 layers of
// 18 MiB of file data (~20 MiB as tar), each half small files (text, 256 B
// to 16 KiB, with some symlinks and hard links, a directory per 100 files)
// and half two large files of incompressible bytes: the tarball is 103 MB,
// the gzip layers 62 MB. Writes the `docker save` tarball (uncompressed
// layers, as `docker save` writes them) and, with --dir, the same image as
// skopeo's `dir:` layout with gzip layers (what a registry serves) for
// `skopeo copy dir:DIR docker://...`.
//   node scripts/make-big-image.ts OUT.tar [--tag cnm-bench/big:latest] [--dir DIR] [--layers 5] [--layer-mb 18]
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import type { Pack } from 'tar-stream';
import { sha256 } from '../src/images/digest.ts';
import { writeDockerArchive } from '../src/images/archive-save.ts';
import { layerTar } from './lib/layer-tar.ts';
import type { LayerEntry } from './lib/layer-tar.ts';
import { rng } from '../test/helpers/rng.ts';

const EPOCH = new Date('2024-01-01T00:00:00Z');
const MB = 1 << 20;

export interface BigLayer {
  /** The uncompressed layer tar and its sha256 (the DiffID). */
  tar: Buffer;
  diffId: string;
  /** The same tar gzip-compressed (level 6, Go's and zlib's default) and its digest. */
  gz: Buffer;
  gzDigest: string;
  /** Tar entries in the layer. */
  entries: number;
}

export interface BigImage { layers: BigLayer[]; config: Buffer; id: string; tag: string }

export interface BigImageOptions { layers?: number; layerMb?: number; tag?: string; seed?: number }


/** Compressible text: pseudo-words from a small vocabulary, in lines. */
function corpus(rand: () => number, bytes: number): Buffer {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const vocab = Array.from({ length: 600 }, () => Array.from({ length: 2 + Math.floor(rand() * 9) }, () => letters[Math.floor(rand() * 26)]).join(''));
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line = Array.from({ length: 4 + Math.floor(rand() * 10) }, () => vocab[Math.floor(rand() * vocab.length)]).join(' ') + '\n';
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join(''));
}

/** Incompressible bytes: AES-128-CTR of zeros under a key derived from the seed and a label. */
function noise(seed: number, label: string, bytes: number): Buffer {
  const key = createHash('sha256').update(`${seed}/${label}`).digest();
  return createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32)).update(Buffer.alloc(bytes));
}

function* layerEntries(i: number, seed: number, layerBytes: number, text: Buffer, rand: () => number): Generator<LayerEntry> {
  const root = `opt/bench/l${i}/`;
  yield { type: 'directory', name: 'opt/' };
  yield { type: 'directory', name: 'opt/bench/' };
  yield { type: 'directory', name: root };
  // Half the layer: two large incompressible files (think shared libraries, blobs).
  yield { type: 'directory', name: `${root}big/` };
  for (let k = 0; k < 2; k++) yield { type: 'file', name: `${root}big/blob${k}.bin`, data: noise(seed, `l${i}b${k}`, Math.floor(layerBytes / 4)), mode: 0o755 };
  // The other half: many small files, sizes skewed towards the small end.
  let small = 0;
  let prev = '';
  for (let n = 0; small < layerBytes / 2; n++) {
    const dir = `${root}d${Math.floor(n / 100)}/`;
    if (n % 100 === 0) yield { type: 'directory', name: dir };
    const name = `${dir}f${n}.txt`;
    if (prev && n % 50 === 49) { yield { type: 'symlink', name, linkname: `../${prev.slice(root.length)}` }; continue; }
    if (prev && n % 97 === 96) { yield { type: 'link', name, linkname: prev, mode: 0o644 }; continue; }
    const size = 256 + Math.floor(rand() * rand() * 16 * 1024);
    const at = Math.floor(rand() * (text.length - size));
    yield { type: 'file', name, data: text.subarray(at, at + size), mode: n % 10 === 0 ? 0o755 : 0o644 };
    small += size;
    prev = name;
  }
}

export async function makeBigImage(opts: BigImageOptions = {}): Promise<BigImage> {
  const count = opts.layers ?? 5;
  const layerBytes = (opts.layerMb ?? 18) * MB;
  const seed = opts.seed ?? 20261201;
  const rand = rng(seed);
  const text = corpus(rand, 4 * MB);
  const layers: BigLayer[] = [];
  for (let i = 0; i < count; i++) {
    const entries = [...layerEntries(i, seed, layerBytes, text, rand)];
    const tar = await layerTar(entries, EPOCH);
    const gz = gzipSync(tar, { level: 6 });
    layers.push({ tar, diffId: sha256(tar), gz, gzDigest: sha256(gz), entries: entries.length });
  }
  // Key order is part of the bytes, hence of the image ID: keep it fixed.
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    created: EPOCH.toISOString(),
    history: layers.map((_, i) => ({ created: EPOCH.toISOString(), created_by: `make-big-image: layer ${i}` })),
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  return { layers, config, id: sha256(config), tag: opts.tag ?? 'cnm-bench/big:latest' };
}

/** The image as a `docker save` tarball (uncompressed layers). */
export function saveArchive(img: BigImage): Pack {
  return writeDockerArchive([{
    config: img.config,
    configDigest: img.id,
    layers: img.layers.map((l) => ({ diffId: l.diffId, size: l.tar.byteLength, open: async function* () { yield l.tar; } })),
    repoTags: [img.tag],
  }]);
}

/** The image as skopeo's `dir:` layout (transport version 1.1: blobs named by hex digest), gzip layers. */
export function writeSkopeoDir(img: BigImage, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const hex = (d: string): string => d.slice('sha256:'.length);
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  writeFileSync(join(dir, hex(img.id)), img.config);
  for (const l of img.layers) writeFileSync(join(dir, hex(l.gzDigest)), l.gz);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: img.config.byteLength, digest: img.id },
    layers: img.layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.gz.byteLength, digest: l.gzDigest })),
  }));
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : undefined; };
  const tag = opt('--tag');
  const dir = opt('--dir');
  const layers = opt('--layers');
  const layerMb = opt('--layer-mb');
  const out = args[0];
  if (!out) {
    console.error('usage: make-big-image.ts OUT.tar [--tag cnm-bench/big:latest] [--dir DIR] [--layers 5] [--layer-mb 18]');
    process.exit(2);
  }
  const img = await makeBigImage({ tag, layers: layers ? Number(layers) : undefined, layerMb: layerMb ? Number(layerMb) : undefined });
  await pipeline(saveArchive(img), createWriteStream(out));
  if (dir) writeSkopeoDir(img, dir);
  console.log(img.id);
}
