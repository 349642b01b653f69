// Global teardown: removes namespaces left by failed privileged tests.
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanupRunDir } from './daemon.ts';
import { killRecorded } from './pids.ts';
import { TEST_PREFIX, isRoot, removeLeftovers } from './netns.ts';

if (isRoot()) {
  // Daemons' temp roots: sandbox namespaces and their processes first.
  for (const d of readdirSync('/tmp').filter((n) => n.startsWith(TEST_PREFIX))) {
    // Daemons and sandboxes by PID (checked against their start time).
    const killed = killRecorded(join('/tmp', d));
    if (killed.length) console.log(`teardown: killed leftover processes ${killed.join(' ')}`);
    await cleanupRunDir(join('/tmp', d, 'run'));
    await rm(join('/tmp', d), { recursive: true, force: true }).catch(() => undefined);
  }
  const left = await removeLeftovers();
  if (left.length) console.log(`teardown: removed leftover namespaces ${left.join(' ')}`);
}
