// The attach path's pure parts: Docker's detach-key syntax and the scanner
// that finds the sequence in typed input, signal names and numbers as the
// kill endpoint takes them, and the stdcopy frame filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from '../../src/api/detach-keys.ts';
import { FrameFilter } from '../../src/api/frame-filter.ts';
import { parseSignal } from '../../src/api/signal.ts';
import { frame } from '../../src/api/stdcopy.ts';
import { CnmError } from '../../src/model/errors.ts';

test('detach keys: Docker syntax (ctrl-p,ctrl-q by default; ctrl-x,a lists; the specials); bad keys are a 400 naming them', () => {
  assert.deepEqual(parseDetachKeys(''), DEFAULT_DETACH_KEYS);
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-x,a')], [24, 97]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')], [0, 27, 28, 29, 30, 31]);
  for (const bad of ['ctrl-?', 'ctrl-', 'abc', 'ctrl-ab']) {
    assert.throws(() => parseDetachKeys(bad), (e: unknown) => e instanceof CnmError && e.message.includes(`Invalid detach keys (${bad})`), bad);
  }
});

test('the detach scanner holds a prefix back, passes a broken one on as typed, and stops at the sequence', () => {
  const s = new DetachScanner(Buffer.from([16, 17]));
  assert.deepEqual(s.push(Buffer.from('ab')), { pass: Buffer.from('ab'), detach: false });
  // ctrl-p at a chunk's end waits for the next chunk.
  assert.deepEqual(s.push(Buffer.from([99, 16])), { pass: Buffer.from([99]), detach: false });
  assert.deepEqual(s.push(Buffer.from([100])), { pass: Buffer.from([16, 100]), detach: false });
  assert.deepEqual(s.push(Buffer.from([16, 16, 17, 101])), { pass: Buffer.from([16]), detach: true });
});

test('signals by name, with or without SIG, or number; empty is SIGKILL; unknown is a 400', () => {
  assert.equal(parseSignal('TERM'), 'SIGTERM');
  assert.equal(parseSignal('SIGINT'), 'SIGINT');
  assert.equal(parseSignal('hup'), 'SIGHUP');
  assert.equal(parseSignal('15'), 'SIGTERM');
  assert.equal(parseSignal(''), 'SIGKILL');
  assert.throws(() => parseSignal('NOPE'), /Invalid signal: NOPE/);
  assert.throws(() => parseSignal('999'), /Invalid signal: 999/);
});

test('the frame filter keeps the wanted stream across split frames', () => {
  const all = Buffer.concat([frame(1, Buffer.from('out1')), frame(2, Buffer.from('err')), frame(1, Buffer.from('out2'))]);
  const f = new FrameFilter(true, false);
  const got = Buffer.concat([f.push(all.subarray(0, 5)), f.push(all.subarray(5, 17)), f.push(all.subarray(17))]);
  assert.deepEqual(got, Buffer.concat([frame(1, Buffer.from('out1')), frame(1, Buffer.from('out2'))]));
  assert.deepEqual(new FrameFilter(true, true).push(all), all);
});
