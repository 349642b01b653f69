// 50 containers from busybox started at once on 5 networks, each reachable
// by name from a container on its network; and a kill -9 of the daemon
// while containers are being created, after which nothing is lost or leaked.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { waitFor } from '../helpers/wait.ts';

const hasDocker = spawnSync('sh', ['-c', 'command -v docker'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('containers at scale', privilegedSkipReason() ?? (hasDocker ? null : 'needs the docker CLI'));

describe(`containers at scale${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  const mounts = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(d.dir, 'data')));

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cnm-scale-'));
    writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
    await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
  });

  after(async () => {
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('50 containers started concurrently on 5 networks are all reachable by name', async () => {
    const nets = [0, 1, 2, 3, 4].map((i) => `scale${i}`);
    for (const n of nets) await d.docker(['network', 'create', n]);
    const names = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const runs = await Promise.all(names.map((n, i) => d.docker(['run', '-d', '--init', '--name', n, '--network', nets[i % 5]!, 'busybox', 'sleep', '600'], { allowFail: true })));
    runs.forEach((r, i) => assert.equal(r.code, 0, `c${i}: ${r.stderr}`));
    // From the first container of each network, every other one of it by name.
    for (const [k, n] of nets.entries()) {
      const members = names.filter((_, i) => i % 5 === k);
      const script = members.slice(1).map((m) => `ping -c1 -W2 ${m} >/dev/null && echo ${m}`).join('; ');
      const r = await d.docker(['exec', members[0]!, 'sh', '-c', script], { allowFail: true });
      assert.deepEqual(r.stdout.trim().split('\n'), members.slice(1), `on ${n}: ${r.stderr}`);
      // And none of another network.
      const other = names.find((_, i) => i % 5 === (k + 1) % 5)!;
      const miss = await d.docker(['exec', members[0]!, 'ping', '-c1', '-W1', other], { allowFail: true });
      assert.notEqual(miss.code, 0);
    }
    const ips = (await d.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', ...names])).stdout.trim().split('\n');
    assert.equal(new Set(ips).size, 50, 'no address given twice');
    assert.equal(mounts().length, 50);
    await Promise.all(names.map((n) => d.docker(['rm', '-f', n])));
    assert.deepEqual(mounts(), []);
    for (const n of nets) await d.docker(['network', 'rm', n]);
  });

  test('kill -9 of the daemon while containers are being created and started: after restart nothing is half-made', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const runs = names.map((n) => d.docker(['run', '-d', '--init', '--name', n, 'busybox', 'sleep', '600'], { allowFail: true }));
    // Killed once the first is recorded, while the others are on their way.
    await waitFor(async () => (await d.docker(['ps', '-aq'])).stdout.trim() !== '', { what: 'a first container', intervalMs: 5 });
    await d.stop('SIGKILL');
    await Promise.all(runs);
    await d.restart();
    const rows = (await d.docker(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout.trim().split('\n').filter(Boolean);
    // Each is either running (adopted), or created/exited and startable; none is stuck.
    for (const row of rows) {
      const [name, state] = row.split(' ');
      assert.ok(['running', 'created', 'exited'].includes(state ?? ''), row);
      if (state !== 'running') await d.docker(['start', name!]);
    }
    for (const row of rows) {
      const name = row.split(' ')[0]!;
      assert.equal((await d.docker(['exec', name, 'echo', 'ok'])).stdout, 'ok\n');
    }
    // Only the running ones hold a mount; rm takes everything.
    assert.equal(mounts().length, rows.length);
    await Promise.all(rows.map((r) => d.docker(['rm', '-f', r.split(' ')[0]!])));
    assert.deepEqual(mounts(), []);
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
  });
});
