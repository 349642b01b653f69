// Pulling one image into a BlobSink: resolve the tag (choosing a platform
// from a list/index), fetch the config, then the layers concurrently,
// skipping what the sink has. Emits Docker's progress messages.
import { CnmError } from '../../model/errors.ts';
import type { BlobSink } from '../blob-sink.ts';
import { familiarString, withDefaultTag } from '../reference.ts';
import type { ImageReference } from '../reference.ts';
import type { RegistryClient, FetchedManifest } from './client.ts';
import { verified } from './digest.ts';
import { isIndexType } from './media.ts';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './media.ts';
import { DEFAULT_PLATFORM, choosePlatform, platformString } from './platform.ts';
import { progressBar, shortId } from './progress.ts';
import type { ProgressFn } from './progress.ts';

export interface PullOptions {
  /** Wanted platforms in preference order; linux/amd64 by default. */
  platforms?: Platform[];
  /** Layers downloaded at once (Docker's max-concurrent-downloads is 3). */
  concurrency?: number;
  onProgress?: ProgressFn;
  /**
   * Whether layer `index` of the image whose config is `configDigest` (in
   * the sink by then) is stored already, unpacked, though its blob is not:
   * the same DiffID came compressed otherwise, by load or another registry.
   * Docker skips those too ("Already exists").
   */
  layerPresent?: (configDigest: string, index: number) => Promise<boolean>;
}

export interface PullResult {
  reference: ImageReference;
  /** The digest of what the tag names (the index's for a multi-platform image): Docker's "Digest:". */
  digest: string;
  /** The list/index when the tag named one. */
  index?: FetchedManifest;
  /** The image manifest pulled (platform-specific). */
  manifest: FetchedManifest;
  config: Descriptor;
  layers: Descriptor[];
  /** True when the sink had the config and every layer already. */
  upToDate: boolean;
}

const DEFAULT_CONCURRENCY = 3;
const PROGRESS_EVERY_MS = 100;

export async function pullImage(client: RegistryClient, ref0: ImageReference, sink: BlobSink, opts: PullOptions = {}): Promise<PullResult> {
  const ref = withDefaultTag(ref0);
  const emit: ProgressFn = opts.onProgress ?? (() => undefined);
  const display = familiarString(ref);
  const path = ref.path;
  const wanted = opts.platforms?.length ? opts.platforms : [DEFAULT_PLATFORM];
  // A digest wins over a tag (docker pull name:tag@digest pulls the digest).
  const target = ref.digest ?? ref.tag ?? 'latest';
  emit({ status: `Pulling from ${path}`, id: ref.digest ? target : (ref.tag ?? 'latest') });

  const top = await client.getManifest(path, target, display);
  let index: FetchedManifest | undefined;
  let manifest = top;
  if (isIndexType(top.mediaType)) {
    index = top;
    const entries = parseJson<ImageIndex>(top.bytes, 'index').manifests ?? [];
    const chosen = choosePlatform(entries, wanted);
    if (!chosen) {
      throw new CnmError('NOT_FOUND', `no matching manifest for ${wanted.map(platformString).join(', ')} in the manifest list entries`);
    }
    manifest = await client.getManifest(path, chosen.digest, display);
    if (isIndexType(manifest.mediaType)) throw new CnmError('INVALID', `manifest ${chosen.digest} of ${display} is a nested index`);
  }
  const m = parseJson<ImageManifest>(manifest.bytes, 'manifest');
  if (!m.config?.digest || !Array.isArray(m.layers)) throw new CnmError('INVALID', `manifest ${manifest.digest} of ${display} has no config or layers`);

  let fetched = 0;
  const getBlob = async (d: Descriptor, onBytes?: (n: number) => void): Promise<void> => {
    const blob = await client.getBlob(path, d.digest);
    await sink.put(d.digest, d.size, verified(blob.body, d.digest, d.size, onBytes));
    fetched++;
  };

  // Config first (Docker does too: it needs rootfs.diff_ids before layers).
  if (!(await sink.has(m.config.digest))) await getBlob(m.config);

  // A digest listed twice (an image may repeat an empty layer) is fetched once,
  // as Docker's transfer manager keys downloads by digest.
  const unique = [...new Map(m.layers.map((l) => [l.digest, l])).values()];
  const present = await Promise.all(unique.map(async (l) => (await sink.has(l.digest))
    || (await opts.layerPresent?.(m.config.digest, m.layers.indexOf(l))) === true));
  const limit = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const todo: Descriptor[] = [];
  unique.forEach((l, i) => {
    if (present[i]) emit({ status: 'Already exists', progressDetail: {}, id: shortId(l.digest) });
    else {
      emit({ status: 'Pulling fs layer', progressDetail: {}, id: shortId(l.digest) });
      todo.push(l);
    }
  });
  todo.slice(limit).forEach((l) => emit({ status: 'Waiting', progressDetail: {}, id: shortId(l.digest) }));

  const downloadLayer = async (l: Descriptor): Promise<void> => {
    const id = shortId(l.digest);
    let last = 0;
    await getBlob(l, (n) => {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS && n !== l.size) return;
      last = now;
      emit({ status: 'Downloading', progressDetail: { current: n, total: l.size }, progress: progressBar(n, l.size), id });
    });
    emit({ status: 'Verifying Checksum', progressDetail: {}, id });
    emit({ status: 'Download complete', progressDetail: {}, id });
    emit({ status: 'Pull complete', progressDetail: {}, id });
  };
  await runLimited(todo, limit, downloadLayer);

  const upToDate = fetched === 0;
  emit({ status: `Digest: ${top.digest}` });
  emit({ status: upToDate ? `Status: Image is up to date for ${display}` : `Status: Downloaded newer image for ${display}` });
  return { reference: ref, digest: top.digest, index, manifest, config: m.config, layers: m.layers, upToDate };
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure rejects after the running ones settle. */
async function runLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const x = items[next++] as T;
      try {
        await fn(x);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

function parseJson<T>(b: Buffer, what: string): T {
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch {
    throw new CnmError('INVALID', `${what} is not valid JSON`);
  }
}
