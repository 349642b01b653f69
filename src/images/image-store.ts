// Images and their layers under <data-root>/images:
//   blobs/sha256/<hex>     configs and layer blobs (blob-store.ts)
//   layers/<chainid hex>/diff/   the unpacked layer, an overlayfs lower dir
//   images.db              the metadata (image-db.ts): images, their layers in
//                          order, layer rows (DiffID, parent, size, blob),
//                          tags and repo digests
// Why SQLite: issue 10 asks for the metadata "in the store (SQLite): tags,
// digests, created time, config". An image, its layer list, its tags and its
// repo digests then change in one transaction, and a layer's reference count
// is a query over the image rows, never a counter that could drift from them
// after a crash. Stores written before this (JSON files) are migrated at the
// first open (image-migrate.ts).
// Crash rule: an image is visible only once everything it needs is there.
// Its layers are unpacked into layers/<x>.tmp and renamed into place, and the
// image row is committed last, in one transaction with its layer rows, tags
// and repo digests. Removal commits first and deletes files after. So open()
// removes what a crash can leave: tmp/, *.tmp layer dirs, layer dirs no layer
// row names, rows no image names, and blobs no image names (a pull or load
// killed before its commit leaves its blobs; they go, and a new pull fetches
// them again).
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, invalid, notFound } from '../model/errors.ts';
import { fsyncDir } from './atomic.ts';
import { BlobStore } from './blob-store.ts';
import { chainIds, digestHex, sha256 } from './digest.ts';
import { ImageDb } from './image-db.ts';
import type { ImageRecord, LayerRow } from './image-db.ts';
import { parseImageConfig } from './image-config.ts';
import { migrateJsonLayout } from './image-migrate.ts';
import { unpackLayer } from './unpack.ts';

export type { ImageRecord } from './image-db.ts';

export interface LayerInfo extends LayerRow {
  /** The unpacked tree: an overlayfs lower dir. */
  dir: string;
}

export interface AddImageOptions {
  /** `name@sha256:<manifest digest>` references the image was pulled as. */
  repoDigests?: string[];
}

export interface RemoveResult {
  /** References removed (tags and repo digests), as stored. */
  untagged: string[];
  /** The image ID, then the ChainIDs of the layers removed with it (top first); empty when only references went. */
  deleted: string[];
}

const REPO_DIGEST_RE = /^[^@\s]+@sha256:[0-9a-f]{64}$/;

export class ImageStore {
  readonly root: string;
  readonly blobs: BlobStore;
  private readonly db: ImageDb;
  private readonly configs = new Map<string, Record<string, unknown>>();
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(root: string, blobs: BlobStore, db: ImageDb) {
    this.root = root;
    this.blobs = blobs;
    this.db = db;
  }

  /** Opens (creating) the store and locks it until close(); a second open of the same data root fails (UNAVAILABLE). */
  static async open(dataRoot: string): Promise<ImageStore> {
    const root = join(dataRoot, 'images');
    for (const d of ['layers', 'tmp']) await mkdir(join(root, d), { recursive: true });
    // The lock first: collecting must never touch a running owner's files.
    const db = ImageDb.open(join(root, 'images.db'));
    try {
      const s = new ImageStore(root, await BlobStore.open(root), db);
      await migrateJsonLayout(root, db);
      await s.recover();
      return s;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  close(): void { this.db.close(); }

  /** Serialises changes: a removal never races a load that shares its layers. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async recover(): Promise<void> {
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'tmp'));
    for (const n of await readdir(this.root)) if (n.endsWith('.tmp')) await rm(join(this.root, n), { force: true });
    this.db.tx(() => this.db.deleteUnreferenced());
    const layers = new Set([...this.db.layerIds()].map((c) => digestHex(c)));
    for (const n of await readdir(join(this.root, 'layers'))) {
      if (!layers.has(n)) await rm(join(this.root, 'layers', n), { recursive: true, force: true });
    }
    const used = this.db.usedBlobs();
    for (const b of await this.blobs.list()) if (!used.has(b)) await this.blobs.remove(b);
  }

  layerDir(chainId: string): string { return join(this.root, 'layers', digestHex(chainId, 'chain ID')); }

  async layer(chainId: string): Promise<LayerInfo> {
    const row = this.db.layer(chainId);
    if (!row) throw notFound(`layer ${chainId} is not in the store`);
    return { ...row, dir: join(this.layerDir(chainId), 'diff') };
  }

  /** Images naming this layer: its reference count. */
  layerRefs(chainId: string): number { return this.db.layerRefs(chainId); }

  /** Every image, oldest first. */
  list(): ImageRecord[] { return this.db.images(); }

  tagsOf(id: string): string[] { return this.db.tagsOf(id); }

  /** The `name@sha256:…` references the image was pulled as. */
  digestsOf(id: string): string[] { return this.db.digestsOf(id); }

  /**
   * By a reference as tagged, a repo digest (`name@sha256:…`) as recorded, a
   * full ID, or an unambiguous ID prefix (with or without "sha256:", as
   * Docker accepts). References are matched as stored: the caller normalises.
   */
  resolve(nameOrId: string): ImageRecord {
    const byRef = this.db.tagged(nameOrId) ?? this.db.digested(nameOrId);
    const rec = byRef === undefined ? undefined : this.db.image(byRef);
    if (rec) return rec;
    const hex = nameOrId.replace(/^sha256:/, '');
    if (/^[0-9a-f]{1,64}$/.test(hex)) {
      const hits = this.db.idsByPrefix(`sha256:${hex}`);
      if (hits.length === 1) return this.db.image(hits[0]!)!;
      if (hits.length > 1) throw invalid(`ambiguous image ID prefix ${JSON.stringify(nameOrId)}: more than one image matches`);
    }
    throw notFound(`No such image: ${nameOrId}`);
  }

  /** The image's config JSON, parsed once and frozen (shared by callers). */
  async config(nameOrId: string): Promise<Record<string, unknown>> {
    const id = this.resolve(nameOrId).id;
    const hit = this.configs.get(id);
    if (hit) return hit;
    const parsed = JSON.parse((await this.blobs.read(id)).toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(`image ${id}: config is not a JSON object`);
    const config = deepFreeze(parsed as Record<string, unknown>);
    if (this.db.image(id)) this.configs.set(id, config);
    return config;
  }

  /** The sum of the image's layer sizes (each layer's uncompressed tar, as stored per layer). */
  async size(nameOrId: string): Promise<number> { return this.db.imageSize(this.resolve(nameOrId).id); }

  /**
   * Adds an image whose config and layer blobs are in the blob store:
   * unpacks each layer not present yet (checking its DiffID against the
   * config), then commits the image with its layers, tags and repo digests
   * in one transaction. Adding an image already stored adds the tags and
   * digests. A tag or digest naming another image moves to this one. On
   * failure the layers this call unpacked are removed; the blobs are the
   * caller's (dropUnusedBlobs).
   */
  addImage(configDigest: string, layerBlobs: string[], tags: string[], opts: AddImageOptions = {}): Promise<ImageRecord> {
    return this.exclusive(async () => {
      const repoDigests = opts.repoDigests ?? [];
      for (const d of repoDigests) {
        if (!REPO_DIGEST_RE.test(d)) throw invalid(`invalid repo digest ${JSON.stringify(d)}: expected NAME@sha256:<64 lowercase hex digits>`);
      }
      for (const t of tags) if (t.includes('@')) throw invalid(`invalid tag ${JSON.stringify(t)}: a tag cannot hold a digest`);
      const what = `image ${configDigest}`;
      const config = await this.blobs.read(configDigest);
      if (sha256(config) !== configDigest) throw invalid(`${what}: stored config does not match its digest`);
      const info = parseImageConfig(config, what);
      if (info.diffIds.length !== layerBlobs.length) {
        throw invalid(`invalid manifest, layers length mismatch: expected ${info.diffIds.length} (config rootfs.diff_ids), got ${layerBlobs.length}`);
      }
      const chains = chainIds(info.diffIds);
      // The missing layers are unpacked side by side (unpack.ts bounds how
      // many at once): each is a directory of its own.
      const made = new Set<string>();
      const unpackOne = async (i: number, blob: string, chain: string): Promise<LayerRow> => {
        const dir = this.layerDir(chain);
        // A dir without a row: a removal that failed to delete it; not trusted.
        await rm(dir, { recursive: true, force: true });
        const tmp = `${dir}.tmp`;
        await rm(tmp, { recursive: true, force: true });
        made.add(tmp);
        await mkdir(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
        const got = await unpackLayer(this.blobs.path(blob), join(tmp, 'diff'), `layer ${i} (${blob})`);
        if (got.diffId !== info.diffIds[i]) throw invalid(`invalid diffID for layer ${i}: expected ${JSON.stringify(info.diffIds[i])}, got ${JSON.stringify(got.diffId)}`);
        await rename(tmp, dir);
        made.delete(tmp);
        made.add(dir);
        return { chainId: chain, diffId: got.diffId, parent: i === 0 ? '' : chains[i - 1]!, size: got.size, blob };
      };
      try {
        const jobs = layerBlobs.flatMap((blob, i) => (this.db.layer(chains[i]!) ? [] : [unpackOne(i, blob, chains[i]!)]));
        // Every job settles before a failure is reported (and its dirs removed); the lowest layer's error wins.
        const settled = await Promise.allSettled(jobs);
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        const rows = settled.map((r) => (r as PromiseFulfilledResult<LayerRow>).value);
        if (made.size) await fsyncDir(join(this.root, 'layers'));
        return this.db.tx(() => {
          for (const r of rows) this.db.addLayer(r);
          let rec = this.db.image(configDigest);
          if (!rec) {
            rec = { id: configDigest, diffIds: info.diffIds, chainIds: chains, layerBlobs, created: new Date().toISOString() };
            this.db.addImage(rec);
          }
          for (const t of tags) this.db.setTag(t, rec.id);
          for (const d of repoDigests) this.db.setDigest(d, rec.id);
          return rec;
        });
      } catch (err) {
        for (const d of made) await rm(d, { recursive: true, force: true });
        throw err;
      }
    });
  }

  /** Points `ref` at an image (moving it from another one, as Docker does). */
  tag(ref: string, nameOrId: string): Promise<void> {
    return this.exclusive(async () => {
      if (ref.includes('@')) throw invalid('refusing to create a tag with a digest reference');
      const id = this.resolve(nameOrId).id;
      this.db.tx(() => this.db.setTag(ref, id));
    });
  }

  /** Removes one tag or repo digest, leaving the image (maybe dangling); resolves to the image ID it named. */
  untag(ref: string): Promise<string> {
    return this.exclusive(async () => {
      const id = this.db.tagged(ref) ?? this.db.digested(ref);
      if (id === undefined) throw notFound(`No such image: ${ref}`);
      this.db.tx(() => { this.db.deleteTag(ref); this.db.deleteDigest(ref); });
      return id;
    });
  }

  /**
   * Docker's rmi (daemon/images/image_delete.go). By a reference (tag or repo
   * digest): that reference goes (and, for a tag that was its repository's
   * last, that repository's digests); the image goes too once no reference
   * is left. By ID: refused unless forced when references to more than one
   * repository remain (or more than one tag); otherwise every reference and
   * the image go. Then the layers and blobs no other image uses.
   */
  remove(nameOrId: string, force = false): Promise<RemoveResult> {
    return this.exclusive(async () => {
      const rec = this.resolve(nameOrId);
      const tags = this.db.tagsOf(rec.id);
      const digests = this.db.digestsOf(rec.id);
      const byRef = tags.includes(nameOrId) || digests.includes(nameOrId);
      let untagged: string[];
      if (byRef) {
        untagged = [nameOrId];
        const otherTags = tags.filter((t) => t !== nameOrId);
        let otherDigests = digests.filter((d) => d !== nameOrId);
        const repo = repoOf(nameOrId);
        if (tags.includes(nameOrId) && !otherTags.some((t) => repoOf(t) === repo)) {
          untagged.push(...otherDigests.filter((d) => repoOf(d) === repo));
          otherDigests = otherDigests.filter((d) => repoOf(d) !== repo);
        }
        if (otherTags.length + otherDigests.length > 0) {
          this.db.tx(() => { for (const r of untagged) { this.db.deleteTag(r); this.db.deleteDigest(r); } });
          return { untagged, deleted: [] };
        }
      } else {
        if (!force && tags.length + digests.length > 0 && !singleReference(tags, digests)) {
          throw conflict(`conflict: unable to delete ${rec.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
        }
        untagged = [...tags, ...digests];
      }
      // The rows go in one commit; files after, so a crash between leaves
      // only files that open() collects.
      const dropped = this.db.tx(() => {
        this.db.deleteImage(rec.id);
        const gone: LayerRow[] = [];
        for (const c of [...rec.chainIds].reverse()) {
          const row = this.db.layer(c);
          if (!row || this.db.layerRefs(c) > 0) continue;
          this.db.deleteLayer(c);
          gone.push(row);
        }
        return gone;
      });
      this.configs.delete(rec.id);
      for (const l of dropped) await rm(this.layerDir(l.chainId), { recursive: true, force: true });
      const blobs = new Set([rec.id, ...rec.layerBlobs, ...dropped.map((l) => l.blob)]);
      for (const b of blobs) if (!this.db.blobUsed(b)) await this.blobs.remove(b);
      return { untagged, deleted: [rec.id, ...dropped.map((l) => l.chainId)] };
    });
  }

  /** Removes blobs a failed load or pull stored that no image uses. */
  dropUnusedBlobs(digests: Iterable<string>): Promise<void> {
    return this.exclusive(async () => {
      for (const d of digests) if (!this.db.blobUsed(d)) await this.blobs.remove(d);
    });
  }

  tmpDir(): string { return join(this.root, 'tmp'); }
}

/** The repository part of a tag or digest reference (`host:5000/a/b:tag` -> `host:5000/a/b`). */
export function repoOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/**
 * Docker's isSingleReference: at most one tag, and every repo digest in the
 * repository of that tag (or of the first digest when there is no tag).
 */
function singleReference(tags: string[], digests: string[]): boolean {
  if (tags.length + digests.length <= 1) return tags.length + digests.length === 1;
  if (tags.length > 1) return false;
  const repos = new Set(digests.map(repoOf));
  return repos.size === 1 && repos.has(repoOf(tags[0] ?? digests[0]!));
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
