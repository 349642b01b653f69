// Detach keys: the byte sequence that ends an attach without stopping the
// container. Docker's syntax (moby pkg/term ToBytes): keys separated by
// commas, each a single character or "ctrl-X" with X one of a-z @ [ \ ] ^ _.
import { invalid } from '../model/errors.ts';

/** ctrl-p, ctrl-q (moby container/stream DefaultEscapeKeys). */
export const DEFAULT_DETACH_KEYS = Buffer.from([16, 17]);

const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return DEFAULT_DETACH_KEYS;
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) {
      out.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(k);
    const c = m?.[1]?.toLowerCase() ?? '';
    if (c >= 'a' && c <= 'z' && c.length === 1) out.push(c.charCodeAt(0) - 96);
    else if (c in CTRL_SPECIAL) out.push(CTRL_SPECIAL[c] ?? 0);
    else throw invalid(`Invalid detach keys (${spec}) provided: unknown key "${key}", expected a character or ctrl-<a-z, @, [, \\, ], ^ or _>, separated by commas`);
  }
  return Buffer.from(out);
}

/**
 * Scans input for the detach sequence: bytes that may begin it are held
 * back until the next ones tell (moby pkg/term EscapeProxy).
 */
export class DetachScanner {
  private readonly keys: Buffer;
  private matched = 0;

  constructor(keys: Buffer) {
    this.keys = keys;
  }

  /** The bytes to pass on, and whether the sequence was completed (what follows it is dropped). */
  push(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const pass: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { pass: Buffer.from(pass), detach: true };
        continue;
      }
      // A broken prefix goes through as typed, then this byte starts afresh.
      pass.push(...this.keys.subarray(0, this.matched));
      this.matched = 0;
      if (b === this.keys[0]) this.matched = 1;
      else pass.push(b);
    }
    return { pass: Buffer.from(pass), detach: false };
  }
}
