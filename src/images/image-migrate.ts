// Moves the JSON metadata of stores written before images.db into it, once:
//   images/<id hex>.json                 one record per image
//   tags.json                            reference -> image ID
//   layers/<chainid hex>/{diffid,parent,size,blob}
// Everything goes in one transaction, and the files are deleted only after
// it commits: a crash before the commit leaves the files (the next open
// migrates again), a crash after it leaves files whose rows are there already
// (inserted again as no-ops, then deleted). A record whose layer files are
// missing names an image that could not be used; it is left out, and what it
// alone named is collected by the open that follows.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic.ts';
import { digestHex, isDigest } from './digest.ts';
import type { ImageDb, ImageRecord, LayerRow } from './image-db.ts';

const LAYER_FILES = ['diffid', 'parent', 'size', 'blob'] as const;

/** True when there was a JSON layout to migrate. */
export async function migrateJsonLayout(root: string, db: ImageDb): Promise<boolean> {
  const recDir = join(root, 'images');
  const tagsPath = join(root, 'tags.json');
  const names = await readdir(recDir).catch(() => undefined);
  const tagsText = await readFile(tagsPath, 'utf8').catch(() => undefined);
  if (names === undefined && tagsText === undefined) return false;

  const images: ImageRecord[] = [];
  const layers = new Map<string, LayerRow>();
  for (const n of names ?? []) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue;
    const rec = await readJson<ImageRecord>(join(recDir, n));
    if (!rec || !isDigest(rec.id) || !Array.isArray(rec.chainIds) || !Array.isArray(rec.layerBlobs) || rec.chainIds.length !== rec.layerBlobs.length) continue;
    const mine: LayerRow[] = [];
    for (const c of rec.chainIds) {
      const l = layers.get(c) ?? await readLayer(root, c);
      if (l) mine.push(l);
    }
    if (mine.length !== rec.chainIds.length) continue;
    for (const l of mine) layers.set(l.chainId, l);
    images.push({ id: rec.id, diffIds: mine.map((l) => l.diffId), chainIds: rec.chainIds, layerBlobs: rec.layerBlobs, created: String(rec.created ?? new Date(0).toISOString()) });
  }
  let tags: Record<string, unknown> = {};
  try { tags = JSON.parse(tagsText ?? '{}') as Record<string, unknown>; } catch { /* written atomically; unreadable means none */ }

  db.tx(() => {
    for (const l of layers.values()) db.addLayer(l);
    for (const rec of images) if (!db.image(rec.id)) db.addImage(rec);
    for (const [ref, id] of Object.entries(tags)) {
      if (typeof id === 'string' && db.image(id) && db.tagged(ref) === undefined) db.setTag(ref, id);
    }
  });

  for (const c of layers.keys()) for (const f of LAYER_FILES) await rm(join(root, 'layers', digestHex(c), f), { force: true });
  await rm(recDir, { recursive: true, force: true });
  await rm(tagsPath, { force: true });
  await fsyncDir(root);
  return true;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try { return JSON.parse(await readFile(path, 'utf8')) as T; } catch { return undefined; }
}

async function readLayer(root: string, chainId: string): Promise<LayerRow | undefined> {
  if (!isDigest(chainId)) return undefined;
  const dir = join(root, 'layers', digestHex(chainId));
  try {
    const [diffId, parent, size, blob] = await Promise.all(LAYER_FILES.map((f) => readFile(join(dir, f), 'utf8')));
    if (!isDigest(diffId) || !isDigest(blob) || !Number.isFinite(Number(size))) return undefined;
    return { chainId, diffId, parent: parent ?? '', size: Number(size), blob };
  } catch { return undefined; }
}
