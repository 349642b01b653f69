// Images and their layers under <data-root>/images:
//   blobs/sha256/<hex>              configs and layer blobs (blob-store.ts)
//   layers/<chainid hex>/diff/      the unpacked layer, an overlayfs lower dir
//   layers/<chainid hex>/{diffid,parent,size,blob}
//   images/<id hex>.json            one record per image (ID = config digest)
//   tags.json                       reference -> image ID
// Metadata is JSON files written atomically (atomic.ts), not SQLite: each
// record is written once and replaced whole, nothing needs a transaction
// across records, and the crash rule below needs only "a file is there or
// not". A layer's reference count is not stored but counted from the image
// records, so it can never drift from them after a crash.
// Crash safety: an image's layers are unpacked into layers/<x>.tmp and
// renamed into place, and its record is written last, so an image is visible
// only once everything it needs is there. open() removes what a crash left:
// temp files, *.tmp layer dirs, layers no image record names, tags naming no
// image.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CnmError, conflict, invalid, notFound } from '../model/errors.ts';
import { fsyncDir, writeFileAtomic } from './atomic.ts';
import { BlobStore } from './blob-store.ts';
import { chainIds, digestHex, sha256 } from './digest.ts';
import { parseImageConfig } from './image-config.ts';
import { unpackLayer } from './unpack.ts';

export interface ImageRecord {
  /** sha256 of the config's bytes. */
  id: string;
  diffIds: string[];
  chainIds: string[];
  /** Blob digest each layer came from (kept for save), in order. */
  layerBlobs: string[];
  /** When the store got it (RFC 3339). */
  created: string;
}

export interface LayerInfo {
  chainId: string;
  diffId: string;
  parent: string;
  size: number;
  blob: string;
  dir: string;
}

export class ImageStore {
  readonly root: string;
  readonly blobs: BlobStore;
  private images = new Map<string, ImageRecord>();
  private tags = new Map<string, string>();
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(root: string, blobs: BlobStore) {
    this.root = root;
    this.blobs = blobs;
  }

  static async open(dataRoot: string): Promise<ImageStore> {
    const root = join(dataRoot, 'images');
    for (const d of ['layers', 'images', 'tmp']) await mkdir(join(root, d), { recursive: true });
    const s = new ImageStore(root, await BlobStore.open(root));
    await s.recover();
    return s;
  }

  /** Serialises changes: a removal never races a load that shares its layers. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async recover(): Promise<void> {
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'tmp'));
    for (const n of await readdir(join(this.root, 'images'))) {
      const p = join(this.root, 'images', n);
      if (!n.endsWith('.json')) { await rm(p, { force: true }); continue; }
      const rec = JSON.parse(await readFile(p, 'utf8')) as ImageRecord;
      this.images.set(rec.id, rec);
    }
    const used = new Set([...this.images.values()].flatMap((r) => r.chainIds.map((c) => digestHex(c))));
    for (const n of await readdir(join(this.root, 'layers'))) {
      if (!used.has(n)) await rm(join(this.root, 'layers', n), { recursive: true, force: true });
    }
    const tagsPath = join(this.root, 'tags.json');
    let tags: Record<string, string> = {};
    try { tags = JSON.parse(await readFile(tagsPath, 'utf8')) as Record<string, string>; } catch { /* none yet */ }
    for (const [ref, id] of Object.entries(tags)) if (this.images.has(id)) this.tags.set(ref, id);
    for (const n of await readdir(this.root)) if (n.endsWith('.tmp')) await rm(join(this.root, n), { force: true });
  }

  layerDir(chainId: string): string { return join(this.root, 'layers', digestHex(chainId, 'chain ID')); }

  async layer(chainId: string): Promise<LayerInfo> {
    const dir = this.layerDir(chainId);
    const read = (n: string): Promise<string> => readFile(join(dir, n), 'utf8');
    return { chainId, diffId: await read('diffid'), parent: await read('parent'), size: Number(await read('size')), blob: await read('blob'), dir: join(dir, 'diff') };
  }

  /** Images naming this layer: its reference count. */
  layerRefs(chainId: string): number {
    return [...this.images.values()].filter((r) => r.chainIds.includes(chainId)).length;
  }

  list(): ImageRecord[] { return [...this.images.values()]; }

  tagsOf(id: string): string[] { return [...this.tags].filter(([, v]) => v === id).map(([k]) => k).sort(); }

  /** By a reference as tagged, a full ID, or an unambiguous ID prefix (with or without "sha256:", as Docker accepts). */
  resolve(nameOrId: string): ImageRecord {
    const byTag = this.tags.get(nameOrId);
    if (byTag) return this.images.get(byTag)!;
    const hex = nameOrId.replace(/^sha256:/, '');
    if (/^[0-9a-f]{1,64}$/.test(hex)) {
      const hits = [...this.images.values()].filter((r) => r.id.slice(7).startsWith(hex));
      if (hits.length === 1) return hits[0]!;
      if (hits.length > 1) throw invalid(`ambiguous image ID prefix ${JSON.stringify(nameOrId)}: ${hits.length} images match`);
    }
    throw notFound(`No such image: ${nameOrId}`);
  }

  /**
   * Adds an image whose config and layer blobs are in the blob store:
   * unpacks each layer not present yet (checking its DiffID against the
   * config), writes the record, then the tags. On failure the layers this
   * call made are removed; the blobs are the caller's.
   */
  addImage(configDigest: string, layerBlobs: string[], tags: string[]): Promise<ImageRecord> {
    return this.exclusive(async () => {
      const what = `image ${configDigest}`;
      const config = await this.blobs.read(configDigest);
      if (sha256(config) !== configDigest) throw invalid(`${what}: stored config does not match its digest`);
      const info = parseImageConfig(config, what);
      if (info.diffIds.length !== layerBlobs.length) {
        throw invalid(`invalid manifest, layers length mismatch: expected ${info.diffIds.length} (config rootfs.diff_ids), got ${layerBlobs.length}`);
      }
      const chains = chainIds(info.diffIds);
      const made: string[] = [];
      try {
        for (const [i, blob] of layerBlobs.entries()) {
          const chain = chains[i]!;
          const dir = this.layerDir(chain);
          if (await exists(dir)) continue;
          const tmp = `${dir}.tmp`;
          await rm(tmp, { recursive: true, force: true });
          made.push(tmp);
          await mkdir(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
          const got = await unpackLayer(this.blobs.open(blob), join(tmp, 'diff'), `layer ${i} (${blob})`);
          if (got.diffId !== info.diffIds[i]) throw invalid(`invalid diffID for layer ${i}: expected ${JSON.stringify(info.diffIds[i])}, got ${JSON.stringify(got.diffId)}`);
          await writeFile(join(tmp, 'diffid'), got.diffId);
          await writeFile(join(tmp, 'parent'), i === 0 ? '' : chains[i - 1]!);
          await writeFile(join(tmp, 'size'), String(got.size));
          await writeFile(join(tmp, 'blob'), blob);
          await rename(tmp, dir);
          made[made.length - 1] = dir;
        }
        await fsyncDir(join(this.root, 'layers'));
        const rec: ImageRecord = this.images.get(configDigest) ?? {
          id: configDigest, diffIds: info.diffIds, chainIds: chains, layerBlobs, created: new Date().toISOString(),
        };
        await writeFileAtomic(join(this.root, 'images', `${digestHex(configDigest)}.json`), JSON.stringify(rec));
        this.images.set(rec.id, rec);
        for (const t of tags) this.tags.set(t, rec.id);
        await this.saveTags();
        return rec;
      } catch (err) {
        for (const d of made) await rm(d, { recursive: true, force: true });
        throw err;
      }
    });
  }

  tag(ref: string, nameOrId: string): Promise<void> {
    return this.exclusive(async () => {
      this.tags.set(ref, this.resolve(nameOrId).id);
      await this.saveTags();
    });
  }

  /**
   * Removes an image: its tags, its record, then the layers and blobs no
   * other image uses. Refused while other tags than `force` allows remain.
   */
  remove(nameOrId: string, force = false): Promise<{ untagged: string[]; deleted: string[] }> {
    return this.exclusive(async () => {
      const rec = this.resolve(nameOrId);
      const tags = this.tagsOf(rec.id);
      if (!force && tags.length > 1 && !this.tags.has(nameOrId)) {
        throw conflict(`conflict: unable to delete ${rec.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
      }
      if (this.tags.has(nameOrId) && tags.length > 1 && !force) {
        this.tags.delete(nameOrId);
        await this.saveTags();
        return { untagged: [nameOrId], deleted: [] };
      }
      for (const t of tags) this.tags.delete(t);
      await this.saveTags();
      await rm(join(this.root, 'images', `${digestHex(rec.id)}.json`), { force: true });
      await fsyncDir(join(this.root, 'images'));
      this.images.delete(rec.id);
      const deleted = [rec.id];
      const blobs = new Set([rec.id, ...rec.layerBlobs]);
      for (const c of [...rec.chainIds].reverse()) {
        if (this.layerRefs(c) > 0) continue;
        await rm(this.layerDir(c), { recursive: true, force: true });
        deleted.push(c);
      }
      const stillUsed = new Set([...this.images.values()].flatMap((r) => [r.id, ...r.layerBlobs]));
      for (const b of blobs) if (!stillUsed.has(b)) await this.blobs.remove(b);
      return { untagged: tags, deleted };
    });
  }

  /** Removes blobs a failed load stored that no image uses. */
  async dropUnusedBlobs(digests: Iterable<string>): Promise<void> {
    const used = new Set([...this.images.values()].flatMap((r) => [r.id, ...r.layerBlobs]));
    for (const d of digests) if (!used.has(d)) await this.blobs.remove(d);
  }

  tmpDir(): string { return join(this.root, 'tmp'); }

  private async saveTags(): Promise<void> {
    await writeFileAtomic(join(this.root, 'tags.json'), JSON.stringify(Object.fromEntries([...this.tags].sort())));
  }
}

async function exists(p: string): Promise<boolean> {
  try { await readdir(p); return true; } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CnmError('INTERNAL', `cannot read ${p}: ${(err as Error).message}`, { cause: err });
  }
}
