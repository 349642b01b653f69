// The daemon among others: one daemon per network namespace and per socket,
// state of another instance (or of a deleted data root) found at start and
// left alone, `cnm cleanup`, and test daemons that leave no sandbox behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, procStartTime } from '../../src/runtime/proc.ts';
import { CNM, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { privilegedSkipReason, TEST_PREFIX, TestNetns } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { recordPid } from '../helpers/pids.ts';
import { runSandbox } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('daemon-hardening', privilegedSkipReason());

/**
 * Starts `cnm daemon ARGS` in ns and waits for it to exit (a daemon that is
 * still up after a while is killed and reported as code null).
 */
async function daemonOnce(ns: TestNetns, args: string[], dir: string): Promise<{ code: number | null; out: string }> {
  const p = spawn('nsenter', [`--net=${ns.path}`, CNM, 'daemon', '--resolv-conf', '/dev/null', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  recordPid(dir, p.pid);
  let out = '';
  p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => { p.kill('SIGKILL'); resolve(null); }, 30_000);
    p.on('exit', (c) => { clearTimeout(t); resolve(c); });
  });
  return { code, out };
}

describe(`two daemons${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let other: TestNetns;
  let dir: string;
  before(async () => {
    d = await startTestDaemon();
    other = await TestNetns.create('other');
    dir = mkdtempSync(`/tmp/${TEST_PREFIX}d-`);
  });
  after(async () => {
    await d?.destroy();
    await other?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a second daemon in the same namespace (other roots) is refused; the first keeps serving', async () => {
    const r = await daemonOnce(d.ns, ['-H', `unix://${dir}/b.sock`, '--data-root', join(dir, 'b-data'), '--exec-root', join(dir, 'b-run')], dir);
    assert.ok(r.code !== null && r.code !== 0, `second daemon exit ${r.code}: ${r.out}`);
    assert.match(r.out, /another cnm daemon already runs in this network namespace \(pid \d+, -H unix:\/\/\//);
    await d.client.ping();
    // Nothing of the first was touched: its kernel and firewall agree with its store.
    assert.equal((await d.cli(['doctor'])).code, 0);
  });

  test('a second daemon on the same socket (another namespace) is refused; the first keeps its socket', async () => {
    const r = await daemonOnce(other, ['-H', d.host, '--data-root', join(dir, 'c-data'), '--exec-root', join(dir, 'c-run')], dir);
    assert.ok(r.code !== null && r.code !== 0, `second daemon exit ${r.code}: ${r.out}`);
    assert.match(r.out, /cnm\.sock is in use: another daemon is listening on it/);
    await d.client.ping();
  });

  test('cnm cleanup refuses while a daemon runs in the namespace', async () => {
    const r = await d.cli(['cleanup', '--exec-root', join(d.dir, 'run')], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /another cnm daemon already runs in this network namespace/);
    assert.equal((await d.ns.sh('ip link show cnm0', { allowFail: true })).code, 0);
  });
});

describe(`state of another instance${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let first: DaemonHandle;
  let second: DaemonHandle | undefined;
  before(async () => { first = await startTestDaemon(); });
  after(async () => {
    await second?.destroy();
    await first?.destroy();
  });

  test('an empty data root over a populated exec root: reported, nothing destroyed, doctor exits 1', async () => {
    await runSandbox(first, 'keep');
    const nsDir = join(first.dir, 'run', 'netns');
    const files = readdirSync(nsDir);
    assert.equal(files.length, 1);
    await first.stop('SIGTERM');
    // A daemon with a fresh data root, pointed at the first's exec root.
    second = await startTestDaemon({ execRoot: join(first.dir, 'run') });
    assert.match(second.logs(), /foreign cnm state: exec root .* holds state of another cnm instance/);
    assert.match(second.logs(), new RegExp(`1 namespace file\\(s\\) no sandbox of this daemon owns, left untouched: ${join(nsDir, files[0] ?? '')}`));
    assert.deepEqual(readdirSync(nsDir), files);
    const doc = await second.cli(['doctor'], { allowFail: true });
    assert.equal(doc.code, 1);
    assert.match(doc.stdout, /foreign: {2}FOUND/);
    assert.match(doc.stdout, new RegExp(join(nsDir, files[0] ?? '')));
    // The first instance, back, finds its sandbox intact.
    await second.stop('SIGTERM');
    await first.restart();
    const info = await first.client.containerInspect('keep');
    assert.equal(info.State.Running, true);
    assert.deepEqual(readdirSync(nsDir), files);
  });

  test("another instance's firewall tables: start refused, tables untouched; cnm cleanup removes them", async () => {
    await first.stop('SIGTERM');
    const dir = mkdtempSync(`/tmp/${TEST_PREFIX}d-`);
    try {
      const r = await daemonOnce(first.ns, ['-H', `unix://${dir}/x.sock`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run')], dir);
      assert.ok(r.code !== null && r.code !== 0, `daemon exit ${r.code}: ${r.out}`);
      assert.match(r.out, /nftables tables in this namespace hold rules for 1 network bridge\(s\) this daemon does not know \(cnm0\), written by cnm instance [0-9a-f]+/);
      assert.match(r.out, /Nothing was changed/);
      assert.match((await first.ns.sh('nft list set inet cnm bridges')).stdout, /"cnm0"/);
      // The sandbox of the first daemon still has its address on the bridge.
      assert.match((await first.ns.sh('ip -br link show master cnm0')).stdout, /\S/);

      const c = await first.cli(['cleanup', '--exec-root', join(first.dir, 'run')]);
      assert.match(c.stdout, /removed nftables tables: inet cnm bridge cnm/);
      assert.match(c.stdout, /removed links: .*cnm0/);
      assert.equal((await first.ns.sh('nft list tables')).stdout.trim(), '');
      assert.notEqual((await first.ns.sh('ip link show cnm0', { allowFail: true })).code, 0);
      assert.deepEqual(readdirSync(join(first.dir, 'run', 'netns')), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe(`test daemons leave no sandbox running${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  test('destroy() kills sandboxes by the PIDs the store recorded, even after the daemon crashed', async () => {
    const ns = await TestNetns.create('shared');
    try {
      // A namespace the test owns (not destroyed with the daemon), and a
      // sandbox on the host network: nothing but its PID leads to it.
      const d = await startTestDaemon({ ns });
      await runSandbox(d, 'hostnet', { network: 'host' });
      const pid = (await d.client.containerInspect('hostnet')).State.Pid;
      const start = procStartTime(pid) ?? '';
      assert.ok(isAlive(pid, start));
      await d.stop('SIGKILL');
      await d.destroy();
      assert.equal(isAlive(pid, start), false, `sandbox ${pid} still runs`);
      assert.equal(existsSync(d.dir), false);
    } finally {
      await ns.destroy();
    }
  });
});
