// A Store seen under a key prefix: cnm's part of a shared etcd
// (`/cnm/v1/`), so keys inside look like the embedded store's ("networks/<id>")
// and the rest of the cluster's keys are out of sight.
import type { KeyValue, ListResult, Store, Txn, TxnOp, TxnResult, WatchCallback, WatchErrorCallback } from '../store/index.ts';
import type { PutOptions } from '../store/types.ts';

export class PrefixedStore implements Store {
  private readonly inner: Store;
  readonly prefix: string;

  constructor(inner: Store, prefix: string) {
    this.inner = inner;
    this.prefix = prefix;
  }

  private in(k: string): string { return this.prefix + k; }
  private out(kv: KeyValue): KeyValue { return { ...kv, key: kv.key.slice(this.prefix.length) }; }
  private op(o: TxnOp): TxnOp {
    return o.type === 'deletePrefix' ? { ...o, prefix: this.in(o.prefix) } : { ...o, key: this.in(o.key) };
  }

  async get(key: string): Promise<KeyValue | null> {
    const kv = await this.inner.get(this.in(key));
    return kv ? this.out(kv) : null;
  }
  async list(prefix: string): Promise<ListResult> {
    const r = await this.inner.list(this.in(prefix));
    return { kvs: r.kvs.map((kv) => this.out(kv)), revision: r.revision };
  }
  put(key: string, value: string, options?: PutOptions): Promise<number> { return this.inner.put(this.in(key), value, options); }
  delete(key: string): Promise<boolean> { return this.inner.delete(this.in(key)); }
  txn(t: Txn): Promise<TxnResult> {
    return this.inner.txn({
      compare: t.compare.map((c) => ({ ...c, key: this.in(c.key) })),
      success: t.success.map((o) => this.op(o)),
      ...(t.failure ? { failure: t.failure.map((o) => this.op(o)) } : {}),
    });
  }
  revision(): Promise<number> { return this.inner.revision(); }
  sync(): Promise<void> { return this.inner.sync(); }
  watch(prefix: string, fromRevision: number | null, cb: WatchCallback, onError?: WatchErrorCallback): () => void {
    return this.inner.watch(this.in(prefix), fromRevision, (ev) => cb({ ...ev, key: ev.key.slice(this.prefix.length) }), onError);
  }
  grant(ttlSeconds: number): Promise<number> { return this.inner.grant(ttlSeconds); }
  keepAlive(lease: number): Promise<number> { return this.inner.keepAlive(lease); }
  revoke(lease: number): Promise<void> { return this.inner.revoke(lease); }
  compact(revision: number): Promise<void> { return this.inner.compact(revision); }
  close(): Promise<void> { return this.inner.close(); }
}
