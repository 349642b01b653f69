// Wires a daemon into its cluster (composition only): the etcd client under
// cnm's prefix, the node's VTEP from --cluster-advertise, registration, and
// then the controller's context and the observers the watch feeds.
import { join } from 'node:path';
import type { Ctx, Logger } from '../core/context.ts';
import type { GlobalStore } from '../core/state.ts';
import type { NetnsHandle } from '../netlink/index.ts';
import { Cluster } from './cluster.ts';
import type { ClusterSinks } from './cluster.ts';
import { setOverlayPeers } from '../drivers/overlay/driver.ts';
import { VXLAN_PORT } from '../drivers/overlay/options.ts';
import type { Firewall } from '../firewall/index.ts';
import { parseClusterStore, readTls, resolveAdvertise } from './config.ts';
import type { ClusterFlags } from './config.ts';
import { PrefixedStore } from './prefixed-store.ts';
import { key } from '../core/state.ts';
import type { SandboxRecord } from '../model/records.ts';
import type { Store } from '../store/index.ts';

/** Where cnm's keys live in a shared etcd (PROTOCOLS §6.4: /cnm/v1/). */
export const ETCD_PREFIX = '/cnm/v1/';

export interface ClusterHandle {
  cluster: Cluster;
  global: GlobalStore;
  /** Gives the controller's context the node (before it loads: reconcile builds overlay networks). */
  bind(ctx: Ctx): void;
  /** Starts keepalive and the watch, feeding the DNS and the overlay data plane. */
  follow(ctx: Ctx, dns: NonNullable<ClusterSinks['dns']>, firewall: Pick<Firewall, 'setVxlanGuard'>): Promise<void>;
  close(): Promise<void>;
}


export async function startCluster(flags: ClusterFlags, o: { hostNs: NetnsHandle; local: Store; nodeId: string; hostname: string; version: string; dataRoot: string; log: Logger }): Promise<ClusterHandle> {
  const cfg = parseClusterStore(flags.store, flags.storeOpts);
  const adv = await resolveAdvertise(flags.advertise, o.hostNs);
  const tls = await readTls(cfg);
  // Loaded only for a cluster: the etcd client (gRPC, protobufs) is ~8 MB of
  // heap and ~20 MB of resident memory a single host never uses.
  const { EtcdStore } = await import('../store/etcd-store.ts');
  const etcd = await EtcdStore.open({ endpoints: cfg.endpoints, ...(tls ? { tls } : {}) });
  const cluster = new Cluster({
    store: new PrefixedStore(etcd, ETCD_PREFIX),
    display: cfg.display,
    nodeId: o.nodeId,
    node: { vtep: adv.vtep, hostname: o.hostname, mtu: adv.mtu, version: o.version },
    leaseFile: join(o.dataRoot, 'cluster-lease'),
    local: o.local,
    log: o.log,
  });
  await cluster.register();
  // This node's endpoints back in etcd before State loads from it (they
  // expired if the daemon was down longer than the lease): the controller
  // then adopts them instead of attaching anew.
  if (cluster.reachable) {
    const sbxs = new Map((await o.local.list(key.sandbox(''))).kvs.map((kv) => [kv.key.slice(key.sandbox('').length), JSON.parse(kv.value) as SandboxRecord]));
    await cluster.republish(sbxs).catch((e: unknown) => o.log.warn(`cluster: republishing at start: ${(e as Error).message}`));
  }
  o.log.info('cluster', { store: cfg.display, node: o.nodeId.slice(0, 12), vtep: adv.vtep, mtu: adv.mtu, reachable: cluster.reachable });
  return {
    cluster,
    global: cluster.global,
    bind(ctx) {
      ctx.cluster = { nodeId: o.nodeId, vtep: adv.vtep, store: cfg.display, reachable: () => cluster.reachable, probe: () => cluster.probe() };
      // The overlay data plane's view of this node (DriverContext.cluster).
      ctx.driverCtx.cluster = { vtep: adv.vtep, mtu: adv.mtu };
    },
    async follow(ctx, dns, firewall) {
      await cluster.start(ctx, {
        dns,
        setPeers: (net, peers) => setOverlayPeers(ctx.driverCtx, net, peers),
        vteps: (vteps) => firewall.setVxlanGuard({ port: VXLAN_PORT, vteps }),
      });
    },
    close: () => cluster.close(),
  };
}
