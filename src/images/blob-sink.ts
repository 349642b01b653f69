// The seam between a registry pull (or a load) and the content store: blobs
// go in by digest, verified on the way. The content store implements it
// (blob-store.ts); the registry client uses it.
export interface BlobSink {
  /** True when the blob is stored already (a pull skips it: "Already exists"). */
  has(digest: string): Promise<boolean>;
  /** Streams a blob in; resolves once its sha256 equals `digest` and it is stored; rejects (storing nothing) on a mismatch. */
  put(digest: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void>;
}
