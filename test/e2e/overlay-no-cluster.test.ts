// A daemon started without a cluster store: `docker network create -d
// overlay` reaches the overlay driver, which refuses it saying how to start
// the daemon; nothing is left behind (no network, no overlay namespace).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';

const skip = skipUnlessCI('overlay-no-cluster', privilegedSkipReason());

describe(`overlay without a cluster store${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test('docker network create -d overlay is refused with how to start the daemon; docker info lists the driver', async () => {
    const r = await d.docker(['network', 'create', '-d', 'overlay', '--subnet', '10.88.0.0/24', 'ov'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /overlay networks need a cluster store: start the daemon with --cluster-store etcd:\/\//);
    assert.equal((await d.docker(['network', 'ls', '-q', '-f', 'name=^ov$'])).stdout.trim(), '');
    const ovl = join(d.dir, 'run', 'overlay');
    assert.ok(!existsSync(ovl) || readdirSync(ovl).length === 0, 'no overlay namespace');
    assert.match((await d.docker(['info', '--format', '{{json .Plugins.Network}}'])).stdout, /"overlay"/);
  });
});
