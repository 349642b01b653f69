// docker commit's layer: an overlay upper directory turned back into an
// image layer tar (whiteouts and opaque directories as .wh. entries, hard
// links by inode, the runtime's mount points left out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { layerFromUpper } from '../../src/images/layer-from-upper.ts';
import { fsnodes } from '../../src/images/fsnodes.ts';
import { skipUnlessCI } from '../helpers/ci.ts';

const skip = skipUnlessCI('layer from upper', process.getuid?.() === 0 ? null : 'needs root (whiteouts are 0/0 character devices, opaque dirs a trusted. xattr)');

test('whiteouts, opaque dirs, hard links and symlinks become a layer tar; the runtime\'s mount points do not', { skip: skip ?? false }, async () => {
  const upper = mkdtempSync(join(tmpdir(), 'cnm-upper-'));
  try {
    mkdirSync(join(upper, 'etc'));
    writeFileSync(join(upper, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    writeFileSync(join(upper, 'etc', 'hosts'), '');
    for (const d of ['dev', 'proc', 'sys']) mkdirSync(join(upper, d));
    mkdirSync(join(upper, 'bin'));
    fsnodes().mknod(join(upper, 'bin', 'cat'), constants.S_IFCHR, 0, 0);
    mkdirSync(join(upper, 'opaque'));
    fsnodes().lsetxattr(join(upper, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    writeFileSync(join(upper, 'opaque', 'new'), 'n');
    writeFileSync(join(upper, 'a'), 'same');
    linkSync(join(upper, 'a'), join(upper, 'b'));
    symlinkSync('/etc/passwd', join(upper, 'link'));
    const extract = tar.extract();
    const got: string[] = [];
    extract.on('entry', (h, stream, next) => {
      got.push(`${h.type} ${h.name}${h.linkname ? ` -> ${h.linkname}` : ''}`);
      stream.resume();
      stream.on('end', next);
    });
    const done = new Promise<void>((r, j) => { extract.on('finish', () => r()); extract.on('error', j); });
    for await (const c of layerFromUpper(upper)) extract.write(c);
    extract.end(null);
    await done;
    assert.deepEqual(got, [
      'file a', 'link b -> a', 'directory bin/', 'file bin/.wh.cat', 'directory etc/', 'file etc/passwd',
      'symlink link -> /etc/passwd', 'directory opaque/', 'file opaque/.wh..wh..opq', 'file opaque/new',
    ]);
  } finally {
    rmSync(upper, { recursive: true, force: true });
  }
});
