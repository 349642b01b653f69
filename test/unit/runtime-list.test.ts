// The runtime's container list read from its root directory (runc keeps
// ROOT/ID/state.json, crun ROOT/ID/status), without running `runc list`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuncRuntime } from '../../src/runtime/runc.ts';

test('list: the directories under the root that hold a state, and nothing for a missing root', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-rtlist-'));
  try {
    const root = join(dir, 'root');
    const rt = new RuncRuntime({ binary: '/usr/bin/runc', root, monitor: '/bin/false' });
    assert.deepEqual(await rt.list(), [], 'no root yet');
    for (const id of ['a1', 'b2', 'c3']) mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, 'a1', 'state.json'), '{}');
    writeFileSync(join(root, 'b2', 'status'), '');
    writeFileSync(join(root, 'stray-file'), '');
    assert.deepEqual((await rt.list()).sort(), ['a1', 'b2'], "runc's and crun's, not an empty directory or a file");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
