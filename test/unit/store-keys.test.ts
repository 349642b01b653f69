// Key order and prefix ranges: the embedded stores must list keys in etcd's
// order (UTF-8 bytes) and a prefix range must hold exactly the keys that
// start with the prefix. Checked against Buffer.compare on random keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKeys, inRange, prefixEnd } from '../../src/store/keys.ts';

/** Deterministic random keys over the code points where UTF-16 and UTF-8 order disagree. */
function* randomKeys(count: number, seed: number): Generator<string> {
  let s = seed;
  const next = (n: number): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s % n; };
  const pool = [0x00, 0x2f, 0x61, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10fffe, 0x10ffff];
  for (let i = 0; i < count; i++) {
    const len = 1 + next(5);
    const cps = Array.from({ length: len }, () => pool[next(pool.length)] ?? 0x61);
    yield String.fromCodePoint(...cps);
  }
}

const utf8Compare = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

test('compareKeys orders like the UTF-8 bytes (etcd, SQLite BINARY)', () => {
  const keys = [...randomKeys(400, 7)];
  for (const a of keys) {
    for (const b of keys.slice(0, 60)) assert.equal(Math.sign(compareKeys(a, b)), Math.sign(utf8Compare(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  assert.ok(compareKeys('\u{1F600}', '\uFFFD') > 0, 'astral after U+FFFD, unlike JavaScript <');
});

test('[prefix, prefixEnd(prefix)) holds exactly the keys starting with prefix', () => {
  const keys = [...randomKeys(300, 11)];
  const prefixes = [...randomKeys(60, 13)].map((k) => Array.from(k).slice(0, 2).join(''));
  for (const p of [...prefixes, '', '\u{10FFFF}', 'a\u{10FFFF}', '\uD7FF']) {
    const end = prefixEnd(p);
    for (const k of [...keys, ...keys.map((k) => p + k)]) assert.equal(inRange(k, p, end), k.startsWith(p), `key ${JSON.stringify(k)} prefix ${JSON.stringify(p)}`);
  }
});

test('prefixEnd steps over the surrogate range and has no end for all-U+10FFFF prefixes', () => {
  assert.equal(prefixEnd('a/'), 'a0');
  assert.equal(prefixEnd('\uD7FF'), '\uE000');
  assert.equal(prefixEnd('a\u{10FFFF}'), 'b');
  assert.equal(prefixEnd('\u{10FFFF}\u{10FFFF}'), null);
  assert.equal(prefixEnd(''), null);
});
