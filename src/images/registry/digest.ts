// Every manifest and blob is checked against the digest that was asked for
// (never against what the registry claims in Docker-Content-Digest).
import { createHash } from 'node:crypto';
import { CnmError } from '../../model/errors.ts';

export const sha256Digest = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Throws unless the digest's algorithm is one we can verify. */
export function checkSupportedDigest(digest: string): void {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new CnmError('INVALID', `unsupported digest ${JSON.stringify(digest)}: expected sha256:<64 hex>`);
}

export function mismatch(what: string, want: string, got: string): CnmError {
  return new CnmError('INVALID', `${what} digest mismatch: expected ${want}, got ${got}`);
}

/**
 * Passes `body` through, counting bytes for `onBytes`, and throws at its end
 * when the content is not `size` bytes with sha256 `digest` (so the sink's
 * put rejects and stores nothing).
 */
export async function* verified(
  body: AsyncIterable<Uint8Array>, digest: string, size: number, onBytes?: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  const h = createHash('sha256');
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (size >= 0 && n > size) throw new CnmError('INVALID', `blob ${digest} is larger than its ${size} bytes`);
    h.update(c);
    onBytes?.(n);
    yield c;
  }
  const got = `sha256:${h.digest('hex')}`;
  if (got !== digest) throw mismatch('blob', digest, got);
  if (size >= 0 && n !== size) throw new CnmError('INVALID', `blob ${digest} has ${n} bytes, expected ${size}`);
}
