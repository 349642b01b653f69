// This daemon's membership in a cluster of cnm hosts sharing one etcd
// (docs/overlay.md). It
// - registers the node under nodes/<id> = {vtep, hostname, mtu, version},
//   bound to a lease (TTL 15 s) it keeps alive; the lease id is kept in the
//   data root, so a restart within the TTL keeps the node's keys alive;
// - watches the global prefix (list, then watch from the list's revision;
//   on a watch error or compaction: a full resync) and keeps the
//   controller's State, the IPAM allocators, the embedded DNS and the overlay
//   driver's peers in step with the other hosts;
// - republishes this node's endpoints after a restart or a lost lease;
// - says whether etcd answers ("unreachable since ..."), for info/doctor.
// It never flushes kernel state because etcd is unreachable: containers keep
// talking on what was programmed.
import { readFile, writeFile } from 'node:fs/promises';
import type { Ctx } from '../core/context.ts';
import { claimsOf, key } from '../core/state.ts';
import type { GlobalStore } from '../core/state.ts';
import { shortId } from '../model/ids.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/records.ts';
import { StoreError } from '../store/index.ts';
import type { Store, WatchEvent } from '../store/index.ts';
import type { DnsEndpoint } from '../dns/name-table.ts';

export const NODE_TTL = 15;
const KEEPALIVE_MS = 5000;
const RESYNC_BACKOFF_MS = 1000;
export const NODES = 'nodes/';
/** The local store's copies of this node's global endpoints (see republish). */
export const MIRROR = 'cluster/endpoints/';
const nodeKey = (id: string): string => `${NODES}${id}`;

export interface NodeInfo { vtep: string; hostname: string; mtu: number; version: string }

/** A remote endpoint as the overlay data plane programs it. */
export interface Peer { ip?: string; ip6?: string; mac: string; vtep: string }

export interface ClusterSinks {
  /** Programs a network's remote endpoints on this host (overlay driver setPeers). */
  setPeers?(net: NetworkRecord, peers: Peer[]): Promise<unknown>;
  /** The firewall's VXLAN guard: every node's VTEP (this one's included) may send VXLAN. */
  vteps?(vteps: string[]): Promise<unknown>;
  /** The embedded DNS's name table: remote endpoints' names. */
  dns?: { addEndpoint(ep: DnsEndpoint): void; removeEndpoint(id: string): boolean };
}

export interface ClusterStatus {
  store: string;
  node: string;
  vtep: string;
  reachable: boolean;
  /** ISO time etcd stopped answering, when it does not */
  unreachableSince: string | null;
  lastError: string | null;
  nodes: Array<NodeInfo & { id: string }>;
}

export interface ClusterOptions {
  store: Store;
  display: string;
  nodeId: string;
  node: NodeInfo;
  /** where the lease id is kept across restarts */
  leaseFile: string;
  /** the daemon's own (SQLite) store: this node's endpoints are mirrored there */
  local: Store;
  log: Ctx['log'];
}

export class Cluster {
  readonly store: Store;
  readonly nodeId: string;
  readonly node: NodeInfo;
  private readonly o: ClusterOptions;
  private lease = 0;
  private unreachableSince: number | null = null;
  private lastError: string | null = null;
  private readonly nodes = new Map<string, NodeInfo>();
  private ctx: Ctx | null = null;
  private sinks: ClusterSinks = {};
  private timer: NodeJS.Timeout | null = null;
  private cancelWatch: (() => void) | null = null;
  private closed = false;
  private resyncing: Promise<void> | null = null;
  private applyQueued = false;
  /** endpoint id -> the JSON mirrored in the local store */
  private readonly mirrored = new Map<string, string>();
  /** what was last applied, to apply only differences */
  private readonly applied = { vteps: '', nets: new Map<string, NetworkRecord>(), peers: new Map<string, string>(), dns: new Set<string>(), ipam: new Map<string, string>() };

  constructor(o: ClusterOptions) {
    this.o = o;
    this.store = o.store;
    this.nodeId = o.nodeId;
    this.node = o.node;
  }

  /** What State uses to write global records: this store, this node's lease. */
  get global(): GlobalStore {
    return { store: this.store, lease: () => this.lease };
  }

  /** Whether etcd answered the last call. */
  get reachable(): boolean { return this.unreachableSince === null; }

  private down(e: unknown): void {
    this.lastError = (e as Error).message;
    if (this.unreachableSince === null) {
      this.unreachableSince = Date.now();
      this.o.log.warn(`cluster store ${this.o.display} unreachable: ${this.lastError}; overlay networks keep forwarding, changes to them fail until it is back`);
    }
  }

  private up(): boolean {
    const was = this.unreachableSince !== null;
    this.unreachableSince = null;
    this.lastError = null;
    if (was) this.o.log.info(`cluster store ${this.o.display} reachable again`);
    return was;
  }

  /** One call to etcd: true (and a resync) when it answers again. */
  async probe(): Promise<boolean> {
    try {
      await this.store.revision();
    } catch (e) {
      this.down(e);
      return false;
    }
    if (this.up()) void this.keepAlive();
    return true;
  }

  /** The lease (the previous one if it still lives) and the node key. Tolerates an unreachable etcd. */
  async register(): Promise<void> {
    try {
      if (!this.lease) {
        const old = Number((await readFile(this.o.leaseFile, 'utf8').catch(() => '0')).trim());
        if (old > 0) this.lease = await this.store.keepAlive(old).then(() => old, () => 0);
      }
      if (!this.lease) {
        this.lease = await this.store.grant(NODE_TTL);
        await writeFile(this.o.leaseFile, `${this.lease}\n`);
      }
      await this.store.put(nodeKey(this.nodeId), JSON.stringify(this.node), { lease: this.lease });
      this.up();
    } catch (e) {
      this.down(e);
    }
  }

  /** Starts keepalive and the watch; republishes this node's endpoints. Call after the controller loaded. */
  async start(ctx: Ctx, sinks: ClusterSinks): Promise<void> {
    this.ctx = ctx;
    this.sinks = sinks;
    this.timer = setInterval(() => void this.keepAlive(), KEEPALIVE_MS);
    this.timer.unref();
    // An unreachable store does not hold up the daemon's start: the resync
    // goes on in the background until etcd answers.
    const first = this.resync();
    if (this.reachable) await first;
  }

  private async keepAlive(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.lease) throw new StoreError({ code: 'LEASE_NOT_FOUND', lease: 0 });
      await this.store.keepAlive(this.lease);
      if (this.up()) await this.resync();
    } catch (e) {
      if (e instanceof StoreError && e.code === 'LEASE_NOT_FOUND') {
        // The lease ended (etcd was away longer than the TTL, or this host
        // was cut off): etcd deleted this node's keys. A new lease, and
        // everything of this node put again.
        this.o.log.warn('cluster: the node lease expired; registering again and republishing this node\'s endpoints');
        this.lease = 0;
        await this.register();
        if (this.lease) await this.resync();
        return;
      }
      this.down(e);
    }
  }

  /** Full resync: list everything, republish own endpoints, apply, watch from the list's revision. */
  resync(): Promise<void> {
    if (this.resyncing) return this.resyncing;
    this.resyncing = (async () => {
      while (!this.closed) {
        try {
          this.cancelWatch?.();
          this.cancelWatch = null;
          await this.republish();
          const rev = await this.ctx!.state.loadGlobal();
          const nodes = await this.store.list(NODES);
          this.nodes.clear();
          for (const kv of nodes.kvs) this.rememberNode(kv.key, kv.value);
          await this.apply();
          this.cancelWatch = this.store.watch('', Math.max(rev, nodes.revision), (ev) => this.onEvent(ev), (err) => this.onWatchError(err));
          this.up();
          return;
        } catch (e) {
          this.down(e);
          await new Promise((r) => setTimeout(r, RESYNC_BACKOFF_MS).unref());
        }
      }
    })().finally(() => { this.resyncing = null; });
    return this.resyncing;
  }

  private onWatchError(err: Error): void {
    if (this.closed) return;
    this.o.log.warn(`cluster: watch ended (${err.message}); resyncing`);
    this.cancelWatch = null;
    if (!(err instanceof StoreError && err.code === 'COMPACTED')) this.down(err);
    setTimeout(() => void this.resync(), err instanceof StoreError && err.code === 'COMPACTED' ? 0 : RESYNC_BACKOFF_MS).unref();
  }

  private rememberNode(k: string, value: string | null): void {
    const id = k.slice(NODES.length);
    if (value === null) { this.nodes.delete(id); return; }
    try { this.nodes.set(id, JSON.parse(value) as NodeInfo); } catch { /* not ours */ }
  }

  private onEvent(ev: WatchEvent): void {
    // This node's own commits come back too (memory has them already):
    // they still get an apply, which mirrors this node's endpoints.
    if (ev.key.startsWith(NODES)) this.rememberNode(ev.key, ev.value);
    else this.ctx!.state.applyGlobal(ev);
    if (this.applyQueued) return;
    this.applyQueued = true;
    // One apply per burst of events (a txn arrives as several events).
    queueMicrotask(() => {
      this.applyQueued = false;
      void this.apply().catch((e: unknown) => this.o.log.warn(`cluster: applying changes: ${(e as Error).message}`));
    });
  }

  /**
   * This node's endpoints as etcd should have them. Each is mirrored in
   * the local store (MIRROR), because etcd forgets them when the lease ends
   * (a daemon down, or cut off, longer than the TTL): those of running
   * sandboxes still attached to the network are put again with the current
   * lease (with their address claims, create-if-absent); those whose sandbox
   * stopped, left the network or is gone are deleted, here and in etcd.
   * `sandboxes` says which sandboxes run (at start, before State loads, the
   * local store's records).
   */
  async republish(sandboxes?: Map<string, SandboxRecord>): Promise<void> {
    if (!this.lease) return;
    const sbxs = sandboxes ?? this.ctx?.state.sandboxes ?? new Map<string, SandboxRecord>();
    const mirrored = new Map((await this.o.local.list(MIRROR)).kvs.map((kv) => [kv.key.slice(MIRROR.length), JSON.parse(kv.value) as EndpointRecord]));
    for (const ep of this.ctx?.state.endpoints.values() ?? []) if (ep.node?.id === this.nodeId) mirrored.set(ep.id, ep);
    for (const ep of mirrored.values()) {
      const k = key.endpoint(ep.id);
      const sbx = sbxs.get(ep.sandboxId);
      const wanted = !!sbx && sbx.state === 'running' && sbx.attachments.some((a) => a.networkId === ep.networkId);
      const claims = [...claimsOf('endpoint', ep).keys()];
      const cur = await this.store.get(k);
      if (!wanted) {
        if (cur) await this.store.txn({ compare: [{ key: k, modRevision: cur.modRevision }], success: [{ type: 'delete', key: k }, ...claims.map((c) => ({ type: 'delete' as const, key: c }))] });
        await this.o.local.delete(MIRROR + ep.id);
        continue;
      }
      await this.mirror(ep);
      if (cur && cur.lease === this.lease) continue;
      const held = await Promise.all(claims.map((c) => this.store.get(c)));
      const lost = held.find((h) => h && h.value !== ep.id);
      if (lost) {
        this.o.log.error(`cluster: cannot republish endpoint ${shortId(ep.id)} of ${ep.name}: ${lost.key} is now held by ${lost.value}`);
        continue;
      }
      const r = await this.store.txn({
        compare: [{ key: k, modRevision: cur?.modRevision ?? 0 }, ...claims.map((c, i) => ({ key: c, modRevision: held[i]?.modRevision ?? 0 }))],
        success: [{ type: 'put', key: k, value: JSON.stringify(ep), lease: this.lease }, ...claims.map((c) => ({ type: 'put' as const, key: c, value: ep.id, lease: this.lease }))],
      });
      if (r.succeeded) this.o.log.info(`cluster: republished endpoint ${shortId(ep.id)} of ${ep.name}`);
    }
  }

  /** Keeps a copy of one of this node's endpoints in the local store (written when it changes). */
  private async mirror(ep: EndpointRecord): Promise<void> {
    const v = JSON.stringify(ep);
    if (this.mirrored.get(ep.id) === v) return;
    await this.o.local.put(MIRROR + ep.id, v);
    this.mirrored.set(ep.id, v);
  }

  /** Mirrors of endpoints this node no longer has, while etcd answers (State is then current). */
  private async unmirror(): Promise<void> {
    const state = this.ctx!.state;
    for (const id of [...this.mirrored.keys()]) {
      if (state.endpoints.has(id)) continue;
      const ep = JSON.parse(this.mirrored.get(id)!) as EndpointRecord;
      const sbx = state.sandboxes.get(ep.sandboxId);
      // Gone because its lease ended while the sandbox still runs there: kept for the republish.
      if (sbx && sbx.state === 'running' && sbx.attachments.some((a) => a.networkId === ep.networkId) && state.endpointsOf(sbx.id).every((e) => e.networkId !== ep.networkId)) continue;
      this.mirrored.delete(id);
      await this.o.local.delete(MIRROR + id);
    }
  }

  /**
   * Makes this host follow the global state in memory (level-triggered, so
   * a resync and a single event take the same path): remote networks are
   * set up or torn down as local ones would be, remote endpoints' addresses
   * are marked used in IPAM, their names go into the DNS, and each
   * network's peers to the overlay data plane.
   */
  private async apply(): Promise<void> {
    const ctx = this.ctx!;
    const state = ctx.state;
    const globalNets = [...state.networks.values()].filter((n) => n.scope === 'global');
    const vteps = [...new Set([this.node.vtep, ...[...this.nodes.values()].map((n) => n.vtep)])].sort();
    if (this.sinks.vteps && this.applied.vteps !== vteps.join(' ')) {
      await this.sinks.vteps(vteps).then(() => { this.applied.vteps = vteps.join(' '); },
        (e: unknown) => ctx.log.warn(`cluster: the VXLAN guard: ${(e as Error).message}`));
    }
    const live = new Set(globalNets.map((n) => n.id));
    // Networks gone from the cluster: torn down here as a local rm would
    // (idempotent: the host that removed it did this already).
    for (const [id, net] of [...this.applied.nets]) {
      if (live.has(id)) continue;
      this.applied.nets.delete(id);
      this.applied.peers.delete(id);
      ctx.ipam.close(id);
      await Promise.resolve(ctx.hooks.networkRemoved(net)).catch(() => undefined);
      await ctx.drivers.get(net.driver).deleteNetwork(ctx.driverCtx, net)
        .catch((e: unknown) => ctx.log.warn(`cluster: removing network ${net.name} here: ${(e as Error).message}`));
    }
    // Networks new to this host: allocators, kernel objects, observers.
    for (const net of globalNets) {
      if (this.applied.nets.has(net.id)) continue;
      this.applied.nets.set(net.id, net);
      if (!ctx.ipam.usage().has(net.id)) {
        ctx.ipam.open(net);
        for (const ep of state.endpointsOn(net.id)) {
          ctx.ipam.markUsed(net, ep.ipv4);
          ctx.ipam.markUsed(net, ep.ipv6);
        }
      }
      try {
        await ctx.drivers.get(net.driver).createNetwork(ctx.driverCtx, net);
        await ctx.hooks.networkAdded(net);
      } catch (e) {
        ctx.log.warn(`cluster: setting up network ${net.name} here: ${(e as Error).message}`);
      }
    }
    // This node's endpoints, mirrored locally for a republish.
    for (const ep of state.endpoints.values()) if (ep.node?.id === this.nodeId) await this.mirror(ep);
    await this.unmirror();
    // Remote endpoints: IPAM, DNS and peers.
    const remote = [...state.endpoints.values()].filter((ep) => ep.node && ep.node.id !== this.nodeId && live.has(ep.networkId));
    const remoteIds = new Set(remote.map((e) => e.id));
    for (const [id, netAndAddrs] of [...this.applied.ipam]) {
      if (remoteIds.has(id)) continue;
      this.applied.ipam.delete(id);
      const [netId, ...addrs] = netAndAddrs.split(' ');
      const net = state.networks.get(netId ?? '');
      if (net) for (const a of addrs) ctx.ipam.release(net, a);
    }
    for (const id of [...this.applied.dns]) {
      if (remoteIds.has(id)) continue;
      this.applied.dns.delete(id);
      this.sinks.dns?.removeEndpoint(id);
    }
    for (const ep of remote) {
      const net = state.networks.get(ep.networkId)!;
      if (!this.applied.ipam.has(ep.id)) {
        ctx.ipam.markUsed(net, ep.ipv4);
        ctx.ipam.markUsed(net, ep.ipv6);
        this.applied.ipam.set(ep.id, [net.id, ep.ipv4, ep.ipv6].filter(Boolean).join(' '));
      }
      if (!this.applied.dns.has(ep.id) && this.sinks.dns) {
        this.applied.dns.add(ep.id);
        this.sinks.dns.addEndpoint(remoteDnsEntry(ep, net));
      }
    }
    if (this.sinks.setPeers) {
      for (const net of globalNets) {
        const peers = remote.filter((e) => e.networkId === net.id).map((e) => peerOf(e)).sort((a, b) => a.mac.localeCompare(b.mac));
        const sig = JSON.stringify(peers);
        if (this.applied.peers.get(net.id) === sig) continue;
        try {
          await this.sinks.setPeers(net, peers);
          this.applied.peers.set(net.id, sig);
        } catch (e) {
          ctx.log.warn(`cluster: programming the peers of ${net.name}: ${(e as Error).message}`);
        }
      }
    }
  }

  /** The remote endpoints of a network, as inspect shows them ("Peers"). */
  peersOf(netId: string): Array<{ Name: string; IP: string }> {
    const ctx = this.ctx;
    if (!ctx) return [];
    const byVtep = new Map<string, string>();
    for (const ep of ctx.state.endpointsOn(netId)) if (ep.node) byVtep.set(ep.node.vtep, ep.node.id);
    return [...byVtep].map(([vtep, id]) => ({ Name: id, IP: vtep }));
  }

  status(): ClusterStatus {
    return {
      store: this.o.display,
      node: this.nodeId,
      vtep: this.node.vtep,
      reachable: this.reachable,
      unreachableSince: this.unreachableSince === null ? null : new Date(this.unreachableSince).toISOString(),
      lastError: this.lastError,
      nodes: [...this.nodes].map(([id, n]) => ({ id, ...n })).sort((a, b) => a.id.localeCompare(b.id)),
    };
  }

  /** Stops keepalive and the watch. The lease stays (a restart within its TTL keeps the node's endpoints). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.cancelWatch?.();
    await this.store.close();
  }
}

export function peerOf(ep: EndpointRecord): Peer {
  return { ...(ep.ipv4 ? { ip: ep.ipv4 } : {}), ...(ep.ipv6 ? { ip6: ep.ipv6 } : {}), mac: ep.mac, vtep: ep.node?.vtep ?? '' };
}

/** A remote endpoint's names: what the owning host's DNS gives it (container name, hostname, aliases, short id). */
function remoteDnsEntry(ep: EndpointRecord, net: NetworkRecord): DnsEndpoint {
  const names = [ep.name, ep.node?.sandboxHostname ?? '', ...ep.aliases, shortId(ep.sandboxId)];
  return {
    endpointId: ep.id,
    sandboxId: ep.sandboxId,
    networkId: net.id,
    networkName: net.name,
    names: [...new Set(names.filter(Boolean))],
    ...(ep.ipv4 ? { ipv4: ep.ipv4.split('/')[0] } : {}),
    ...(ep.ipv6 ? { ipv6: ep.ipv6.split('/')[0] } : {}),
    internal: net.internal,
  };
}

