// `docker save`: a tar Docker 20.10 and later load: manifest.json (Config,
// RepoTags, Layers), the config and the uncompressed layer tars under
// blobs/sha256/<hex> (the v25 layout; 20.10 follows the paths it is given)
// and the legacy `repositories` file (M image/tarexport/save.go).
import { once } from 'node:events';
import tar from 'tar-stream';
import type { Pack } from 'tar-stream';
import { decompress } from './compression.ts';
import { digestHex } from './digest.ts';
import type { ImageStore } from './image-store.ts';

/** One image to write: config bytes, layers (uncompressed tars) in order, tags as name:tag. */
export interface ArchiveImage {
  config: Uint8Array;
  configDigest: string;
  layers: { diffId: string; size: number; open(): AsyncIterable<Uint8Array> }[];
  repoTags: string[];
}

// Fixed entry times make the same images always give the same bytes.
const EPOCH = new Date(0);

export function writeDockerArchive(images: ArchiveImage[]): Pack {
  const pack = tar.pack();
  void (async (): Promise<void> => {
    const written = new Set<string>();
    const dir = (name: string): void => { if (!written.has(name)) { written.add(name); pack.entry({ name, type: 'directory', mode: 0o755, mtime: EPOCH }); } };
    const file = async (name: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void> => {
      if (written.has(name)) return;
      written.add(name);
      let n = 0;
      const sink = pack.entry({ name, size, mode: 0o644, mtime: EPOCH });
      for await (const c of body) {
        n += c.byteLength;
        if (!sink.write(c)) await once(sink, 'drain');
      }
      if (n !== size) throw new Error(`${name}: expected ${size} bytes, got ${n}`);
      sink.end(null);
      await once(sink, 'finish');
    };
    const buf = (s: string | Uint8Array): AsyncIterable<Uint8Array> => (async function* () { yield typeof s === 'string' ? Buffer.from(s) : s; })();
    try {
      dir('blobs/');
      dir('blobs/sha256/');
      const manifest = [];
      const repositories: Record<string, Record<string, string>> = {};
      for (const img of images) {
        const configPath = `blobs/sha256/${digestHex(img.configDigest)}`;
        await file(configPath, img.config.byteLength, buf(img.config));
        const layers: string[] = [];
        for (const l of img.layers) {
          const p = `blobs/sha256/${digestHex(l.diffId)}`;
          await file(p, l.size, l.open());
          layers.push(p);
        }
        manifest.push({ Config: configPath, RepoTags: img.repoTags, Layers: layers });
        const top = img.layers.at(-1);
        for (const t of img.repoTags) {
          const i = t.lastIndexOf(':');
          if (top) (repositories[t.slice(0, i)] ??= {})[t.slice(i + 1)] = digestHex(top.diffId);
        }
      }
      const m = JSON.stringify(manifest);
      await file('manifest.json', Buffer.byteLength(m), buf(m));
      if (Object.keys(repositories).length) {
        const r = JSON.stringify(repositories);
        await file('repositories', Buffer.byteLength(r), buf(r));
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack;
}

/** Saves images (by ID or tag) from the store; tags are those of each image unless it was named by a tag. */
export async function saveImages(store: ImageStore, names: string[]): Promise<Pack> {
  const images: ArchiveImage[] = [];
  for (const name of names) {
    const rec = store.resolve(name);
    const config = await store.blobs.read(rec.id);
    const layers = [];
    for (const c of rec.chainIds) {
      const l = await store.layer(c);
      layers.push({ diffId: l.diffId, size: l.size, open: () => decompress(store.blobs.open(l.blob), `layer ${l.blob}`) });
    }
    const tags = store.tagsOf(rec.id);
    images.push({ config, configDigest: rec.id, layers, repoTags: tags.includes(name) ? [name] : tags });
  }
  return writeDockerArchive(images);
}
