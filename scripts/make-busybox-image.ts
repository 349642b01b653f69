#!/usr/bin/env node
// Builds a `busybox:latest` image as a `docker save` tarball from the host's
// busybox-static (Debian's /bin/busybox): one layer with /bin/busybox, a hard
// link per applet (`busybox --list`) as in Docker Hub's busybox image,
// /etc/passwd and /etc/group (root, nobody), /tmp (1777) and /root, and a
// config with Cmd ["sh"] and the usual PATH. Every time, owner and order is
// fixed, so the same busybox binary always gives the same image ID.
//   node scripts/make-busybox-image.ts OUT.tar [--busybox /bin/busybox] [--tag busybox:latest]
import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { sha256 } from '../src/images/digest.ts';
import { writeDockerArchive } from '../src/images/archive-save.ts';

const EPOCH = new Date('2024-01-01T00:00:00Z');

export interface BusyboxImage { tar: Buffer; id: string }

/** The layer tar of the image. */
async function layerTar(busybox: Buffer, applets: string[]): Promise<Buffer> {
  const pack = tar.pack();
  const base = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: EPOCH };
  const chunks: Buffer[] = [];
  const collect = (async (): Promise<void> => { for await (const c of pack) chunks.push(c as Buffer); })();
  const dir = (name: string, mode = 0o755): void => { pack.entry({ ...base, name, type: 'directory', mode }); };
  const file = (name: string, data: Buffer | string, mode = 0o644): void => { pack.entry({ ...base, name, mode }, data); };
  dir('bin/');
  file('bin/busybox', busybox, 0o755);
  for (const a of applets) if (a !== 'busybox') pack.entry({ ...base, name: `bin/${a}`, type: 'link', linkname: 'bin/busybox', mode: 0o755 });
  dir('etc/');
  file('etc/group', 'root:x:0:\nnobody:x:65534:\n');
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  dir('root/', 0o700);
  dir('tmp/', 0o1777);
  pack.finalize();
  await collect;
  return Buffer.concat(chunks);
}

export async function makeBusyboxImage(busyboxPath = '/bin/busybox', tag = 'busybox:latest'): Promise<BusyboxImage> {
  const busybox = readFileSync(busyboxPath);
  const applets = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[\w.[-]+$/.test(a)).sort();
  const layer = await layerTar(busybox, applets);
  const diffId = sha256(layer);
  // Key order is part of the bytes, hence of the image ID: keep it fixed.
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    created: EPOCH.toISOString(),
    history: [{ created: EPOCH.toISOString(), created_by: 'make-busybox-image: busybox-static, applet links, passwd, group' }],
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [diffId] },
  }));
  const id = sha256(config);
  const pack = writeDockerArchive([{ config, configDigest: id, layers: [{ diffId, size: layer.byteLength, open: async function* () { yield layer; } }], repoTags: [tag] }]);
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return { tar: Buffer.concat(chunks), id };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : undefined; };
  const bb = opt('--busybox');
  const tag = opt('--tag');
  const out = args[0];
  if (!out) {
    console.error('usage: make-busybox-image.ts OUT.tar [--busybox /bin/busybox] [--tag busybox:latest]');
    process.exit(2);
  }
  const img = await makeBusyboxImage(bb, tag);
  await pipeline(async function* () { yield img.tar; }, createWriteStream(out));
  console.log(img.id);
}
