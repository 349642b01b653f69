// Builds layer and archive tars in memory for the image store tests.
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { gzipSync } from 'node:zlib';
import { lstatSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { sha256 } from '../../src/images/digest.ts';

export type TarEntry = Partial<Header> & { name: string; data?: string | Buffer; pax?: Record<string, string> };

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collect = (async (): Promise<void> => { for await (const c of pack) chunks.push(c as Buffer); })();
  for (const { data, ...h } of entries) pack.entry({ mtime: new Date(1_700_000_000_000), uid: 0, gid: 0, mode: h.type === 'directory' ? 0o755 : 0o644, ...h }, data ?? '');
  pack.finalize();
  await collect;
  return Buffer.concat(chunks);
}

/** A docker save archive of one image with the given layer tars (uncompressed) under the new layout. */
export async function dockerArchive(layers: Buffer[], opts: { tags?: string[]; diffIds?: string[]; gzipLayers?: boolean; oldLayout?: boolean } = {}): Promise<{ tar: Buffer; id: string; layerBlobs: string[] }> {
  const diffIds = opts.diffIds ?? layers.map((l) => sha256(l));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const id = sha256(config);
  const entries: TarEntry[] = [];
  const layerBlobs: string[] = [];
  const paths = layers.map((l, i) => {
    const body = opts.gzipLayers ? gzipSync(l) : l;
    layerBlobs.push(sha256(body));
    const p = opts.oldLayout ? `layer${i}/layer.tar` : `blobs/sha256/${sha256(body).slice(7)}`;
    entries.push({ name: p, data: body });
    return p;
  });
  const configPath = opts.oldLayout ? `${id.slice(7)}.json` : `blobs/sha256/${id.slice(7)}`;
  entries.push({ name: configPath, data: config });
  entries.push({ name: 'manifest.json', data: JSON.stringify([{ Config: configPath, RepoTags: opts.tags ?? ['test:latest'], Layers: paths }]) });
  return { tar: await makeTar(entries), id, layerBlobs };
}

export const tempDir = (label: string): string => mkdtempSync(join(tmpdir(), `cnm-img-${label}-`));

/** Every path under `dir` (relative), for "nothing changed" checks. */
export function tree(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    out.push(r);
    if (lstatSync(join(dir, r)).isDirectory()) out.push(...tree(dir, r));
  }
  return out;
}

export async function* chunks(b: Buffer, size = 7000): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}
