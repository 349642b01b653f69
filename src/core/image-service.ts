// Images as the Engine API serves them: references normalised as Docker
// normalises them (tags are kept in their full form,
// docker.io/library/busybox:latest, and shown familiar), removal with
// Docker's conflict rules, pull, load, import and save. The store
// (src/images) keeps blobs, layers and metadata; this adds the rules.
import type { Pack } from 'tar-stream';
import { CnmError, conflict, invalid, notFound } from '../model/errors.ts';
import { shortId } from '../model/ids.ts';
import { loadArchive, repoOf, writeDockerArchive } from '../images/index.ts';
import type { ArchiveImage, ImageRecord, ImageStore } from '../images/index.ts';
import { decompress } from '../images/compression.ts';
import { chainIds, sha256 } from '../images/digest.ts';
import { parseImageConfig } from '../images/image-config.ts';
import { familiarString, parseReference, referenceName, referenceString, withDefaultTag, isValidTag } from '../images/reference.ts';
import type { ImageReference } from '../images/reference.ts';
import { RegistryClient, parsePlatform, pullImage } from '../images/registry/index.ts';
import type { Credentials, Platform, ProgressEvent } from '../images/registry/index.ts';
import { parseChanges } from './image-changes.ts';
import type { Logger } from './context.ts';

/** A container that uses an image (rmi refuses to pull the rug from under it). */
export interface ImageUser { id: string; running: boolean }

export interface ImageServiceOptions {
  store: ImageStore;
  /** Containers using the image with this ID. */
  usersOf: (imageId: string) => ImageUser[];
  /** Registries reached over plain HTTP besides loopback ones (--insecure-registry). */
  insecureRegistries?: readonly string[];
  /** docker events: an image event (Docker's actor ID and attributes: `name`, or a prune's `reclaimed`). */
  onEvent?: (action: string, id: string, attributes: Record<string, string>) => void;
  log?: Logger;
}

/** One line of Docker's JSON message stream (pkg/jsonmessage). */
export interface JsonMessage extends Partial<ProgressEvent> {
  stream?: string;
  aux?: unknown;
}
export type Emit = (m: JsonMessage) => void;

export interface ImageView {
  rec: ImageRecord;
  config: Record<string, unknown>;
  /** Familiar tags (busybox:latest) and repo digests (busybox@sha256:…). */
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

export interface DeleteItem { Untagged?: string; Deleted?: string }

const toFamiliar = (full: string): string => familiarString(parseReference(full));

/** A tag's or repo digest's full form (busybox -> docker.io/library/busybox:latest), undefined for an ID. */
function refForm(s: string): string | undefined {
  try {
    const r = parseReference(s);
    return referenceString(r.digest !== undefined ? r : withDefaultTag(r));
  } catch {
    return undefined;
  }
}

/** The full form of a user's reference with `latest` added, or undefined when it cannot be one (an ID). */
function fullRef(s: string): string | undefined {
  try {
    return referenceString(withDefaultTag(parseReference(s)));
  } catch {
    return undefined;
  }
}

export class ImageService {
  readonly store: ImageStore;
  private readonly usersOf: (imageId: string) => ImageUser[];
  private readonly insecure: readonly string[];
  private readonly log: Logger | undefined;
  private readonly event: (action: string, id: string, attributes: Record<string, string>) => void;

  constructor(o: ImageServiceOptions) {
    this.store = o.store;
    this.usersOf = o.usersOf;
    this.insecure = o.insecureRegistries ?? [];
    this.log = o.log;
    this.event = o.onEvent ?? (() => undefined);
  }

  /**
   * By reference (busybox, busybox:1, docker.io/library/busybox@sha256:…),
   * full ID (sha256:… or bare hex) or unambiguous ID prefix, in Docker's
   * order: a name first, then an ID.
   */
  resolve(nameOrId: string): ImageRecord {
    const ref = fullRef(nameOrId);
    if (ref !== undefined) {
      try { return this.store.resolve(ref); } catch (e) { if (!(e instanceof CnmError) || e.code !== 'NOT_FOUND') throw e; }
    }
    if (/^(sha256:)?[0-9a-f]{1,64}$/.test(nameOrId)) {
      try { return this.store.resolve(nameOrId); } catch (e) { if (!(e instanceof CnmError) || e.code !== 'NOT_FOUND') throw e; }
    }
    // Docker names the reference it looked for: `ghost` is ghost:latest.
    throw notFound(`No such image: ${ref !== undefined && !/^(sha256:)?[0-9a-f]{1,64}$/.test(nameOrId) ? toFamiliar(ref) : nameOrId}`);
  }

  config(id: string): Promise<Record<string, unknown>> { return this.store.config(id); }

  async view(rec: ImageRecord): Promise<ImageView> {
    return {
      rec,
      config: await this.config(rec.id),
      repoTags: this.store.tagsOf(rec.id).map(toFamiliar),
      repoDigests: this.store.digestsOf(rec.id).map(toFamiliar),
      size: await this.store.size(rec.id),
    };
  }

  async list(): Promise<ImageView[]> {
    return Promise.all(this.store.list().map((r) => this.view(r)));
  }

  /** docker tag: repo is a name (any form), tag defaults to latest. */
  async tag(source: string, repo: string, tag: string): Promise<void> {
    const rec = this.resolve(source);
    if (!repo) throw invalid('repository name must have at least one component: give repo=NAME');
    const t = tag || 'latest';
    if (!isValidTag(t)) throw invalid(`invalid tag format: ${JSON.stringify(t)}`);
    let ref: ImageReference;
    try {
      ref = parseReference(repo);
    } catch (e) {
      throw invalid(`invalid reference format: ${(e as Error).message} (repo ${JSON.stringify(repo)})`);
    }
    if (ref.digest !== undefined || ref.tag !== undefined) throw invalid(`invalid repository name ${JSON.stringify(repo)}: give the tag in tag=, not in the name`);
    await this.store.tag(referenceString({ ...ref, tag: t }), rec.id);
    this.event('tag', rec.id, { name: toFamiliar(referenceString({ ...ref, tag: t })) });
  }

  /**
   * docker rmi (M daemon/images/image_delete.go): by a tag of an image with
   * other tags, only that tag goes; otherwise the image goes with all its
   * tags, refused while containers use it (running: even with force) or,
   * by ID, while several repositories name it (unless forced).
   */
  async remove(name: string, force: boolean): Promise<DeleteItem[]> {
    const id = this.resolve(name).id;
    const items = await this.removeItems(name, force);
    // moby image_delete.go: untag and delete events name the image by ID.
    // Deleted rows also list the image's layers: one delete event, for the image.
    for (const it of items) if (it.Untagged !== undefined || it.Deleted === id) this.event(it.Untagged !== undefined ? 'untag' : 'delete', id, { name: id });
    return items;
  }

  private async removeItems(name: string, force: boolean): Promise<DeleteItem[]> {
    const rec = this.resolve(name);
    const short = rec.id.slice(7, 19);
    const tags = this.store.tagsOf(rec.id);
    const digests = this.store.digestsOf(rec.id);
    const ref = refForm(name);
    const byRef = ref !== undefined && (tags.includes(ref) || digests.includes(ref));
    const users = this.usersOf(rec.id);
    const running = users.find((u) => u.running);
    if (byRef) {
      // The store drops a repository's digests with its last tag: what would remain?
      const repo = repoOf(ref);
      const lastOfRepo = tags.includes(ref) && !tags.some((t) => t !== ref && repoOf(t) === repo);
      const left = [...tags, ...digests].filter((r) => r !== ref && !(lastOfRepo && digests.includes(r) && repoOf(r) === repo));
      if (!left.length && users.length && !force) {
        throw conflict(`conflict: unable to remove repository reference ${JSON.stringify(name)} (must force) - container ${shortId(users[0]!.id)} is using its referenced image ${short}`);
      }
      if (left.length || users.length) {
        await this.store.untag(ref);
        if (lastOfRepo) for (const d of digests.filter((x) => repoOf(x) === repo)) await this.store.untag(d);
        return [{ Untagged: toFamiliar(ref) }];
      }
    } else {
      if (running) throw conflict(`conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${shortId(running.id)}`);
      if (users.length && !force) throw conflict(`conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${shortId(users[0]!.id)}`);
      if (users.length) {
        // Forced while a stopped container uses it: Docker keeps the image
        // (as <none>) and takes only its names.
        for (const n of [...tags, ...digests]) await this.store.untag(n);
        return [...tags, ...digests].map((n) => ({ Untagged: toFamiliar(n) }));
      }
    }
    const out = await this.store.remove(byRef ? ref : rec.id, force);
    return [
      ...out.untagged.map((u): DeleteItem => ({ Untagged: toFamiliar(u) })),
      ...out.deleted.map((d): DeleteItem => ({ Deleted: d })),
    ];
  }

  /** docker image prune: dangling images (or with all, every unused one) that `keep` does not spare. */
  async prune(all: boolean, keep: (v: ImageView) => boolean): Promise<{ deleted: DeleteItem[]; reclaimed: number }> {
    const deleted: DeleteItem[] = [];
    let reclaimed = 0;
    for (const v of await this.list()) {
      if (!all && v.repoTags.length) continue;
      if (this.usersOf(v.rec.id).length || keep(v)) continue;
      const before = await this.layerBytes();
      deleted.push(...await this.remove(v.rec.id, true));
      reclaimed += before - await this.layerBytes();
    }
    this.event('prune', '', { reclaimed: String(reclaimed) });
    return { deleted, reclaimed };
  }

  /** Bytes of unpacked layers, each counted once however many images share it (system df's LayersSize). */
  async layerBytes(): Promise<number> {
    const chains = new Set(this.store.list().flatMap((r) => r.chainIds));
    let n = 0;
    for (const c of chains) n += (await this.store.layer(c)).size;
    return n;
  }

  /** docker load: Docker's messages, "Loaded image: busybox:latest" or "Loaded image ID: sha256:…". */
  async load(body: AsyncIterable<Uint8Array>, emit: Emit): Promise<void> {
    // A tag another image holds moves to the loaded one, as in Docker, which says so.
    const moved = new Map<string, string>();
    const loaded = await loadArchive(this.store, body, (t) => {
      const full = fullRef(t);
      if (full === undefined || parseReference(t).digest !== undefined) throw invalid(`invalid tag ${JSON.stringify(t)}: expected name:tag`);
      try { moved.set(full, this.store.resolve(full).id); } catch { /* a new tag */ }
      return full;
    });
    for (const img of loaded) {
      this.event('load', img.id, { name: img.id });
      for (const t of img.tags) {
        const old = moved.get(t);
        if (old && old !== img.id) emit({ stream: `The image ${toFamiliar(t)} already exists, renaming the old one with ID ${old} to empty string\n` });
      }
      if (img.tags.length) for (const t of img.tags) emit({ stream: `Loaded image: ${toFamiliar(t)}\n` });
      else emit({ stream: `Loaded image ID: ${img.id}\n` });
    }
  }

  /** docker save: the images named, each with its tags (or only the tag it was named by). */
  async save(names: string[]): Promise<Pack> {
    const images: ArchiveImage[] = [];
    for (const name of names) {
      const rec = this.resolve(name);
      const ref = fullRef(name);
      const tags = this.store.tagsOf(rec.id);
      const layers = [];
      for (const c of rec.chainIds) {
        const l = await this.store.layer(c);
        layers.push({ diffId: l.diffId, size: l.size, open: () => decompress(this.store.blobs.open(l.blob), `layer ${l.blob}`) });
      }
      const chosen = ref !== undefined && tags.includes(ref) ? [ref] : tags;
      images.push({ config: await this.store.blobs.read(rec.id), configDigest: rec.id, layers, repoTags: chosen.map(toFamiliar) });
      this.event('save', rec.id, { name: rec.id });
    }
    return writeDockerArchive(images);
  }

  /**
   * docker pull: the registry's layers downloaded concurrently into the
   * blob store, then unpacked; the image appears only once it is whole.
   * Docker's closing lines ("Pull complete", "Digest:", "Status:") are held
   * until then, so a failed unpack never follows a success message.
   */
  async pull(fromImage: string, tag: string, o: { credentials?: Credentials; platform?: string; emit: Emit }): Promise<ImageRecord> {
    let ref = parseReference(fromImage);
    if (tag) {
      if (/^sha256:/.test(tag)) ref = { ...ref, digest: tag };
      else if (isValidTag(tag)) ref = { ...ref, tag };
      else throw invalid(`invalid tag format: ${JSON.stringify(tag)}`);
    }
    ref = withDefaultTag(ref);
    const platforms: Platform[] = o.platform ? [parsePlatform(o.platform)] : [];
    const client = new RegistryClient({ domain: ref.domain, insecureRegistries: this.insecure, ...(o.credentials ? { credentials: o.credentials } : {}) });
    const held: JsonMessage[] = [];
    const named = ref.digest !== undefined ? referenceString(ref) : referenceString({ ...ref, digest: undefined });
    let before: string | undefined;
    try { before = this.store.resolve(named).id; } catch { /* not here yet */ }
    let chains: Promise<string[]> | undefined;
    const t0 = performance.now();
    const result = await pullImage(client, ref, this.store.blobs, {
      ...(platforms.length ? { platforms } : {}),
      layerPresent: async (config, i) => {
        // The config is read once per pull, whatever the number of layers.
        chains ??= this.store.blobs.read(config).then((b) => chainIds(parseImageConfig(b, `config ${config}`).diffIds));
        const chain = (await chains)[i];
        return chain !== undefined && this.store.layerRefs(chain) > 0;
      },
      onProgress: (e) => {
        if (e.status === 'Pull complete' || e.status.startsWith('Digest: ') || e.status.startsWith('Status: ')) held.push(e);
        else o.emit(e);
      },
    });
    const layers = result.layers.map((l) => l.digest);
    for (const e of held) if (e.status === 'Pull complete') o.emit({ status: 'Extracting', progressDetail: {}, ...(e.id ? { id: e.id } : {}) });
    const tags = ref.tag !== undefined ? [referenceString({ ...ref, digest: undefined })] : [];
    const repoDigest = `${referenceName(ref)}@${result.digest}`;
    try {
      const t1 = performance.now();
      const rec = await this.store.addImage(result.config.digest, layers, tags, { repoDigests: [repoDigest] });
      this.log?.debug(`pull ${familiarString(ref)}: download ${(t1 - t0).toFixed(0)} ms, unpack and commit ${(performance.now() - t1).toFixed(0)} ms`);
      // "Up to date" when the name named this image already (Docker's
      // wording), whatever had to be downloaded.
      const display = familiarString(ref);
      for (const e of held) {
        if (e.status?.startsWith('Status: ')) e.status = before === rec.id ? `Status: Image is up to date for ${display}` : `Status: Downloaded newer image for ${display}`;
        o.emit(e);
      }
      // Docker names a pull by the reference pulled (moby daemon/images/image_pull.go).
      this.event('pull', familiarString(ref), { name: familiarString(ref) });
      return rec;
    } finally {
      // On failure, and also on success when the image was there already
      // (loaded, its layers stored from other blobs): what no image names goes.
      await this.store.dropUnusedBlobs([result.config.digest, ...layers]);
    }
  }

  /** docker login: the registry must accept the credentials (Basic or a Bearer token for them). */
  async login(domain: string, credentials: Credentials): Promise<void> {
    const client = new RegistryClient({ domain, insecureRegistries: this.insecure, credentials });
    await client.ping();
  }

  /**
   * docker import: a root filesystem tar (gzip or zstd or plain) becomes a
   * one-layer image whose config carries the --change instructions.
   */
  /**
   * docker commit: a new image of the container's image's layers plus its
   * writable layer (`layer`, a tar), with the container's config as the
   * image's defaults and the --change instructions applied over it.
   */
  async commit(from: { imageId: string; containerId: string; config: Record<string, unknown>; cmd: string[] },
    layer: AsyncIterable<Uint8Array>, o: { repo: string; tag: string; comment: string; author: string; changes: string[] }): Promise<ImageRecord> {
    const changes = parseChanges(o.changes);
    let tags: string[] = [];
    if (o.repo) {
      const r = parseReference(o.repo);
      if (r.digest !== undefined) throw invalid(`invalid reference format: cannot commit to a digest reference ${JSON.stringify(o.repo)}`);
      const t = o.tag || r.tag || 'latest';
      if (!isValidTag(t)) throw invalid(`invalid tag format: ${JSON.stringify(t)}`);
      tags = [referenceString({ ...r, tag: t })];
    }
    const parent = this.resolve(from.imageId);
    const base = await this.config(parent.id);
    const blob = await this.store.blobs.putUnknown(layer);
    const fresh = blob.created ? [blob.digest] : [];
    try {
      const created = new Date().toISOString();
      const history = Array.isArray(base.history) ? base.history : [];
      const config = Buffer.from(JSON.stringify({
        ...base,
        ...(o.author ? { author: o.author } : {}),
        comment: o.comment,
        config: { ...from.config, ...changes },
        container: from.containerId,
        created,
        history: [...history, { created, created_by: from.cmd.join(' '), ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}) }],
        rootfs: { type: 'layers', diff_ids: [...parent.diffIds, blob.digest] },
      }));
      const cfg = await this.store.blobs.putUnknown((async function* () { yield config; })());
      if (cfg.created) fresh.push(cfg.digest);
      const rec = await this.store.addImage(cfg.digest, [...parent.layerBlobs, blob.digest], tags);
      return rec;
    } catch (err) {
      await this.store.dropUnusedBlobs(fresh);
      throw err;
    }
  }

  async import(body: AsyncIterable<Uint8Array>, o: { repo: string; tag: string; message: string; changes: string[]; platform?: string; emit: Emit }): Promise<ImageRecord> {
    const container = parseChanges(o.changes);
    let tags: string[] = [];
    if (o.repo) {
      const r = parseReference(o.repo);
      if (r.digest !== undefined) throw invalid(`cannot import digest reference ${JSON.stringify(o.repo)}`);
      const t = o.tag || r.tag || 'latest';
      if (!isValidTag(t)) throw invalid(`invalid tag format: ${JSON.stringify(t)}`);
      tags = [referenceString({ ...r, tag: t })];
    }
    const platform = o.platform ? parsePlatform(o.platform) : { os: 'linux', architecture: 'amd64' };
    // Kept uncompressed, as Docker keeps imported layers: its digest is then its DiffID.
    const layer = await this.store.blobs.putUnknown(decompress(body, 'the imported tar'));
    const fresh = layer.created ? [layer.digest] : [];
    try {
      const diffId = layer.digest;
      const created = new Date().toISOString();
      const config = Buffer.from(JSON.stringify({
        architecture: platform.architecture,
        ...(platform.variant ? { variant: platform.variant } : {}),
        comment: o.message || 'Imported from -',
        config: container,
        created,
        history: [{ created, comment: o.message || 'Imported from -' }],
        os: platform.os,
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }));
      const digest = sha256(config);
      const cfg = await this.store.blobs.putUnknown((async function* () { yield config; })());
      if (cfg.created) fresh.push(cfg.digest);
      if (cfg.digest !== digest) throw new CnmError('INTERNAL', `config stored as ${cfg.digest}, expected ${digest}`);
      const rec = await this.store.addImage(digest, [layer.digest], tags);
      o.emit({ status: rec.id });
      this.event('import', rec.id, { name: rec.id });
      return rec;
    } catch (err) {
      await this.store.dropUnusedBlobs(fresh);
      throw err;
    }
  }
}
