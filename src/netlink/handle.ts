// What the core and the drivers use of a namespace handle, as plain types:
// the Netns class is one implementation, an in-memory fake (test/helpers/
// fake-netlink.ts) another, and tsc keeps the two in step.
import type { RtnlBatch } from './batch.ts';
import type { Rtnl } from './rtnl.ts';

/** The changes the core and the drivers send several at a time (see batch.ts). */
export type BatchOps = { [K in 'linkSet' | 'addrAdd' | 'bridgePortSet']: (...a: Parameters<RtnlBatch[K]>) => BatchOps };

/** The rtnetlink calls the core and the drivers make. */
export type RtnlOps = Pick<Rtnl,
  | 'linkAdd' | 'linkDel' | 'linkDelGroup' | 'linkGet' | 'linkList' | 'linkSet'
  | 'addrAdd' | 'addrDel' | 'addrList' | 'linksAndAddrs'
  | 'routeList' | 'routeWatch' | 'routeReplace' | 'routeDel'
  | 'bridgePortSet'> & {
  /** Several changes in one sendmsg, in order; not a transaction. */
  batch(build: (b: BatchOps) => void): Promise<void>;
};

export interface NetnsHandle {
  readonly path: string;
  readonly rtnl: RtnlOps;
  /** The namespace fd, for calls that take one (a veth peer or a link moved into it). */
  readonly fd: number;
  /** Runs fn with the fd held open (see Netns.use). */
  use<T>(fn: (fd: number) => Promise<T>): Promise<T>;
  sysctlSet(key: string, value: string): Promise<void>;
  close(): void;
}

/** Makes, opens and removes namespaces by path (Netns's static calls). */
export interface NetnsProvider {
  create(path: string): Promise<NetnsHandle>;
  open(path: string): Promise<NetnsHandle>;
  remove(path: string): Promise<void>;
}
