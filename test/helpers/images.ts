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

/** One raw tar header and its data, for formats tar-stream does not write (GNU long names, binary PAX values, global headers, base-256). */
export interface RawEntry {
  name: string;
  /** Typeflag character: '0' file, '5' directory, 'x' PAX, 'g' global PAX, 'L'/'K' GNU long name/link... */
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  /** Written in GNU base-256 instead of octal. */
  uid256?: boolean;
  mtime?: number;
  /** 'ustar' (POSIX, with prefix) or 'gnu'. */
  magic?: 'ustar' | 'gnu';
  prefix?: string;
}

function rawHeader(e: RawEntry, size: number): Buffer {
  const b = Buffer.alloc(512);
  const oct = (off: number, len: number, v: number): void => { b.write(v.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1'); };
  b.write(e.name, 0, 100, 'utf8');
  oct(100, 8, e.mode ?? 0o644);
  if (e.uid256) {
    b[108] = 0x80;
    b.writeUIntBE(e.uid ?? 0, 110, 6);
  } else oct(108, 8, e.uid ?? 0);
  oct(116, 8, 0);
  oct(124, 12, size);
  oct(136, 12, e.mtime ?? 1_700_000_000);
  b.write(e.type ?? '0', 156, 1, 'latin1');
  b.write(e.linkname ?? '', 157, 100, 'utf8');
  b.write(e.magic === 'gnu' ? 'ustar  \0' : 'ustar\u000000', 257, 8, 'latin1');
  if (e.prefix) b.write(e.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

export function rawTar(entries: RawEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data ?? Buffer.alloc(0);
    out.push(rawHeader(e, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** PAX records "<len> <key>=<value>\n", values as bytes. */
export function paxRecords(records: [string, Buffer | string][]): Buffer {
  return Buffer.concat(records.map(([k, v]) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  }));
}
