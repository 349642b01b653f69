// src/images/blob-sink.ts
export interface BlobSink {
  /** True when the blob is stored already (a pull skips it: "Already exists"). */
  has(digest: string): Promise<boolean>;
  /** Streams a blob in; resolves once its sha256 equals `digest` and it is stored; rejects (storing nothing) on a mismatch. */
  put(digest: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void>;
}
