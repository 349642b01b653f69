// Content digests as the OCI image spec writes them: "sha256:<64 hex>"
// (IS descriptor.md; only sha256 is used by Docker's image store).
import { createHash } from 'node:crypto';
import { invalid } from '../model/errors.ts';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export const isDigest = (s: unknown): s is string => typeof s === 'string' && DIGEST_RE.test(s);

/** The hex part of a digest, after checking its form (it names files). */
export function digestHex(digest: unknown, what = 'digest'): string {
  if (!isDigest(digest)) throw invalid(`invalid ${what} ${JSON.stringify(digest)}: expected sha256:<64 lowercase hex digits>`);
  return digest.slice('sha256:'.length);
}

export const sha256 = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * ChainIDs (IS config.md "Layer ChainID"): ChainID(L0) = DiffID(L0),
 * ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}
