// The json-file reader: tail across rotated files, time windows, follow
// through a rotation, and a torn last line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogs, toLogTime } from '../../src/logs/json-file.ts';
import type { LogRecord, ReadOptions } from '../../src/logs/json-file.ts';
import { waitFor } from '../helpers/wait.ts';

const rec = (i: number, stream = 'stdout'): string => `${JSON.stringify({ log: `line ${i}\n`, stream, time: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000000000Z` })}\n`;

async function collect(path: string, o: Partial<ReadOptions>): Promise<string[]> {
  const out: string[] = [];
  const ac = new AbortController();
  for await (const b of readLogs(path, { tail: 'all', follow: false, running: () => false, signal: ac.signal, ...o })) out.push(...b.map((r: LogRecord) => r.log.trim()));
  return out;
}

function world(): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-logs-'));
  const log = join(dir, 'x-json.log');
  // Oldest in .2, then .1, then the live file.
  writeFileSync(`${log}.2`, rec(1) + rec(2));
  writeFileSync(`${log}.1`, rec(3) + rec(4, 'stderr'));
  writeFileSync(log, rec(5) + rec(6));
  return { dir, log };
}

test('every record, oldest rotated file first', async () => {
  const { dir, log } = world();
  assert.deepEqual(await collect(log, {}), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
  rmSync(dir, { recursive: true });
});

test('tail counts back across rotated files', async () => {
  const { dir, log } = world();
  assert.deepEqual(await collect(log, { tail: 1 }), ['line 6']);
  assert.deepEqual(await collect(log, { tail: 3 }), ['line 4', 'line 5', 'line 6']);
  assert.deepEqual(await collect(log, { tail: 5 }), ['line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
  assert.deepEqual((await collect(log, { tail: 50 })).length, 6);
  assert.deepEqual(await collect(log, { tail: 0 }), []);
  rmSync(dir, { recursive: true });
});

test('since and until select a time window', async () => {
  const { dir, log } = world();
  assert.deepEqual(await collect(log, { since: toLogTime('2026-01-01T00:00:03Z'), until: toLogTime('2026-01-01T00:00:05Z') }), ['line 3', 'line 4', 'line 5']);
  assert.equal(toLogTime('1767225603.5'), '2026-01-01T00:00:03.500000000Z');
  rmSync(dir, { recursive: true });
});

test('a torn last line (a writer killed mid-record) is skipped', async () => {
  const { dir, log } = world();
  appendFileSync(log, '{"log":"half');
  assert.deepEqual(await collect(log, { tail: 2 }), ['line 5', 'line 6']);
  rmSync(dir, { recursive: true });
});

test('follow sees appends and follows a rotation, and ends when the writer stops', async () => {
  const { dir, log } = world();
  let running = true;
  const ac = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const b of readLogs(log, { tail: 1, follow: true, running: () => running, signal: ac.signal })) seen.push(...b.map((r) => r.log.trim()));
  })();
  await waitFor(() => seen.includes('line 6'), { what: 'the follower to read the tail (line 6)' });
  appendFileSync(log, rec(7));
  await waitFor(() => seen.includes('line 7'), { what: 'the follower to read an append (line 7)' });
  // Rotate as the monitor does: the live file becomes .1, a new one starts.
  renameSync(log, `${log}.1`);
  appendFileSync(`${log}.1`, rec(8));
  writeFileSync(log, rec(9));
  await waitFor(() => seen.includes('line 9'), { what: () => `the follower to follow the rotation (lines 8, 9): saw ${seen.join(', ')}` });
  appendFileSync(log, rec(10));
  running = false;
  await done;
  assert.deepEqual(seen, ['line 6', 'line 7', 'line 8', 'line 9', 'line 10']);
  rmSync(dir, { recursive: true });
});
