// Ctrl-C (SIGINT) or SIGTERM in the middle of the walkthrough: it cleans up
// after itself (namespace, mounts, daemon, sandbox processes, files).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../src/client/client.ts';
import { isAlive, procStartTime } from '../../src/runtime/proc.ts';
import { ROOT } from '../helpers/daemon.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { killIfSame, pidsNaming } from '../helpers/pids.ts';

const skip = skipUnlessCI('walkthrough-signal', privilegedSkipReason());
let dir = '';
let ns = '';

after(() => {
  // Whatever a failed run left: by PID (processes naming its directory) and name.
  if (dir) for (const p of pidsNaming(dir)) killIfSame(p.pid, p.start);
  if (ns) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig} midway through the walkthrough leaves nothing behind${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, async () => {
    const p = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'src', 'walkthrough', 'main.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    // Both containers are running once `docker ps` is printed.
    await new Promise<void>((resolve, reject) => {
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('$ docker ps')) resolve();
      });
      void exited.then(() => reject(new Error(`walkthrough ended early:\n${out}`)));
    });
    dir = /--data-root (\/tmp\/cnm-walk-\w+)\/data/.exec(out)?.[1] ?? '';
    ns = /namespace \((cnm-walk-[0-9a-f]+)\)/.exec(out)?.[1] ?? '';
    assert.ok(dir && ns, out);
    const client = new Client(`unix://${dir}/cnm.sock`);
    const sandboxes = await Promise.all(['container1', 'container2'].map(async (n) => {
      const pid = (await client.containerInspect(n)).State.Pid;
      return { pid, pidStart: procStartTime(pid) ?? '' };
    }));
    for (const s of sandboxes) assert.ok(isAlive(s.pid, s.pidStart));
    const procs = pidsNaming(dir);
    assert.ok(procs.length > 0);
    p.kill(sig);
    assert.equal(await exited, sig === 'SIGINT' ? 130 : 143, out);
    // It stopped midway rather than finishing the tutorial first.
    assert.doesNotMatch(out, /done: every step/);
    for (const s of sandboxes) assert.equal(isAlive(s.pid, s.pidStart), false, `sandbox ${s.pid} still runs`);
    for (const q of procs) assert.equal(isAlive(q.pid, q.start), false, `process ${q.pid} still runs`);
    assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(ns));
    assert.equal(readFileSync('/proc/mounts', 'utf8').includes(dir), false);
    assert.equal(existsSync(dir), false);
    dir = '';
    ns = '';
  });
}
