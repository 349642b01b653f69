// The parts of an image config (IS config.md) the store needs: the ordered
// DiffIDs of its layers. The config's bytes are kept as they came, since the
// image ID is their digest.
import { invalid } from '../model/errors.ts';
import { isDigest } from './digest.ts';

export interface ImageConfigInfo {
  diffIds: string[];
  created?: string;
  architecture?: string;
  os?: string;
}

export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfigInfo {
  let json: unknown;
  try { json = JSON.parse(Buffer.from(bytes).toString('utf8')); } catch (err) {
    throw invalid(`${what}: image config is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid(`${what}: image config must be a JSON object`);
  const c = json as Record<string, unknown>;
  const rootfs = c.rootfs as Record<string, unknown> | undefined;
  if (typeof rootfs !== 'object' || rootfs === null) throw invalid(`${what}: image config has no "rootfs" object`);
  if (rootfs.type !== 'layers') throw invalid(`${what}: image config rootfs.type is ${JSON.stringify(rootfs.type)}, expected "layers"`);
  const ids = rootfs.diff_ids;
  if (!Array.isArray(ids)) throw invalid(`${what}: image config rootfs.diff_ids must be an array of digests`);
  ids.forEach((d, i) => {
    if (!isDigest(d)) throw invalid(`${what}: image config rootfs.diff_ids[${i}] is ${JSON.stringify(d)}, expected sha256:<64 hex>`);
  });
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return { diffIds: ids as string[], created: str(c.created), architecture: str(c.architecture), os: str(c.os) };
}
