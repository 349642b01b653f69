// The controller's view of IPAM: chooses subnets for new networks and keeps
// one allocator per network subnet. Allocators are not persisted themselves;
// they are rebuilt from the endpoint records in the store on restart, so the
// store stays the single source of truth.
import { invalid } from '../model/errors.ts';
import type { NetworkRecord, SubnetConfig } from '../model/records.ts';
import { PoolSet, SubnetAllocator, parsePrefix, ulaPool, validateNetworkIpam } from '../ipam/index.ts';

export interface PoolFlag { base: string; size: number }

export interface IpamEnv {
  /** Prefixes the host already uses (its routes) and its nameservers: avoided. */
  avoid(): string[];
  hostId: string;
}

interface NetAllocators { v4?: SubnetAllocator; v6?: SubnetAllocator }

export class IpamManager {
  private readonly pools: PoolSet;
  private readonly pools6: PoolSet;
  private readonly allocators = new Map<string, NetAllocators>();
  private readonly env: IpamEnv;

  constructor(pools: PoolFlag[] | null, env: IpamEnv) {
    this.pools = new PoolSet(pools ?? undefined);
    // IPv6 without a subnet: the configured IPv6 pools, else Docker's ULA
    // /64s derived from the host id.
    const v6 = (pools ?? []).filter((p) => p.base.includes(':'));
    this.pools6 = new PoolSet(v6.length ? v6 : [ulaPool(env.hostId)]);
    this.env = env;
  }

  /**
   * Fills net.ipv4 / net.ipv6 from the request, choosing free subnets where
   * none was given. Throws (with Docker's messages) before anything changes.
   */
  planNetwork(net: NetworkRecord, requested: SubnetConfig[], others: NetworkRecord[]): void {
    const taken = others.flatMap((o) => [o.ipv4?.subnet, o.ipv6?.subnet]).filter((s): s is string => !!s);
    const v4req: SubnetConfig[] = [];
    const v6req: SubnetConfig[] = [];
    for (const r of requested) {
      if (!r.subnet) {
        if (r.gateway || r.ipRange) throw invalid('invalid pool request: a gateway or ip-range needs a subnet');
        continue;
      }
      const p = parsePrefix(r.subnet, { strict: true });
      (p.family === 4 ? v4req : v6req).push(r);
    }
    if (v4req.length > 1 || v6req.length > 1) {
      throw invalid('bridge networks support at most one IPv4 and one IPv6 subnet');
    }
    const v4 = v4req[0];
    const v6 = v6req[0];
    if (v6 && !net.enableIPv6) throw invalid(`an IPv6 subnet (${v6.subnet}) needs --ipv6`);
    if (v4 && !net.enableIPv4) throw invalid(`an IPv4 subnet (${v4.subnet}) needs IPv4 enabled`);
    if (net.enableIPv4) {
      const cfg = v4 ?? { subnet: this.pools.choose({ family: 4, taken, avoid: this.env.avoid() }) };
      const norm = validateNetworkIpam(cfg, taken);
      net.ipv4 = { ...cfg, ...norm };
    }
    if (net.enableIPv6) {
      const cfg = v6 ?? { subnet: this.pools6.choose({ family: 6, taken, avoid: this.env.avoid() }) };
      const norm = validateNetworkIpam(cfg, taken);
      net.ipv6 = { ...cfg, ...norm };
    }
  }

  /** Creates the allocators of a network (after planNetwork or on restart). */
  open(net: NetworkRecord): void {
    const a: NetAllocators = {};
    if (net.ipv4) a.v4 = new SubnetAllocator(net.ipv4);
    if (net.ipv6) a.v6 = new SubnetAllocator(net.ipv6);
    this.allocators.set(net.id, a);
  }

  close(netId: string): void {
    this.allocators.delete(netId);
  }

  /** Allocates an address (the requested one, or the next free) as addr/prefix. */
  allocate(net: NetworkRecord, family: 4 | 6, requested?: string): string {
    const a = this.allocators.get(net.id)?.[family === 4 ? 'v4' : 'v6'];
    const sub = family === 4 ? net.ipv4 : net.ipv6;
    if (!a || !sub) {
      if (requested) throw invalid(`no configured subnet contains IP address ${requested}`);
      throw invalid(`network ${net.name} has no IPv${family} subnet`);
    }
    const addr = a.allocate(requested || undefined);
    return `${addr}/${sub.subnet.split('/')[1]}`;
  }

  release(net: NetworkRecord, cidr: string | undefined): void {
    if (!cidr) return;
    const addr = cidr.split('/')[0] ?? '';
    const a = this.allocators.get(net.id);
    const alloc = addr.includes(':') ? a?.v6 : a?.v4;
    try {
      alloc?.release(addr);
    } catch {
      // Releasing twice (a retried removal) is harmless.
    }
  }

  /** Addresses handed out per network with allocators (reserved ones not counted). */
  usage(): Map<string, { v4: number; v6: number }> {
    return new Map([...this.allocators].map(([id, a]) => [id, { v4: a.v4?.stats().used ?? 0, v6: a.v6?.stats().used ?? 0 }]));
  }

  /**
   * The IPv4 allocator of a network: the bridge's DHCP server takes its
   * leases from it, so leases and endpoints share one set of used addresses.
   */
  allocatorV4(netId: string): SubnetAllocator | undefined {
    return this.allocators.get(netId)?.v4;
  }

  /** Marks an address used while rebuilding from the store. */
  markUsed(net: NetworkRecord, cidr: string | undefined): void {
    if (!cidr) return;
    const addr = cidr.split('/')[0] ?? '';
    const a = this.allocators.get(net.id);
    (addr.includes(':') ? a?.v6 : a?.v4)?.markUsed(addr);
  }
}
