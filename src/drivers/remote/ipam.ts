// An IPAM driver that is a legacy plugin (libnetwork ipams/remote): pools,
// gateways, aux addresses and endpoint addresses asked of the plugin in
// libnetwork's order. Its answers carry errors in `Error`, not `Err`.
import { isIP } from 'node:net';
import { CnmError, invalid } from '../../model/errors.ts';
import type { SubnetConfig } from '../../model/records.ts';
import { ipBytes } from '../../model/net.ts';
import { notImplemented } from './client.ts';
import { answerError } from './plugin.ts';
import type { Plugin } from './plugin.ts';

/** libnetwork's option keys (netlabel / ipamapi). */
export const IPAM_LABEL = {
  requestAddressType: 'RequestAddressType',
  gateway: 'com.docker.network.gateway',
  mac: 'com.docker.network.endpoint.macaddress',
} as const;

/** What cnm keeps with the network (NetworkRecord.ipamState) to release and replay. */
export interface RemotePools {
  ipv4?: SubnetConfig & { gateway: string };
  ipv6?: SubnetConfig & { gateway: string };
  state: Record<string, string>;
}

/** The network as this driver needs it. */
export interface IpamNet {
  name: string;
  enableIPv4: boolean;
  enableIPv6: boolean;
  ipamOptions: Record<string, string>;
  ipv4?: SubnetConfig & { gateway: string };
  ipv6?: SubnetConfig & { gateway: string };
  ipamState?: Record<string, string>;
}

const cidrRe = /^[0-9a-fA-F:.]+\/\d{1,3}$/;
const ipOf = (cidr: string): string => cidr.split('/')[0] ?? '';
const famOf = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

/** Whether two prefixes (CIDR) share an address. */
export function overlaps(a: string, b: string): boolean {
  const [ia = '', la = ''] = a.split('/');
  const [ib = '', lb = ''] = b.split('/');
  const ba = ipBytes(ia);
  const bb = ipBytes(ib);
  if (!ba || !bb || ba.length !== bb.length) return false;
  const len = Math.min(Number(la), Number(lb));
  for (let bit = 0; bit < len; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((ba[byte] ?? 0) & mask) !== ((bb[byte] ?? 0) & mask)) return false;
  }
  return true;
}

/** How many pools that clash with existing networks are held before giving up. */
const MAX_CLASHING_POOLS = 16;

export class RemoteIpam {
  readonly name: string;
  private readonly plugin: Plugin;
  private capsOf = -1;
  requiresMac = false;
  requiresReplay = false;
  private spaces: { local: string; global: string } | null = null;

  constructor(plugin: Plugin) {
    this.name = plugin.name;
    this.plugin = plugin;
  }

  /** Handshake and IpamDriver.GetCapabilities (optional: a 404 means neither need). */
  async ready(): Promise<void> {
    await this.plugin.require('IpamDriver');
    if (this.capsOf === this.plugin.generation) return;
    try {
      const r = await this.call('GetCapabilities', undefined);
      this.requiresMac = r.RequiresMACAddress === true;
      this.requiresReplay = r.RequiresRequestReplay === true;
    } catch (e) {
      if (!notImplemented(e)) throw e;
    }
    this.capsOf = this.plugin.generation;
  }

  private async call(method: string, payload: unknown): Promise<Record<string, unknown>> {
    if (method !== 'GetCapabilities') await this.ready();
    const r = await this.plugin.call('IpamDriver', method, payload);
    const err = answerError(this.name, `IpamDriver.${method}`, r, 'Error');
    if (err) throw err;
    return r;
  }

  private bad(method: string, what: string): CnmError {
    return new CnmError('INTERNAL', `plugin "${this.name}": IpamDriver.${method}: ${what}`);
  }

  private async addressSpace(): Promise<string> {
    if (!this.spaces) {
      const r = await this.call('GetDefaultAddressSpaces', undefined);
      this.spaces = { local: String(r.LocalDefaultAddressSpace ?? ''), global: String(r.GlobalDefaultAddressSpace ?? '') };
    }
    return this.spaces.local;
  }

  /**
   * Network create: per family, RequestPool, then the gateway (the one
   * asked for, the one the pool's Data names, or any), then each aux
   * address. What was obtained is released again when a step fails.
   */
  async requestPools(net: IpamNet, requested: SubnetConfig[], taken: readonly string[] = []): Promise<RemotePools> {
    const out: RemotePools = { state: {} };
    const wanted: { family: 4 | 6; cfg: SubnetConfig }[] = [];
    for (const r of requested) {
      if (!r.subnet && (r.gateway || r.ipRange)) throw invalid('invalid pool request: a gateway or ip-range needs a subnet');
      const fam = r.subnet ? famOf(ipOf(r.subnet)) : 4;
      if (wanted.some((w) => w.family === fam)) throw invalid(`IPAM driver "${this.name}": cnm takes at most one IPv4 and one IPv6 subnet per network`);
      wanted.push({ family: fam, cfg: r });
    }
    if (net.enableIPv4 && !wanted.some((w) => w.family === 4)) wanted.push({ family: 4, cfg: { subnet: '' } });
    if (net.enableIPv6 && !wanted.some((w) => w.family === 6)) wanted.push({ family: 6, cfg: { subnet: '' } });
    wanted.sort((a, b) => a.family - b.family);
    try {
      for (const { family, cfg } of wanted) {
        if (family === 6 && !net.enableIPv6) throw invalid(`an IPv6 subnet (${cfg.subnet}) needs --ipv6`);
        if (family === 4 && !net.enableIPv4) throw invalid(`an IPv4 subnet (${cfg.subnet}) needs IPv4 enabled`);
        const got = await this.requestFamily(net, family, cfg, out.state, taken);
        out[family === 4 ? 'ipv4' : 'ipv6'] = got;
      }
    } catch (e) {
      await this.releasePools({ ...net, ipv4: out.ipv4, ipv6: out.ipv6, ipamState: out.state }).catch(() => undefined);
      throw e;
    }
    return out;
  }

  /** RequestPool; a pool the plugin chose that clashes with a network's is held and another asked for (libnetwork). */
  private async requestPool(net: IpamNet, family: 4 | 6, cfg: SubnetConfig, space: string, taken: readonly string[]): Promise<Record<string, unknown>> {
    const held: string[] = [];
    try {
      for (;;) {
        const r = await this.call('RequestPool', { AddressSpace: space, Pool: cfg.subnet, SubPool: cfg.ipRange ?? '', Options: { ...net.ipamOptions }, V6: family === 6 });
        const poolId = typeof r.PoolID === 'string' ? r.PoolID : '';
        const pool = typeof r.Pool === 'string' ? r.Pool : '';
        if (!poolId) throw this.bad('RequestPool', 'no PoolID in the answer');
        if (!cidrRe.test(pool) || isIP(ipOf(pool)) !== family) {
          await this.call('ReleasePool', { PoolID: poolId }).catch(() => undefined);
          throw this.bad('RequestPool', `invalid Pool "${pool}": expected an IPv${family} CIDR`);
        }
        const clash = cfg.subnet ? undefined : taken.find((t) => overlaps(t, pool));
        if (!clash) return r;
        held.push(poolId);
        if (held.length >= MAX_CLASHING_POOLS) throw this.bad('RequestPool', `the pools it offers (${pool} the last) overlap existing networks' (${clash})`);
      }
    } finally {
      for (const id of held) await this.call('ReleasePool', { PoolID: id }).catch(() => undefined);
    }
  }

  private async requestFamily(net: IpamNet, family: 4 | 6, cfg: SubnetConfig, state: Record<string, string>, taken: readonly string[]): Promise<SubnetConfig & { gateway: string }> {
    const space = await this.addressSpace();
    const r = await this.requestPool(net, family, cfg, space, taken);
    const poolId = r.PoolID as string;
    const pool = r.Pool as string;
    const k = `v${family}`;
    state[`${k}PoolID`] = poolId;
    state[`${k}AddressSpace`] = space;
    const len = pool.split('/')[1] ?? '';
    const data = (r.Data ?? {}) as Record<string, unknown>;
    // A gateway the pool's Data names is taken as it is (libnetwork does).
    let gw = typeof data[IPAM_LABEL.gateway] === 'string' ? ipOf(data[IPAM_LABEL.gateway] as string) : '';
    if (!gw) {
      const a = await this.call('RequestAddress', { PoolID: poolId, Address: cfg.gateway ?? '', Options: { [IPAM_LABEL.requestAddressType]: IPAM_LABEL.gateway } });
      gw = ipOf(this.checkAddress('RequestAddress', a, family));
    }
    state[`${k}Gateway`] = gw;
    const aux: Record<string, string> = {};
    for (const [name, ip] of Object.entries(cfg.auxAddresses ?? {})) {
      await this.call('RequestAddress', { PoolID: poolId, Address: ip, Options: {} });
      aux[name] = ip;
      state[`${k}Aux.${name}`] = ip;
    }
    return {
      subnet: `${ipOf(pool)}/${len}`,
      ...(cfg.ipRange ? { ipRange: cfg.ipRange } : {}),
      gateway: gw,
      ...(Object.keys(aux).length ? { auxAddresses: aux } : {}),
    };
  }

  private checkAddress(method: string, r: Record<string, unknown>, family: 4 | 6): string {
    const a = typeof r.Address === 'string' ? r.Address : '';
    // libnetwork's ErrNoIPReturned.
    if (!a) throw this.bad(method, 'no address returned');
    if (!cidrRe.test(a) || isIP(ipOf(a)) !== family) throw this.bad(method, `invalid Address "${a}": expected an IPv${family} address in CIDR form`);
    return a;
  }

  /** Network delete (and undo): the gateway, the aux addresses, then the pool, per family. */
  async releasePools(net: IpamNet): Promise<void> {
    const st = net.ipamState ?? {};
    const errors: string[] = [];
    for (const family of [4, 6] as const) {
      const k = `v${family}`;
      const poolId = st[`${k}PoolID`];
      if (!poolId) continue;
      const addrs = [st[`${k}Gateway`], ...Object.entries(st).filter(([n]) => n.startsWith(`${k}Aux.`)).map(([, v]) => v)];
      for (const a of addrs) {
        if (a) await this.call('ReleaseAddress', { PoolID: poolId, Address: a }).catch((e: unknown) => errors.push((e as Error).message));
      }
      await this.call('ReleasePool', { PoolID: poolId }).catch((e: unknown) => errors.push((e as Error).message));
    }
    if (errors.length) throw new CnmError('INTERNAL', errors.join('; '));
  }

  /** An endpoint's address: the one asked for or any; CIDR form. */
  async requestAddress(net: IpamNet, family: 4 | 6, requested: string | undefined, mac: string): Promise<string> {
    await this.ready();
    const poolId = net.ipamState?.[`v${family}PoolID`];
    if (!poolId) {
      if (requested) throw invalid(`no configured subnet contains IP address ${requested}`);
      throw invalid(`network ${net.name} has no IPv${family} pool`);
    }
    const opts: Record<string, string> = this.requiresMac ? { [IPAM_LABEL.mac]: mac } : {};
    const r = await this.call('RequestAddress', { PoolID: poolId, Address: requested ?? '', Options: opts });
    return this.checkAddress('RequestAddress', r, family);
  }

  async releaseAddress(net: IpamNet, cidr: string): Promise<void> {
    const family = famOf(ipOf(cidr));
    const poolId = net.ipamState?.[`v${family}PoolID`];
    if (!poolId) return;
    await this.call('ReleaseAddress', { PoolID: poolId, Address: ipOf(cidr) });
  }

  /**
   * RequiresRequestReplay: at daemon start the plugin is asked again for
   * each pool, its gateway and aux addresses and the endpoints' addresses,
   * as libnetwork does; returns the (possibly new) pool ids.
   */
  async replay(net: IpamNet, endpoints: readonly { ipv4?: string; ipv6?: string; mac: string }[]): Promise<Record<string, string> | null> {
    await this.ready();
    if (!this.requiresReplay) return null;
    const requested: SubnetConfig[] = [net.ipv4, net.ipv6].filter((s): s is SubnetConfig & { gateway: string } => !!s);
    const got = await this.requestPools(net, requested);
    const next = { ...net, ipamState: got.state };
    for (const ep of endpoints) {
      for (const [fam, a] of [[4, ep.ipv4], [6, ep.ipv6]] as const) {
        if (a) await this.requestAddress(next, fam, ipOf(a), ep.mac);
      }
    }
    return got.state;
  }
}
