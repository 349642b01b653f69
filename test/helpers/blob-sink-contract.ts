// The BlobSink contract (src/images/blob-sink.ts), run against every
// implementation: the content store here, and any in-test sink a registry
// test uses, so both behave the same at the seam.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BlobSink } from '../../src/images/blob-sink.ts';
import { sha256 } from '../../src/images/digest.ts';

export interface SinkUnderTest {
  sink: BlobSink;
  /** Digests of what is stored (temp files must not show here or anywhere). */
  stored(): Promise<string[]>;
  cleanup(): Promise<void>;
}

async function* pieces(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

export function blobSinkContract(name: string, make: () => Promise<SinkUnderTest>): void {
  test(`${name}: BlobSink contract (stored on a match; a mismatch, short or failing stream stores nothing)`, async () => {
    const u = await make();
    try {
      const data = Buffer.from('hello blob '.repeat(100));
      const d = sha256(data);
      assert.equal(await u.sink.has(d), false);
      await u.sink.put(d, data.length, pieces(data, 7));
      assert.equal(await u.sink.has(d), true);
      await u.sink.put(d, data.length, pieces(data, 100)); // again: harmless
      await assert.rejects(u.sink.put(sha256('other'), data.length, pieces(data, 50)), /digest mismatch/);
      await assert.rejects(u.sink.put(sha256(data.subarray(0, 10)), 10, pieces(data.subarray(0, 5), 5)), /mismatch/);
      const failing = async function* (): AsyncGenerator<Buffer> { yield data.subarray(0, 3); throw new Error('connection reset'); };
      await assert.rejects(u.sink.put(sha256('x'), 10, failing()), /connection reset/);
      assert.deepEqual(await u.stored(), [d]);
    } finally { await u.cleanup(); }
  });
}
