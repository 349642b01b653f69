// The bridge's DHCP server follows the controller: a bridge network created
// (or reloaded at start) with cnm.bridge.dhcp=true gets a server on its
// bridge; removing the network stops it and drops its leases. Leases are
// allocations in the network's IPAM allocator, so they never collide with
// endpoints, the gateway or aux addresses; bound leases are stored under
// dhcp-leases/<network>/<client> (the store stays the source of truth: the
// allocator is rebuilt from endpoints and these at start), and a client's
// host name (option 12) is a name in the network's embedded DNS.
import { createHash } from 'node:crypto';
import type { Logger } from '../core/context.ts';
import type { ControllerHooks } from '../core/hooks.ts';
import type { IpamManager } from '../core/ipam.ts';
import { DhcpServer } from '../dhcp/server.ts';
import type { DhcpNamespace } from '../dhcp/server.ts';
import type { AddressPool, Lease, LeaseChange } from '../dhcp/server-logic.ts';
import { prefixToMask } from '../dhcp/wire.ts';
import type { Resolver } from '../dns/index.ts';
import { parseBridgeOptions } from '../drivers/bridge/options.ts';
import type { SubnetAllocator } from '../ipam/index.ts';
import type { NetworkRecord } from '../model/records.ts';
import { MAX_TXN_OPS } from '../store/index.ts';
import type { Store, TxnOp } from '../store/index.ts';

const PREFIX = 'dhcp-leases/';
const leasePrefix = (netId: string): string => `${PREFIX}${netId}/`;
/** A digest names the client: option 61 may be hundreds of bytes (RFC 3396 joins split ones). */
const leaseKey = (netId: string, client: string): string => `${leasePrefix(netId)}${createHash('sha256').update(client).digest('hex')}`;
/** The name table's id of a lease's name: unique per network and client. */
const dnsId = (netId: string, client: string): string => `dhcp:${netId}:${client}`;

export interface DhcpHookOptions {
  store: Store;
  ns: DhcpNamespace;
  /** The controller's IPAM (made after the hooks). */
  ipam(): IpamManager;
  dns: Resolver;
  log: Logger;
  /** The server's port: 67 (a test may choose another). */
  port?: number;
}

export interface DhcpHooks extends ControllerHooks {
  /** Stops every server (daemon shutdown) once their leases are stored; leases stay stored. */
  close(): Promise<void>;
  /** The server of a network, if it has one (tests, benchmarks). */
  server(netId: string): DhcpServer | undefined;
}

/** Whether a network asks for a DHCP server, and its lease time. */
export function dhcpSettings(net: NetworkRecord): { lease: number } | null {
  if (net.driver !== 'bridge' || !net.ipv4 || !net.driverState.bridge) return null;
  try {
    const o = parseBridgeOptions(net, net.driverState.bridge);
    return o.dhcp ? { lease: o.dhcpLease } : null;
  } catch {
    return null; // options were checked at create
  }
}

const v4 = (ip: string): number => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);
function range(cidr: string): [number, number] {
  const [a, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const lo = Math.floor(v4(a ?? '') / size) * size;
  return [lo, lo + size - 1];
}
const inside = (r: [number, number], ip: string): boolean => { const n = v4(ip); return n >= r[0] && n <= r[1]; };
const isV4 = (ip: string): boolean => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip) && ip.split('.').every((x) => Number(x) <= 255);

/** The network's allocator as the DHCP server's pool: dynamic leases stay inside the ip-range. */
export function allocatorPool(a: SubnetAllocator, subnet: string, ipRange: string | undefined): AddressPool {
  const sub = range(subnet);
  const dyn = range(ipRange || subnet);
  return {
    take(ip) {
      if (!isV4(ip) || !inside(dyn, ip) || a.reservedRole(ip) !== null || a.isUsed(ip)) return false;
      return a.markUsed(ip);
    },
    takeNext() {
      try { return a.allocate(); } catch { return null; }
    },
    free(ip) {
      try { a.release(ip); } catch { /* reserved or outside: nothing was taken */ }
    },
    inSubnet: (ip) => isV4(ip) && inside(sub, ip) && a.reservedRole(ip) === null,
  };
}

/**
 * Deletes the leases of networks the store no longer has (a removal that
 * failed halfway, or a network removed by a daemon of another version).
 * Returns how many were deleted.
 */
export async function sweepLeases(store: Store, networks: ReadonlySet<string>): Promise<number> {
  const stale = (await store.list(PREFIX)).kvs.filter((kv) => !networks.has(kv.key.slice(PREFIX.length).split('/')[0] ?? ''));
  for (let i = 0; i < stale.length; i += MAX_TXN_OPS) {
    await store.txn({ compare: [], success: stale.slice(i, i + MAX_TXN_OPS).map((kv) => ({ type: 'delete', key: kv.key })) });
  }
  return stale.length;
}

export function dhcpHooks(o: DhcpHookOptions): DhcpHooks {
  const servers = new Map<string, DhcpServer>();
  const named = new Set<string>();

  const setName = (net: NetworkRecord, l: Lease | null, client: string): void => {
    const id = dnsId(net.id, client);
    if (named.delete(id)) o.dns.table.removeEndpoint(id);
    if (!l?.hostname) return;
    try {
      o.dns.table.addEndpoint({
        endpointId: id, sandboxId: id, networkId: net.id, networkName: net.name,
        names: [l.hostname], ipv4: l.ip, internal: net.internal,
      });
      named.add(id);
    } catch (e) {
      o.log.warn(`dhcp: host name "${l.hostname}" of ${l.ip} not served by the DNS: ${(e as Error).message}`);
    }
  };

  const persist = async (net: NetworkRecord, changes: LeaseChange[]): Promise<void> => {
    const ops: TxnOp[] = changes.map((c) => ('bound' in c
      ? { type: 'put', key: leaseKey(net.id, c.bound.key), value: JSON.stringify(c.bound) }
      : { type: 'delete', key: leaseKey(net.id, c.gone.key) }));
    for (let i = 0; i < ops.length; i += MAX_TXN_OPS) await o.store.txn({ compare: [], success: ops.slice(i, i + MAX_TXN_OPS) });
    for (const c of changes) setName(net, 'bound' in c ? c.bound : null, 'bound' in c ? c.bound.key : c.gone.key);
  };

  const dropNames = (netId: string): void => {
    for (const id of [...named]) {
      if (!id.startsWith(`dhcp:${netId}:`)) continue;
      named.delete(id);
      o.dns.table.removeEndpoint(id);
    }
  };

  return {
    async networkAdded(net) {
      const s = dhcpSettings(net);
      const alloc = o.ipam().allocatorV4(net.id);
      if (!s || !net.ipv4 || !alloc || servers.has(net.id)) return;
      const bridge = net.driverState.bridge!;
      const stored = (await o.store.list(leasePrefix(net.id))).kvs;
      const leases: Lease[] = [];
      for (const kv of stored) {
        try { leases.push(JSON.parse(kv.value) as Lease); } catch { /* unreadable: dropped below */ }
      }
      const gw = net.ipv4.gateway;
      const { server, dropped } = await DhcpServer.start({
        ns: o.ns,
        bridge,
        port: o.port ?? 67,
        pool: allocatorPool(alloc, net.ipv4.subnet, net.ipv4.ipRange),
        cfg: {
          serverId: gw,
          mask: prefixToMask(Number(net.ipv4.subnet.split('/')[1])),
          // An internal network has no way out: no router for its clients.
          router: net.internal ? null : gw,
          // The embedded DNS listens on the gateway of user-defined networks.
          dns: net.predefined ? [] : [gw],
          leaseSecs: s.lease,
        },
        persist: (c) => persist(net, c),
        onError: (what, e) => o.log.warn(`dhcp on ${bridge}: ${what}: ${(e as Error).message}`),
      }, leases);
      servers.set(net.id, server);
      // Expired while the daemon was down, or their address is an endpoint's now.
      const live = new Set(server.table.byKey.keys());
      const gone = stored.filter((kv) => !leases.some((l) => leaseKey(net.id, l.key) === kv.key && live.has(l.key)));
      for (const kv of gone) await o.store.delete(kv.key);
      for (const l of server.table.byKey.values()) setName(net, l, l.key);
      o.log.info(`dhcp: serving ${net.name} on ${bridge}`, { leases: live.size, dropped: dropped.length });
    },
    async networkRemoved(net) {
      const server = servers.get(net.id);
      if (!server) return;
      servers.delete(net.id);
      server.close();
      await server.flush();
      dropNames(net.id);
      await o.store.txn({ compare: [], success: [{ type: 'deletePrefix', prefix: leasePrefix(net.id) }] });
    },
    async close() {
      const all = [...servers];
      servers.clear();
      for (const [id, s] of all) {
        s.close();
        await s.flush().catch(() => undefined);
        dropNames(id);
      }
    },
    server: (netId) => servers.get(netId),
  };
}
