// Several changes in one sendmsg: the kernel runs them in order, so one
// round trip replaces several. Not a transaction: a failing message does not
// stop the ones after it; every failure is reported. Names are looked up
// while the batch is built, before any of it runs, so a batch that renames a
// link must refer to it by index afterwards.
import type { NlRequest } from './socket.ts';
import type { OpContext } from './ops/context.ts';
import type { BridgePortFlags, Fdb, LinkChange, LinkRef, Neigh, Route } from './types.ts';
import { linkDel, linkSet } from './ops/links.ts';
import { addrAdd, addrDel } from './ops/addrs.ts';
import { routeAdd, routeDel, routeReplace } from './ops/routes.ts';
import { neighAdd, neighDel } from './ops/neigh.ts';
import { fdbAdd, fdbDel } from './ops/fdb.ts';
import { bridgePortSet } from './ops/bridge-port.ts';

export class RtnlBatch {
  readonly #base: OpContext;
  readonly #slots: Array<NlRequest | undefined> = [];
  /** per slot: error codes that change may meet without failing the batch */
  readonly #ignore: Array<readonly string[]> = [];
  readonly #pending: Array<Promise<void>> = [];

  constructor(base: OpContext) {
    this.#base = base;
  }

  /** Reserves the next slot now, so messages keep the order of the calls
   *  even when their lookups finish out of order. */
  #add(run: (o: OpContext) => Promise<void>, ignore: readonly string[] = []): this {
    const slot = this.#slots.push(undefined) - 1;
    this.#ignore[slot] = ignore;
    const o: OpContext = { ...this.#base, send: async (req) => { this.#slots[slot] = req; } };
    this.#pending.push(run(o));
    return this;
  }

  /** `ignore`: error codes (errno names) that do not fail the batch, e.g. EAFNOSUPPORT for an IPv6 setting on a kernel or link without IPv6. */
  linkSet(link: LinkRef, change: LinkChange, opts: { ignore?: readonly string[] } = {}): this { return this.#add((o) => linkSet(o, link, change), opts.ignore); }
  linkDel(link: LinkRef): this { return this.#add((o) => linkDel(o, link)); }
  addrAdd(dev: LinkRef, cidr: string, opts?: { noDad?: boolean }): this { return this.#add((o) => addrAdd(o, dev, cidr, opts)); }
  addrDel(dev: LinkRef, cidr: string): this { return this.#add((o) => addrDel(o, dev, cidr)); }
  routeAdd(r: Route): this { return this.#add((o) => routeAdd(o, r)); }
  routeReplace(r: Route): this { return this.#add((o) => routeReplace(o, r)); }
  routeDel(r: Route): this { return this.#add((o) => routeDel(o, r)); }
  neighAdd(n: Neigh & { replace?: boolean }): this { return this.#add((o) => neighAdd(o, n)); }
  neighDel(n: { dev: LinkRef; ip: string }): this { return this.#add((o) => neighDel(o, n)); }
  fdbAdd(f: Fdb & { append?: boolean }): this { return this.#add((o) => fdbAdd(o, f)); }
  fdbDel(f: Fdb): this { return this.#add((o) => fdbDel(o, f)); }
  bridgePortSet(dev: LinkRef, flags: BridgePortFlags): this { return this.#add((o) => bridgePortSet(o, dev, flags)); }

  /** Validates and looks up everything, then sends all in one sendmsg. Throws
   *  the failure, or an AggregateError of NetlinkErrors when several failed. */
  async commit(): Promise<void> {
    await Promise.all(this.#pending); // validation and lookup errors: nothing was sent
    const sent = this.#slots.flatMap((r, i) => (r ? [{ r, ignore: this.#ignore[i] ?? [] }] : []));
    const reqs = sent.map((x) => x.r);
    if (reqs.length === 0) return;
    const errors = (await this.#base.sock.batch(reqs)).flatMap((r, i) => (r.error && !sent[i]?.ignore.includes(r.error.code) ? [r.error] : []));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} of ${reqs.length} batched changes failed: ${errors.map((e) => e.message).join('; ')}`);
  }
}
