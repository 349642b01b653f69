// The daemon's side of the `dhcp` IPAM driver (DriverContext.dhcp): runs
// the client in the sandbox's namespace at join, puts the address on the
// interface, and hands the lease to the keeper, which renews it and tells
// the controller (recordDhcpLease) what became of it.
//
// Client id (option 61): type 0 + "<sandboxId>/<networkId>" (clientIdFor),
// the same for every start of a container on a network, so the server
// gives a restarted container its address back although its MAC is new.
// A new DORA also asks (option 50) for the address the client had last
// (remembered in DATA_ROOT/dhcp-addresses.json), which a server gives back
// while it is free: a stop sends RELEASE, so this is what keeps the address.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { acquire, releaseLease } from '../dhcp/client.ts';
import { LeaseKeeper } from '../dhcp/lease-keeper.ts';
import { clientIdFor, leaseCidr, leasePhase } from '../dhcp/messages.ts';
import type { ClientIdentity, Lease } from '../dhcp/messages.ts';
import type { DhcpLeaseService } from '../drivers/driver.ts';
import type { Logger } from '../core/context.ts';
import type { EndpointRecord } from '../model/records.ts';
import { Netns } from '../netlink/index.ts';
import type { NetnsHandle } from '../netlink/index.ts';

export interface DaemonDhcp extends DhcpLeaseService {
  /** Re-arms the timers of a lease recorded before a restart (its interface already holds the address). */
  resume(ep: EndpointRecord, nsPath: string): Promise<void>;
  close(): void;
}

async function identity(ns: Pick<NetnsHandle, 'rtnl'>, ifName: string, ep: EndpointRecord): Promise<ClientIdentity> {
  const link = await ns.rtnl.linkGet(ifName);
  return { mac: link?.mac ?? ep.mac, clientId: clientIdFor(ep.sandboxId, ep.networkId) };
}

// Client ids remembered with their last address; the oldest are forgotten first.
const REMEMBERED_MAX = 4096;

/** The last address per client id, kept in a small file so a start after a daemon restart (a reboot) asks for it too. */
function lastAddresses(path: string | undefined, log: Logger): { get(k: string): string | undefined; set(k: string, ip: string): void } {
  const map = new Map<string, string>();
  if (path) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>)) map.set(k, v);
    } catch { /* none yet, or unreadable: only a hint is lost */ }
  }
  let writing = Promise.resolve();
  return {
    get: (k) => map.get(k),
    set(k, ip) {
      if (map.get(k) === ip) return;
      map.delete(k);
      map.set(k, ip);
      if (map.size > REMEMBERED_MAX) map.delete(map.keys().next().value!);
      if (!path) return;
      const text = JSON.stringify(Object.fromEntries(map));
      writing = writing.then(() => writeFile(`${path}.tmp`, text)).then(() => rename(`${path}.tmp`, path))
        .catch((e: Error) => log.warn(`DHCP: cannot save ${path}: ${e.message}`));
    },
  };
}

export function daemonDhcp(o: { log: Logger; onLease(endpointId: string, lease: Lease | null): Promise<void>; statePath?: string }): DaemonDhcp {
  const keeper = new LeaseKeeper({ openNs: (p) => Netns.open(p), onLease: o.onLease, log: o.log });
  /** The last address per client id: asked for again after a stop (RELEASE) and start. */
  const lastAddress = lastAddresses(o.statePath, o.log);
  return {
    async acquire({ ns, ifName, endpoint }) {
      const who = await identity(ns, ifName, endpoint);
      const key = who.clientId.toString('hex');
      const held = endpoint.dhcpLease;
      let lease: Lease;
      if (held && leasePhase(held, Date.now()).phase !== 'expired') {
        // A restart re-joining a recorded endpoint: the lease is still ours, no new DORA.
        lease = held;
      } else {
        const sock = await Netns.open(ns.path);
        try {
          const wanted = held?.address ?? lastAddress.get(key);
          lease = await acquire(sock, ifName, who, wanted ? { wanted } : {});
        } finally {
          sock.close();
        }
        o.log.info(`DHCP: ${ifName} leased ${lease.address}/${lease.prefix} from ${lease.serverId} for ${lease.leaseTime} s`, { endpoint: endpoint.id });
      }
      const cidr = leaseCidr(lease);
      const have = (await ns.rtnl.addrList(ifName)).filter((a) => a.family === 4).map((a) => a.cidr);
      for (const stale of have.filter((c) => c !== cidr)) await ns.rtnl.addrDel(ifName, stale).catch(() => undefined);
      if (!have.includes(cidr)) await ns.rtnl.addrAdd(ifName, cidr);
      lastAddress.set(key, lease.address);
      keeper.track({ endpointId: endpoint.id, nsPath: ns.path, ifName, who, lease });
      return lease;
    },

    async release({ ns, ifName, endpoint }) {
      const lease = keeper.leaseOf(endpoint.id) ?? endpoint.dhcpLease;
      keeper.forget(endpoint.id);
      if (!lease || !ns || leasePhase(lease, Date.now()).phase === 'expired') return;
      try {
        const who = await identity(ns, ifName, endpoint);
        const sock = await Netns.open(ns.path);
        try {
          await releaseLease(sock, ifName, who, lease);
        } finally {
          sock.close();
        }
        o.log.info(`DHCP: ${ifName} released ${lease.address} to ${lease.serverId}`, { endpoint: endpoint.id });
      } catch (e) {
        // The server forgets the lease at its expiry anyway.
        o.log.warn(`DHCP: RELEASE of ${lease.address} failed: ${(e as Error).message}`, { endpoint: endpoint.id });
      }
    },

    async resume(ep, nsPath) {
      if (!ep.dhcpLease || keeper.leaseOf(ep.id)) return;
      const ns = await Netns.open(nsPath);
      try {
        const who = await identity(ns, ep.ifName, ep);
        lastAddress.set(who.clientId.toString('hex'), ep.dhcpLease.address);
        keeper.track({ endpointId: ep.id, nsPath, ifName: ep.ifName, who, lease: ep.dhcpLease });
      } finally {
        ns.close();
      }
    },

    close() {
      keeper.close();
    },
  };
}
