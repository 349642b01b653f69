// Docker's copy-up of an image's content into an empty new volume: the path
// is resolved inside the root (symlinks never lead out of it), and a volume
// that already has content is left as it is.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyUp, resolveInRoot } from '../../src/core/copy-up.ts';

const dir = mkdtempSync(join(tmpdir(), 'cnm-copy-up-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('copy-up', () => {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'srv', 'data', 'sub'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'srv', 'data', 'a'), 'A');
  writeFileSync(join(root, 'srv', 'data', 'sub', 'b'), 'B');
  symlinkSync('a', join(root, 'srv', 'data', 'link'));
  chmodSync(join(root, 'srv', 'data'), 0o750);
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('../../../../../../etc', join(root, 'srv', 'up'));
  symlinkSync('srv/data', join(root, 'rel'));
  symlinkSync('loop', join(root, 'loop'));

  test('paths resolve inside the root: absolute links and .. stop at it', async () => {
    assert.equal(await resolveInRoot(root, '/srv/data/'), join(root, 'srv', 'data'));
    assert.equal(await resolveInRoot(root, '/abs'), join(root, 'etc'));
    assert.equal(await resolveInRoot(root, '/srv/up'), join(root, 'etc'));
    assert.equal(await resolveInRoot(root, '/../../etc'), join(root, 'etc'));
    assert.equal(await resolveInRoot(root, '/rel/sub'), join(root, 'srv', 'data', 'sub'));
    assert.equal(await resolveInRoot(root, '/nothing/here'), null);
    assert.equal(await resolveInRoot(root, '/loop'), null);
  });

  test("an empty volume gets the content, links and the directory's mode; a full one is left", async () => {
    const vol = join(dir, 'vol1');
    mkdirSync(vol);
    assert.equal(await copyUp(join(root, 'srv', 'data'), vol), true);
    assert.equal(readFileSync(join(vol, 'a'), 'utf8'), 'A');
    assert.equal(readFileSync(join(vol, 'sub', 'b'), 'utf8'), 'B');
    assert.equal(readlinkSync(join(vol, 'link')), 'a');
    assert.equal(statSync(vol).mode & 0o777, 0o750);
    writeFileSync(join(vol, 'a'), 'changed');
    assert.equal(await copyUp(join(root, 'srv', 'data'), vol), false);
    assert.equal(readFileSync(join(vol, 'a'), 'utf8'), 'changed');
    // A file (not a directory) at the path is not copied, as in Docker.
    const vol2 = join(dir, 'vol2');
    mkdirSync(vol2);
    assert.equal(await copyUp(join(root, 'srv', 'data', 'a'), vol2), false);
  });
});
