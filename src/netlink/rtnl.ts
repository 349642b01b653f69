// Typed rtnetlink operations on one namespace. Every method names its
// namespace through the socket it was built with; nothing here depends on
// the namespace of the calling thread.
import type { RtnlSocket } from './socket.ts';
import type { OpContext } from './ops/context.ts';
import type { Address, BridgePortFlags, Family, Fdb, FdbEntry, Link, LinkChange, LinkRef, LinkSpec, Neigh, NeighEntry, Route } from './types.ts';
import { linkAdd, linkDel, linkDelGroup, linkGet, linkSet } from './ops/links.ts';
import { listLinks } from './ops/lookup.ts';
import { addrAdd, addrDel, addrList, linksAndAddrs } from './ops/addrs.ts';
import { routeAdd, routeDel, routeList, routeReplace } from './ops/routes.ts';
import { routeWatch } from './ops/route-watch.ts';
import type { RouteWatch } from './ops/route-watch.ts';
import { neighAdd, neighDel, neighList } from './ops/neigh.ts';
import { fdbAdd, fdbDel, fdbList } from './ops/fdb.ts';
import { bridgePortGet, bridgePortSet } from './ops/bridge-port.ts';
import { RtnlBatch } from './batch.ts';

export class Rtnl {
  readonly #o: OpContext;

  constructor(sock: RtnlSocket, withNs: OpContext['withNs']) {
    this.#o = { sock, withNs, send: async (req) => { await sock.run(req); } };
  }

  /** The namespace path this socket lives in (for messages). */
  get where(): string { return this.#o.sock.where; }

  linkAdd(spec: LinkSpec): Promise<Link> { return linkAdd(this.#o, spec); }
  linkDel(link: LinkRef): Promise<void> { return linkDel(this.#o, link); }
  linkDelGroup(group: number): Promise<void> { return linkDelGroup(this.#o, group); }
  linkGet(link: LinkRef): Promise<Link | null> { return linkGet(this.#o, link); }
  linkList(): Promise<Link[]> { return listLinks(this.#o); }
  linkSet(link: LinkRef, change: LinkChange): Promise<void> { return linkSet(this.#o, link, change); }

  addrAdd(dev: LinkRef, cidr: string, opts?: { noDad?: boolean }): Promise<void> { return addrAdd(this.#o, dev, cidr, opts); }
  addrDel(dev: LinkRef, cidr: string): Promise<void> { return addrDel(this.#o, dev, cidr); }
  addrList(dev?: LinkRef): Promise<Address[]> { return addrList(this.#o, dev); }
  /** Every link and address at once (two dumps instead of linkList's and addrList's three). */
  linksAndAddrs(): Promise<{ links: Link[]; addrs: Address[] }> { return linksAndAddrs(this.#o); }

  routeAdd(r: Route): Promise<void> { return routeAdd(this.#o, r); }
  routeReplace(r: Route): Promise<void> { return routeReplace(this.#o, r); }
  routeDel(r: Route): Promise<void> { return routeDel(this.#o, r); }
  routeList(filter?: { family?: Family; table?: number; devNames?: boolean }): Promise<Route[]> { return routeList(this.#o, filter); }
  /** A table's routes kept from the kernel's notifications (see ops/route-watch.ts); close it when done. */
  routeWatch(filter?: { families?: Family[]; table?: number }): Promise<RouteWatch> { return routeWatch(this.#o, filter); }

  neighAdd(n: Neigh & { replace?: boolean }): Promise<void> { return neighAdd(this.#o, n); }
  neighDel(n: { dev: LinkRef; ip: string }): Promise<void> { return neighDel(this.#o, n); }
  neighList(dev?: LinkRef): Promise<NeighEntry[]> { return neighList(this.#o, dev); }

  fdbAdd(f: Fdb & { append?: boolean }): Promise<void> { return fdbAdd(this.#o, f); }
  fdbDel(f: Fdb): Promise<void> { return fdbDel(this.#o, f); }
  fdbList(dev?: LinkRef): Promise<FdbEntry[]> { return fdbList(this.#o, dev); }

  bridgePortSet(dev: LinkRef, flags: BridgePortFlags): Promise<void> { return bridgePortSet(this.#o, dev, flags); }
  bridgePortGet(dev: LinkRef): Promise<Required<BridgePortFlags>> { return bridgePortGet(this.#o, dev); }

  /** Builds several changes and sends them in one sendmsg (see batch.ts):
   *  `await ns.rtnl.batch((b) => b.linkSet(2, { up: true }).addrAdd(2, '10.0.0.2/24'))`. */
  async batch(build: (b: RtnlBatch) => void): Promise<void> {
    const b = new RtnlBatch(this.#o);
    build(b);
    await b.commit();
  }

  /** Closes the socket after the requests already queued. */
  close(): void { this.#o.sock.close(); }
}

/** Rtnl's public surface as a plain type, for fakes in driver unit tests
 *  (the class itself is nominal because of its private field). */
export type RtnlApi = Pick<Rtnl, keyof Rtnl>;
