// One daemon per network namespace. Two daemons in one namespace would fight
// over the same nftables tables (each restoring its own ruleset whenever the
// other changes it) and sweep each other's objects. The lock is a unix socket
// in the abstract namespace: abstract socket names belong to the network
// namespace they are bound in (unix(7)), whatever the daemons' exec roots,
// and the kernel releases the name when the process dies, even on kill -9,
// so there is no stale lock file to clean up. Whoever connects to it reads
// who holds it.
import { createConnection, createServer } from 'node:net';
import type { Server } from 'node:net';
import { CnmError } from '../model/errors.ts';

/** A fixed name: per network namespace by nature. */
export const NETNS_LOCK_NAME = '\0cnm-daemon-netns-lock';

export interface LockHolder {
  pid: number;
  host: string;
  dataRoot: string;
  execRoot: string;
}

export interface NetnsLock {
  release(): Promise<void>;
}

/** Asks the holder of the lock who it is (null when nobody answers). */
export function lockHolder(name = NETNS_LOCK_NAME, timeoutMs = 2000): Promise<LockHolder | null> {
  return new Promise((resolve) => {
    const c = createConnection({ path: name });
    let buf = '';
    const done = (v: LockHolder | null) => {
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    c.on('data', (d: Buffer) => { buf += d.toString(); });
    c.on('end', () => {
      try {
        done(JSON.parse(buf) as LockHolder);
      } catch {
        done(null);
      }
    });
    c.on('error', () => done(null));
  });
}

/** Takes the namespace's lock, or throws a CnmError naming the daemon that has it. */
export async function acquireNetnsLock(me: LockHolder, name = NETNS_LOCK_NAME): Promise<NetnsLock> {
  const server: Server = createServer((c) => {
    c.on('error', () => undefined);
    c.end(JSON.stringify(me));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: name }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    const h = await lockHolder(name);
    const who = h ? `pid ${h.pid}, -H ${h.host}, --data-root ${h.dataRoot}, --exec-root ${h.execRoot}` : 'it did not say who it is';
    throw new CnmError('CONFLICT', `another cnm daemon already runs in this network namespace (${who}): `
      + 'two daemons in one namespace would fight over the firewall and remove each other\'s objects; '
      + 'stop that daemon first, or start this one in a namespace of its own (ip netns exec NAME cnm daemon ...)');
  }
  server.unref();
  return {
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
