// `docker load`: a `docker save` tar (manifest.json; layers as
// <id>/layer.tar before Docker 25, blobs/sha256/<hex> since) or a pure OCI
// image layout (oci-layout, index.json, blobs/), either possibly compressed
// as a whole (M image/tarexport/load.go; PROTOCOLS.md §1.6).
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { invalid } from '../model/errors.ts';
import { stageArchive, type StagedArchive } from './archive-stage.ts';
import { digestHex, isDigest, sha256 } from './digest.ts';
import { parseImageConfig } from './image-config.ts';
import type { ImageStore } from './image-store.ts';

export interface LoadedImage { id: string; tags: string[] }

/** One image found in the archive, before anything is stored. */
interface Planned { config: string; layers: string[]; tags: string[]; layerDigests?: string[] }

// Layer media types Docker and the OCI spec define (IS media-types.md,
// D manifest-v2-2.md); the bytes' magic decides the decompressor.
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd',
]);
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/**
 * Loads every image of the archive. `normalizeTag` turns a RepoTags entry
 * (busybox:latest) into the form the store keys tags by, throwing on a bad
 * one; by default tags are kept as written.
 */
export async function loadArchive(store: ImageStore, body: AsyncIterable<Uint8Array>, normalizeTag: (t: string) => string = (t) => t): Promise<LoadedImage[]> {
  const dir = join(store.tmpDir(), `load-${randomBytes(6).toString('hex')}.tmp`);
  const fresh = new Set<string>();
  try {
    const staged = await stageArchive(body, dir);
    const plans = staged.has('manifest.json') ? await planDocker(staged) : staged.has('index.json') ? await planOci(staged) : undefined;
    if (!plans) throw invalid('archive: neither manifest.json (docker save) nor index.json (OCI image layout) found');
    if (plans.length === 0) throw invalid('archive: no images in it');
    for (const p of plans) p.tags = p.tags.map(normalizeTag);
    // Every config is checked against its layer count before anything is stored.
    for (const p of plans) {
      const info = parseImageConfig(await readFile(staged.path(p.config, 'config')), `config ${p.config}`);
      if (info.diffIds.length !== p.layers.length) throw invalid(`invalid manifest, layers length mismatch: expected ${info.diffIds.length} (config rootfs.diff_ids), got ${p.layers.length}`);
    }
    const out: LoadedImage[] = [];
    for (const p of plans) {
      const put = async (path: string, expected?: string): Promise<string> => {
        const blob = staged.blob(path, 'archive');
        const digest = blob.digest;
        // Moved into the store, not copied: a second reference to the same
        // staged file finds the blob there already.
        const { created } = await store.blobs.adopt(blob.path, digest);
        if (created) fresh.add(digest);
        if (expected !== undefined && digest !== expected) throw invalid(`archive: blob ${path} does not match its digest: expected ${expected}, got ${digest}`);
        return digest;
      };
      const config = await put(p.config);
      const layers: string[] = [];
      for (const [i, l] of p.layers.entries()) layers.push(await put(l, p.layerDigests?.[i]));
      const rec = await store.addImage(config, layers, p.tags);
      out.push({ id: rec.id, tags: p.tags });
    }
    // An image already stored keeps the blobs it was made from: the
    // archive's copies (another compression, say) are not kept beside them.
    await store.dropUnusedBlobs(fresh);
    return out;
  } catch (err) {
    await store.dropUnusedBlobs(fresh);
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readJson(staged: StagedArchive, name: string): Promise<unknown> {
  const text = await readFile(staged.path(name, 'archive'), 'utf8');
  try { return JSON.parse(text); } catch (err) { throw invalid(`archive: ${name} is not valid JSON (${(err as Error).message})`); }
}

async function planDocker(staged: StagedArchive): Promise<Planned[]> {
  const m = await readJson(staged, 'manifest.json');
  if (!Array.isArray(m)) throw invalid('archive: manifest.json must be a JSON array');
  return m.map((e: Record<string, unknown>, i): Planned => {
    if (typeof e?.Config !== 'string') throw invalid(`archive: manifest.json[${i}].Config must be a path in the archive`);
    if (!Array.isArray(e.Layers) || e.Layers.some((l) => typeof l !== 'string')) throw invalid(`archive: manifest.json[${i}].Layers must be an array of paths`);
    const tags = (e.RepoTags ?? []) as unknown[];
    if (!Array.isArray(tags)) throw invalid(`archive: manifest.json[${i}].RepoTags must be an array`);
    for (const t of tags) if (typeof t !== 'string' || !/^[^:@\s]+(:\d+)?[^:@\s]*:[\w][\w.-]{0,127}$/.test(t)) throw invalid(`invalid tag ${JSON.stringify(t)}: expected name:tag`);
    return { config: e.Config, layers: e.Layers as string[], tags: tags as string[] };
  });
}

const blobPath = (d: unknown, what: string): string => `blobs/sha256/${digestHex(d, what)}`;

async function planOci(staged: StagedArchive): Promise<Planned[]> {
  const out: Planned[] = [];
  const walk = async (desc: Record<string, unknown>, where: string, name: string | undefined): Promise<void> => {
    const type = desc.mediaType;
    if (!isDigest(desc.digest)) throw invalid(`archive: ${where}.digest is ${JSON.stringify(desc.digest)}, expected sha256:<64 hex>`);
    const bytes = await readFile(staged.path(blobPath(desc.digest, where), where));
    if (sha256(bytes) !== desc.digest) throw invalid(`archive: blob ${desc.digest} (${where}) does not match its digest (got ${sha256(bytes)})`);
    const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof type === 'string' && INDEX_TYPES.has(type)) {
      for (const [i, d] of ((doc.manifests ?? []) as Record<string, unknown>[]).entries()) await walk(d, `${where}.manifests[${i}]`, refName(d) ?? name);
      return;
    }
    if (typeof type !== 'string' || !MANIFEST_TYPES.has(type)) throw invalid(`archive: ${where} has the unknown media type ${JSON.stringify(type)} (expected an OCI/Docker image manifest or index)`);
    const config = doc.config as Record<string, unknown> | undefined;
    if (!config || !CONFIG_TYPES.has(String(config.mediaType))) throw invalid(`archive: ${where} config has the unknown media type ${JSON.stringify(config?.mediaType)}`);
    const descs = (doc.layers ?? []) as Record<string, unknown>[];
    const layers = descs.map((l, i) => {
      if (!LAYER_TYPES.has(String(l.mediaType))) throw invalid(`archive: ${where} layer ${i} has the unknown media type ${JSON.stringify(l.mediaType)}`);
      return blobPath(l.digest, `${where} layer ${i}`);
    });
    out.push({ config: blobPath(config.digest, `${where} config`), layers, tags: name ? [name] : [], layerDigests: descs.map((l) => String(l.digest)) });
  };
  const index = (await readJson(staged, 'index.json')) as Record<string, unknown>;
  if (!Array.isArray(index?.manifests)) throw invalid('archive: index.json has no "manifests" array');
  for (const [i, d] of (index.manifests as Record<string, unknown>[]).entries()) await walk(d, `index.json manifests[${i}]`, refName(d));
  return out;
}

/** containerd's full name first, else the OCI ref name when it is a whole reference (name:tag). */
function refName(desc: Record<string, unknown>): string | undefined {
  const a = (desc.annotations ?? {}) as Record<string, unknown>;
  const full = a['io.containerd.image.name'];
  if (typeof full === 'string') return full;
  const ref = a['org.opencontainers.image.ref.name'];
  return typeof ref === 'string' && ref.includes(':') ? ref : undefined;
}
