// Sandbox logs: Docker's json-file on disk, streamed from it (tail, since,
// timestamps, follow), rotated at max-size, and read without holding a whole
// log in the daemon's memory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';

const skip = skipUnlessCI('logs', privilegedSkipReason());

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

describe(`sandbox logs${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  const waitExited = async (name: string): Promise<void> => {
    await d.client.containerWait(name);
  };

  test('json-file records; --tail, --timestamps and --since', async () => {
    await d.cli(['run', '-d', '--name', 'counter', '--', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done; echo oops >&2']);
    await waitExited('counter');
    const insp = await d.client.containerInspect('counter');
    const first = JSON.parse(readFileSync(insp.LogPath, 'utf8').split('\n')[0] ?? '') as { log: string; stream: string; time: string };
    assert.equal(first.log, 'line 1\n');
    assert.equal(first.stream, 'stdout');
    assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const all = await d.cli(['logs', 'counter']);
    assert.equal(all.stdout.split('\n').length, 11);
    assert.equal(all.stderr, 'oops\n');
    assert.equal((await d.cli(['logs', '--tail', '3', 'counter'])).stdout, 'line 9\nline 10\n');
    const stamped = (await d.cli(['logs', '-t', '--tail', '1', 'counter'])).stderr;
    assert.match(stamped, /^\d{4}-\d\d-\d\dT[\d:.]+Z oops\n$/);
    const future = await d.cli(['logs', '--since', String(Math.floor(Date.now() / 1000) + 3600), 'counter']);
    assert.equal(future.stdout + future.stderr, '');
    const bad = await d.client.raw('GET', '/containers/counter/logs?stdout=1&tail=lots');
    assert.equal(bad.status, 400);
  });

  test('follow prints lines as they come and ends when the sandbox stops', async () => {
    await d.cli(['run', '-d', '--name', 'ticker', '--', 'sh', '-c', 'for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done']);
    const r = await d.cli(['logs', '-f', 'ticker']);
    assert.equal(r.stdout, 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n');
  });

  test('--log-opt max-size/max-file rotate: the files on disk stay capped', async () => {
    // ~2.4 MB of output against 200 KB files, 3 kept.
    await d.cli(['run', '-d', '--name', 'chatty', '--log-opt', 'max-size=200k', '--log-opt', 'max-file=3', '--',
      'sh', '-c', 'i=0; while [ $i -lt 30000 ]; do echo "message number $i padded to be a little longer than short lines"; i=$((i+1)); done; echo final']);
    await waitExited('chatty');
    const insp = await d.client.containerInspect('chatty');
    const dir = dirname(insp.LogPath);
    const files = readdirSync(dir).filter((f) => f.includes('-json.log'));
    assert.ok(files.length <= 3, `at most 3 files: ${files.join(' ')}`);
    for (const f of files) assert.ok(statSync(`${dir}/${f}`).size <= 200 * 1024, `${f} within max-size`);
    assert.equal((await d.cli(['logs', '--tail', '1', 'chatty'])).stdout, 'final\n');
    assert.deepEqual(insp.HostConfig.LogConfig.Config, { 'max-size': String(200 * 1024), 'max-file': '3' });
    const badOpt = await d.cli(['run', '-d', '--name', 'bad', '--log-opt', 'max-size=huge', '--', 'true'], { allowFail: true });
    assert.notEqual(badOpt.code, 0);
    assert.match(badOpt.stderr, /max-size/);
  });

  test('a large log is streamed: reading it again and again does not grow the daemon', async () => {
    // 40 MB of output (the default cap is 5 files of 20 MB, JSON included).
    await d.cli(['run', '-d', '--name', 'big', '--', 'sh', '-c', 'head -c 30000000 /dev/zero | base64 -w 76']);
    await waitExited('big');
    const pid = d.proc.pid ?? 0;
    const read = async (): Promise<number> => {
      let bytes = 0;
      await d.client.containerLogsStream('big', {}, (_s, data) => { bytes += data.length; });
      return bytes;
    };
    const before = rssKb(pid);
    const bytes = await read();
    const afterOne = rssKb(pid) - before;
    for (let i = 0; i < 3; i++) await read();
    const afterFour = rssKb(pid) - before;
    assert.ok(bytes > 38_000_000, `read ${bytes} bytes`);
    // Held in memory, four reads would cost four logs' worth (160 MB); read
    // from disk in chunks, the daemon's memory is what garbage collection
    // leaves between collections, whatever the number of reads.
    assert.ok(afterFour < afterOne + 24 * 1024, `RSS grew ${afterOne} kB after one read of ${bytes} bytes, ${afterFour} kB after four`);
    assert.ok(afterFour < 100 * 1024, `RSS grew ${afterFour} kB after reading ${4 * bytes} bytes`);
  });
});
