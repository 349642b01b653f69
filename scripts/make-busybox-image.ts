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
import { sha256 } from '../src/images/digest.ts';
import { writeDockerArchive } from '../src/images/archive-save.ts';
import { layerTar } from './lib/layer-tar.ts';
import type { LayerEntry } from './lib/layer-tar.ts';

const EPOCH = new Date('2024-01-01T00:00:00Z');

export interface BusyboxImage { tar: Buffer; id: string }

/** The entries of the image's one layer. */
function* layerEntries(busybox: Buffer, applets: string[]): Generator<LayerEntry> {
  yield { type: 'directory', name: 'bin/' };
  yield { type: 'file', name: 'bin/busybox', data: busybox, mode: 0o755 };
  for (const a of applets) if (a !== 'busybox') yield { type: 'link', name: `bin/${a}`, linkname: 'bin/busybox', mode: 0o755 };
  yield { type: 'directory', name: 'etc/' };
  yield { type: 'file', name: 'etc/group', data: 'root:x:0:\nnobody:x:65534:\n' };
  yield { type: 'file', name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' };
  yield { type: 'directory', name: 'root/', mode: 0o700 };
  yield { type: 'directory', name: 'tmp/', mode: 0o1777 };
}

export async function makeBusyboxImage(busyboxPath = '/bin/busybox', tag = 'busybox:latest'): Promise<BusyboxImage> {
  const busybox = readFileSync(busyboxPath);
  const applets = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[\w.[-]+$/.test(a)).sort();
  const layer = await layerTar(layerEntries(busybox, applets), EPOCH);
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
