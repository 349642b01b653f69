// The image store's metadata: one SQLite file, <data-root>/images/images.db,
// through node:sqlite, opened as src/store/sqlite-backend.ts opens the state
// store (https://sqlite.org/wal.html, pragma.html):
// - journal_mode=WAL + synchronous=FULL: a commit is fsynced before it
//   returns, and after a crash the next open keeps whole transactions only;
// - locking_mode=EXCLUSIVE: the lock is taken at open and kept until close, so
//   a second daemon on the same data root fails at open instead of collecting
//   blobs the first one is pulling; the kernel drops it when its owner dies.
// - foreign_keys=ON: a tag, repo digest or image's layer row cannot outlive
//   its image (ON DELETE CASCADE), and a layer row cannot go while an image
//   names it.
// Tables: images (the ID is the config's digest, so it is the config digest
// too), image_layers (an image's layers in order, with the blob each came
// from), layers (one row per unpacked layer dir, shared by ChainID), tags and
// repo_digests (reference -> image ID).
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import { CnmError } from '../model/errors.ts';

export interface ImageRecord {
  /** sha256 of the config's bytes (the config's digest). */
  id: string;
  diffIds: string[];
  chainIds: string[];
  /** Blob digest each layer came from for this image, in order. */
  layerBlobs: string[];
  /** When the store got it (RFC 3339). */
  created: string;
}

export interface LayerRow {
  chainId: string;
  diffId: string;
  /** The ChainID below it; '' for a base layer. */
  parent: string;
  /** Bytes of the layer's uncompressed tar (unpackLayer's count). */
  size: number;
  /** The blob it was unpacked from (what save writes). */
  blob: string;
}

const SCHEMA_VERSION = 1;

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY,
  created TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS layers (
  chain_id TEXT PRIMARY KEY,
  diff_id TEXT NOT NULL,
  parent TEXT NOT NULL,
  size INTEGER NOT NULL,
  blob TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS image_layers (
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  chain_id TEXT NOT NULL REFERENCES layers (chain_id),
  blob TEXT NOT NULL,
  PRIMARY KEY (image_id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers (chain_id);
CREATE INDEX IF NOT EXISTS image_layers_blob ON image_layers (blob);
CREATE TABLE IF NOT EXISTS tags (
  ref TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_image ON tags (image_id);
CREATE TABLE IF NOT EXISTS repo_digests (
  ref TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repo_digests_image ON repo_digests (image_id);
PRAGMA user_version = ${SCHEMA_VERSION};
`;

const LAYERS_OF = `SELECT il.image_id, il.chain_id, il.blob, l.diff_id FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id`;

const SQL = {
  begin: 'BEGIN IMMEDIATE',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  images: 'SELECT id, created FROM images ORDER BY created, id',
  image: 'SELECT id, created FROM images WHERE id = ?',
  imagesByPrefix: "SELECT id FROM images WHERE id >= ? AND id < ? || 'g' LIMIT 2",
  allLayersOf: `${LAYERS_OF} ORDER BY il.image_id, il.position`,
  layersOf: `${LAYERS_OF} WHERE il.image_id = ? ORDER BY il.position`,
  addImage: 'INSERT INTO images (id, created) VALUES (?, ?)',
  addImageLayer: 'INSERT INTO image_layers (image_id, position, chain_id, blob) VALUES (?, ?, ?, ?)',
  delImage: 'DELETE FROM images WHERE id = ?',
  layer: 'SELECT chain_id, diff_id, parent, size, blob FROM layers WHERE chain_id = ?',
  allLayers: 'SELECT chain_id FROM layers',
  addLayer: 'INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size, blob) VALUES (?, ?, ?, ?, ?)',
  layerRefs: 'SELECT count(DISTINCT image_id) AS n FROM image_layers WHERE chain_id = ?',
  delLayer: 'DELETE FROM layers WHERE chain_id = ?',
  delUnusedLayers: 'DELETE FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)',
  imageSize: 'SELECT coalesce(sum(l.size), 0) AS n FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id WHERE il.image_id = ?',
  blobUsed: `SELECT EXISTS (SELECT 1 FROM images WHERE id = ?1) OR EXISTS (SELECT 1 FROM image_layers WHERE blob = ?1)
               OR EXISTS (SELECT 1 FROM layers WHERE blob = ?1) AS used`,
  usedBlobs: 'SELECT id AS d FROM images UNION SELECT blob FROM image_layers UNION SELECT blob FROM layers',
  tag: 'SELECT image_id FROM tags WHERE ref = ?',
  tagsOf: 'SELECT ref FROM tags WHERE image_id = ? ORDER BY ref',
  setTag: 'INSERT INTO tags (ref, image_id) VALUES (?, ?) ON CONFLICT (ref) DO UPDATE SET image_id = excluded.image_id',
  delTag: 'DELETE FROM tags WHERE ref = ?',
  digest: 'SELECT image_id FROM repo_digests WHERE ref = ?',
  digestsOf: 'SELECT ref FROM repo_digests WHERE image_id = ? ORDER BY ref',
  setDigest: 'INSERT INTO repo_digests (ref, image_id) VALUES (?, ?) ON CONFLICT (ref) DO UPDATE SET image_id = excluded.image_id',
  delDigest: 'DELETE FROM repo_digests WHERE ref = ?',
  // Only reachable if foreign keys were ever off; kept as the crash rule says.
  delDanglingRefs: `DELETE FROM tags WHERE image_id NOT IN (SELECT id FROM images);
                    DELETE FROM repo_digests WHERE image_id NOT IN (SELECT id FROM images)`,
} as const;

type Row = Record<string, unknown>;
type Statements = { -readonly [K in keyof typeof SQL]: StatementSync };

/** SQLite primary result codes (https://sqlite.org/rescode.html) */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

function sqliteCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/** SQLite does not fsync the directory of a main file it creates. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

export class ImageDb {
  private readonly db: DatabaseSync;
  private readonly st: Statements;

  /** Opens (creating) and locks the database at `path`; its directory must exist. */
  static open(path: string): ImageDb {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { timeout: 250 });
      // EXCLUSIVE before the first WAL access: no -shm file, one lock till close.
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      const mode = (db.prepare('PRAGMA journal_mode = WAL').get() as Row | undefined)?.journal_mode;
      if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, expected wal`);
      db.exec('PRAGMA synchronous = FULL');
      db.exec('PRAGMA foreign_keys = ON');
      db.exec('BEGIN IMMEDIATE');
      const version = (db.prepare('PRAGMA user_version').get() as Row | undefined)?.user_version as number;
      if (version > SCHEMA_VERSION) throw new Error(`schema version ${version} is newer than this cnm's (${SCHEMA_VERSION})`);
      db.exec(SCHEMA_SQL);
      db.exec('COMMIT');
      syncDir(dirname(path));
      return new ImageDb(db);
    } catch (err) {
      try { db?.close(); } catch { /* the original error matters */ }
      const code = sqliteCode(err);
      if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
        throw new CnmError('UNAVAILABLE', `image store ${path} is in use by another process`, { cause: err });
      }
      throw new CnmError('INTERNAL', `cannot open image store ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private constructor(db: DatabaseSync) {
    this.db = db;
    const st: Partial<Statements> = {};
    for (const [name, sql] of Object.entries(SQL)) if (name !== 'delDanglingRefs') st[name as keyof Statements] = db.prepare(sql);
    this.st = st as Statements;
  }

  close(): void { if (this.db.isOpen) this.db.close(); }

  /** Runs `fn` as one transaction: all of it is committed, or none. */
  tx<T>(fn: () => T): T {
    this.st.begin.run();
    try {
      const out = fn();
      this.st.commit.run();
      return out;
    } catch (err) {
      try { this.st.rollback.run(); } catch { /* the original error matters */ }
      throw err;
    }
  }

  images(): ImageRecord[] {
    const layers = new Map<string, Row[]>();
    for (const r of this.st.allLayersOf.all()) {
      const id = r.image_id as string;
      layers.set(id, [...(layers.get(id) ?? []), r]);
    }
    return this.st.images.all().map((r) => record(r, layers.get(r.id as string) ?? []));
  }

  image(id: string): ImageRecord | undefined {
    const r = this.st.image.get(id);
    return r ? record(r, this.st.layersOf.all(id)) : undefined;
  }

  /** Up to two image IDs starting with `prefix` ("sha256:<hex>"). */
  idsByPrefix(prefix: string): string[] { return this.st.imagesByPrefix.all(prefix, prefix).map((r) => r.id as string); }

  /** Adds an image with its layers in order; each layer's row must exist already. */
  addImage(rec: ImageRecord): void {
    this.st.addImage.run(rec.id, rec.created);
    for (const [i, c] of rec.chainIds.entries()) this.st.addImageLayer.run(rec.id, i, c, rec.layerBlobs[i]!);
  }

  /** Deletes an image with its tags, repo digests and layer list. */
  deleteImage(id: string): void { this.st.delImage.run(id); }

  layer(chainId: string): LayerRow | undefined {
    const r = this.st.layer.get(chainId);
    return r ? { chainId: r.chain_id as string, diffId: r.diff_id as string, parent: r.parent as string, size: Number(r.size), blob: r.blob as string } : undefined;
  }

  layerIds(): Set<string> { return new Set(this.st.allLayers.all().map((r) => r.chain_id as string)); }

  /** Keeps an existing row (its dir is already there). */
  addLayer(l: LayerRow): void { this.st.addLayer.run(l.chainId, l.diffId, l.parent, l.size, l.blob); }

  layerRefs(chainId: string): number { return Number(this.st.layerRefs.get(chainId)?.n ?? 0); }

  deleteLayer(chainId: string): void { this.st.delLayer.run(chainId); }

  /** Removes rows of layers no image names, and tags or digests naming no image. */
  deleteUnreferenced(): void {
    this.st.delUnusedLayers.run();
    this.db.exec(SQL.delDanglingRefs);
  }

  imageSize(id: string): number { return Number(this.st.imageSize.get(id)?.n ?? 0); }

  blobUsed(digest: string): boolean { return Number(this.st.blobUsed.get(digest)?.used ?? 0) !== 0; }

  usedBlobs(): Set<string> { return new Set(this.st.usedBlobs.all().map((r) => r.d as string)); }

  tagged(ref: string): string | undefined { return this.st.tag.get(ref)?.image_id as string | undefined; }

  tagsOf(id: string): string[] { return this.st.tagsOf.all(id).map((r) => r.ref as string); }

  setTag(ref: string, id: string): void { this.st.setTag.run(ref, id); }

  deleteTag(ref: string): void { this.st.delTag.run(ref); }

  digested(ref: string): string | undefined { return this.st.digest.get(ref)?.image_id as string | undefined; }

  digestsOf(id: string): string[] { return this.st.digestsOf.all(id).map((r) => r.ref as string); }

  setDigest(ref: string, id: string): void { this.st.setDigest.run(ref, id); }

  deleteDigest(ref: string): void { this.st.delDigest.run(ref); }
}

function record(r: Row, layers: Row[]): ImageRecord {
  return {
    id: r.id as string,
    diffIds: layers.map((l) => l.diff_id as string),
    chainIds: layers.map((l) => l.chain_id as string),
    layerBlobs: layers.map((l) => l.blob as string),
    created: r.created as string,
  };
}
