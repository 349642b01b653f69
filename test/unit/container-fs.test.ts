// Paths inside a container's root resolve as the container sees them: links
// followed within the root, ".." stopping at it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInRoot } from '../../src/core/container-fs.ts';

test('absolute and relative links, and "..", never leave the root', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cnm-root-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), '');
    symlinkSync('/etc', join(root, 'evil'));
    symlinkSync('../../../../etc', join(root, 'up'));
    symlinkSync('loop', join(root, 'loop'));
    assert.equal(await resolveInRoot(root, '/evil/passwd'), join(root, 'etc', 'passwd'));
    assert.equal(await resolveInRoot(root, '/up/passwd'), join(root, 'etc', 'passwd'));
    assert.equal(await resolveInRoot(root, '/../../etc/passwd'), join(root, 'etc', 'passwd'));
    assert.equal(await resolveInRoot(root, '/evil', false), join(root, 'evil'), 'the last link is kept when asked');
    assert.equal(await resolveInRoot(root, '/missing/x'), join(root, 'missing', 'x'));
    await assert.rejects(resolveInRoot(root, '/loop/x'), /too many levels of symbolic links/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
