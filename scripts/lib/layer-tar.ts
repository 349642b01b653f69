// One layer tar in memory from a list of entries, every entry owned by root
// and stamped with the same time, so that the same entries always give the
// same bytes (hence the same DiffID and image ID). Shared by the image
// builder scripts.
import tar from 'tar-stream';

export type LayerEntry =
  | { type: 'directory'; name: string; mode?: number }
  | { type: 'file'; name: string; data: Buffer | string; mode?: number }
  | { type: 'link' | 'symlink'; name: string; linkname: string; mode?: number };

export async function layerTar(entries: Iterable<LayerEntry>, mtime: Date): Promise<Buffer> {
  const pack = tar.pack();
  const base = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime };
  const chunks: Buffer[] = [];
  const collect = (async (): Promise<void> => { for await (const c of pack) chunks.push(c as Buffer); })();
  for (const e of entries) {
    if (e.type === 'file') pack.entry({ ...base, name: e.name, mode: e.mode ?? 0o644 }, e.data);
    else if (e.type === 'directory') pack.entry({ ...base, name: e.name, type: 'directory', mode: e.mode ?? 0o755 });
    else pack.entry({ ...base, name: e.name, type: e.type, linkname: e.linkname, mode: e.mode ?? 0o777 });
  }
  pack.finalize();
  await collect;
  return Buffer.concat(chunks);
}
