// Key order and prefix ranges. etcd (and SQLite's BINARY collation) order keys
// by their UTF-8 bytes, which is Unicode code point order. JavaScript's `<`
// compares UTF-16 code units instead, which puts characters above U+FFFF
// (surrogate pairs, 0xD800-0xDFFF) before U+E000-U+FFFF. compareKeys fixes
// that up so every implementation lists keys in the same order.

const SURROGATE_MIN = 0xd800;
const SURROGATE_MAX = 0xdfff;
const MAX_CODE_POINT = 0x10ffff;

/** Moves surrogates above U+E000-U+FFFF, keeping order inside each group. */
function rank(unit: number): number {
  if (unit < SURROGATE_MIN) return unit;
  if (unit <= SURROGATE_MAX) return unit + 0x2000;
  return unit - 0x800;
}

/** Code point (= UTF-8 byte) order; keys must be well-formed UTF-16. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/**
 * The smallest key greater than every key that starts with `prefix`, or null
 * if there is none (prefix '' or all U+10FFFF): the range is [prefix, end).
 * Same idea as etcd's GetPrefixRangeEnd, on code points instead of bytes.
 */
export function prefixEnd(prefix: string): string | null {
  const cps = Array.from(prefix, (c) => c.codePointAt(0) ?? 0);
  while (cps.length > 0) {
    const last = cps.pop() ?? 0;
    if (last < MAX_CODE_POINT) {
      // Lone surrogates are not keys; step over their range.
      cps.push(last + 1 === SURROGATE_MIN ? SURROGATE_MAX + 1 : last + 1);
      return String.fromCodePoint(...cps);
    }
  }
  return null;
}

/** key is in [prefix, end) */
export function inRange(key: string, prefix: string, end: string | null): boolean {
  return compareKeys(key, prefix) >= 0 && (end === null || compareKeys(key, end) < 0);
}
