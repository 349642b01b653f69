// The global teardown's leak check (test/helpers/teardown.ts): what a test
// leaves running (here a sandbox orphaned by a daemon and cnm-monitor killed
// with -9, and a stray process in the test's temp dir) is listed, killed by
// PID, its runtime container deleted, and the teardown exits 1. A second run
// finds nothing and exits 0. The sweep is narrowed to this test's own temp
// dir (CNM_TEARDOWN_PREFIX), so other tests' daemons are never touched.
// And a daemon's destroy() stops a sandbox nothing records any more.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isAlive, procStartTime } from '../../src/runtime/proc.ts';
import { ROOT, run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { killIfSame, leftoverProcesses, recordPid } from '../helpers/pids.ts';
import { runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = skipUnlessCI('teardown', privilegedSkipReason());

function teardown(prefix: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'test', 'helpers', 'teardown.ts')], {
    env: { ...process.env, CNM_TEARDOWN_PREFIX: prefix }, encoding: 'utf8', timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe(`global teardown leak check${skip ? ` (skipped: ${skip})` : ''}`, { skip }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test('a leftover sandbox and a stray process are listed, killed, and fail the teardown', async () => {
    const id = await runSandbox(d, 'orphan');
    const init = (await d.client.containerInspect(id)).State.Pid;
    const initStart = procStartTime(init) ?? '';
    const monitor = leftoverProcesses(`${d.dir}/`).find((p) => p.cmd.includes('cnm-monitor') && p.cmd.includes(id));
    assert.ok(monitor, 'the sandbox has its cnm-monitor');
    // A test that crashed without its teardown: daemon and monitor killed
    // with -9, the sandbox's init re-parented away, naming nothing of the dir.
    await d.stop('SIGKILL');
    assert.ok(killIfSame(monitor.pid, monitor.start));
    const stray = spawn('sleep', ['1000'], { cwd: d.dir, detached: true, stdio: 'ignore' });
    stray.unref();
    const strayStart = procStartTime(stray.pid ?? 0) ?? '';
    recordPid(d.dir, stray.pid); // so that the test's own teardown gets it if the check misses it
    await waitFor(() => !isAlive(monitor.pid, monitor.start), { what: `cnm-monitor ${monitor.pid} to end` });
    assert.ok(isAlive(init, initStart), 'the orphaned sandbox still runs');

    const first = teardown(basename(d.dir));
    assert.equal(first.code, 1, first.out);
    assert.match(first.out, /the tests left/);
    assert.match(first.out, new RegExp(`runtime container ${id}`));
    assert.match(first.out, new RegExp(`process ${stray.pid} \\(working directory\\): sleep 1000`));
    assert.ok(!isAlive(init, initStart), 'the sandbox is gone');
    assert.ok(!isAlive(stray.pid ?? 0, strayStart), 'the stray process is gone');
    assert.ok(!existsSync(d.dir), 'the temp dir is removed');
    assert.equal(existsSync(`/sys/fs/cgroup/pids/cnm/${id}`) || existsSync(`/sys/fs/cgroup/cnm/${id}`), false, 'its cgroup is removed');

    const second = teardown(basename(d.dir));
    assert.equal(second.code, 0, second.out);
    assert.doesNotMatch(second.out, /the tests left/);
  });

  test('destroy() stops a sandbox that neither the store nor a namespace file records', async () => {
    const e = await startTestDaemon();
    let init = 0;
    let initStart = '';
    let id = '';
    try {
      id = await runSandbox(e, 'unrecorded');
      init = (await e.client.containerInspect(id)).State.Pid;
      initStart = procStartTime(init) ?? '';
      // As after a kill -9 halfway through a start: daemon and monitor gone,
      // no record in the store, no namespace file yet.
      const monitor = leftoverProcesses(`${e.dir}/`).find((p) => p.cmd.includes('cnm-monitor') && p.cmd.includes(id));
      await e.stop('SIGKILL');
      if (monitor) killIfSame(monitor.pid, monitor.start);
      rmSync(join(e.dir, 'data', 'cnm.db'), { force: true });
      const nsDir = join(e.dir, 'run', 'netns');
      for (const f of readdirSync(nsDir)) {
        await run('umount', ['-l', join(nsDir, f)], process.env);
        rmSync(join(nsDir, f), { force: true });
      }
      assert.ok(isAlive(init, initStart), 'the sandbox still runs');
    } finally {
      await e.destroy();
    }
    assert.ok(!isAlive(init, initStart), `destroy() stopped sandbox init ${init}`);
    assert.equal(existsSync(`/sys/fs/cgroup/pids/cnm/${id}`) || existsSync(`/sys/fs/cgroup/cnm/${id}`), false, 'its cgroup is removed');
  });
});
