// Low-level text <-> number codecs for addresses, written as character
// scanners because the allocator parses and formats on every call.
// IPv4 is one uint32 number; IPv6 is eight 16-bit groups or four uint32 words.
// Syntax follows Go's net/netip (what Docker parses with): no leading zeros in
// IPv4 octets (they would be ambiguous octal), no zones, at most 4 hex digits
// per IPv6 group, an embedded IPv4 only as the last 32 bits.

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;
const TWO_32 = 0x1_0000_0000;

/** Parses s[start, end) as dotted-quad IPv4; -1 if it is not one. */
export function parseV4(s: string, start = 0, end = s.length): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const first = i;
    let octet = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < CH_0 || c > CH_9) break;
      octet = octet * 10 + (c - CH_0);
      i++;
      if (i - first > 3) return -1;
    }
    const digits = i - first;
    if (digits === 0 || octet > 255) return -1;
    if (digits > 1 && s.charCodeAt(first) === CH_0) return -1;
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) !== CH_DOT) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

export function formatV4(n: number): string {
  return `${Math.floor(n / 0x100_0000) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 text into g[0..8); false if it is not an IPv6 address. */
export function parseV6Groups(s: string, g: number[]): boolean {
  const len = s.length;
  if (len < 2) return false;
  let n = 0;
  let ellipsis = -1;
  let i = 0;
  if (s.charCodeAt(0) === CH_COLON) {
    if (s.charCodeAt(1) !== CH_COLON) return false;
    ellipsis = 0;
    i = 2;
  }
  while (i < len) {
    if (n === 8) return false;
    let v = 0;
    let j = i;
    while (j < len) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
      if (j - i > 4) return false;
    }
    if (j === i) return false;
    if (j < len && s.charCodeAt(j) === CH_DOT) {
      // Embedded IPv4 (::ffff:10.0.0.1): must be the last 32 bits.
      if (n > 6) return false;
      const v4 = parseV4(s, i, len);
      if (v4 < 0) return false;
      g[n++] = v4 >>> 16;
      g[n++] = v4 & 0xffff;
      i = len;
      break;
    }
    g[n++] = v;
    i = j;
    if (i === len) break;
    if (s.charCodeAt(i) !== CH_COLON) return false;
    i++;
    if (i === len) return false; // a single trailing colon
    if (s.charCodeAt(i) === CH_COLON) {
      if (ellipsis >= 0) return false; // "::" at most once
      ellipsis = n;
      i++;
    }
  }
  if (ellipsis < 0) return n === 8;
  // "::" stands for one or more zero groups (RFC 4291 2.2), so at most 7 written.
  if (n > 7) return false;
  const tail = n - ellipsis;
  for (let k = tail - 1; k >= 0; k--) g[8 - tail + k] = g[ellipsis + k] ?? 0;
  for (let k = ellipsis; k < 8 - tail; k++) g[k] = 0;
  return true;
}

const HEX_DIGITS = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];
/** Scratch for formatV6Groups: at most 39 characters. Written into char codes and
 * turned into a string in one call, so the result is flat (no rope of pieces). */
const V6_CHARS = new Uint16Array(40);

/** RFC 5952 text: lowercase, no leading zeros, the longest run (>= 2) of zero
 * groups as "::" (the first on a tie), IPv4-mapped addresses as ::ffff:a.b.c.d (section 5). */
export function formatV6Groups(g: readonly number[]): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + formatV4(((g[6] ?? 0) * 65536) + (g[7] ?? 0));
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const c = V6_CHARS;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      // The group before already wrote its ':'; a leading run needs both.
      if (i === 0) c[n++] = CH_COLON;
      c[n++] = CH_COLON;
      i += bestLen - 1;
      continue;
    }
    const x = g[i] ?? 0;
    if (x >= 0x1000) c[n++] = HEX_DIGITS[x >>> 12]!;
    if (x >= 0x100) c[n++] = HEX_DIGITS[(x >>> 8) & 15]!;
    if (x >= 0x10) c[n++] = HEX_DIGITS[(x >>> 4) & 15]!;
    c[n++] = HEX_DIGITS[x & 15]!;
    if (i < 7) c[n++] = CH_COLON;
  }
  return String.fromCharCode.apply(null, c.subarray(0, n) as unknown as number[]);
}

export function groupsToWords(g: readonly number[], w: number[]): void {
  for (let k = 0; k < 4; k++) w[k] = (g[2 * k] ?? 0) * 65536 + (g[2 * k + 1] ?? 0);
}

export function wordsToGroups(w: readonly number[], g: number[]): void {
  for (let k = 0; k < 4; k++) {
    const x = w[k] ?? 0;
    g[2 * k] = Math.floor(x / 65536);
    g[2 * k + 1] = x & 0xffff;
  }
}

export function wordsToBigint(w: readonly number[]): bigint {
  return (BigInt(w[0] ?? 0) << 96n) | (BigInt(w[1] ?? 0) << 64n) | (BigInt(w[2] ?? 0) << 32n) | BigInt(w[3] ?? 0);
}

export function bigintToWords(v: bigint, w: number[]): void {
  for (let k = 3; k >= 0; k--) {
    w[k] = Number(v & 0xffff_ffffn);
    v >>= 32n;
  }
}

export { TWO_32 };
