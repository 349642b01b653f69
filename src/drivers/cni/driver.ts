// The cni driver: a network is a CNI conflist, and each endpoint one run of
// its plugin chain (CNI SPEC.md; chain.ts). The plugins make the interface in
// the sandbox and give it its addresses (the conflist's IPAM: host-local,
// static, ...), so the network has no cnm IPAM pool and join reports the
// addresses back (capabilities.addressesFromJoin). The kernel objects are the
// plugins', not cnm's: cnm marks none of them and its orphan sweep never
// touches them; what cnm keeps is libcni's result cache, which lets DEL run
// after a restart. The embedded DNS listens inside each sandbox (127.0.0.11):
// a chain may give the host no address its containers reach (macvlan, ptp).
import { existsSync } from 'node:fs';
import { conflict, invalid } from '../../model/errors.ts';
import type { NetnsHandle } from '../../netlink/index.ts';
import type { DriverContext, EndpointInfo, JoinResult, NetworkDriver, NetworkInfo } from '../driver.ts';
import { dropCache, listCache, readCache } from './cache.ts';
import { addChain, checkChain, delCached, delChain } from './chain.ts';
import type { ChainEnv } from './chain.ts';
import { loadConflist } from './conflist.ts';
import { CNI_OPT, REQUESTED, checkNetworkOptions, endpointOptions } from './options.ts';
import { addressingOf } from './result.ts';
import type { Attachment, CapabilityArgs, CniConfList } from './types.ts';

export interface CniDriverOptions {
  /** Where plugin executables are looked up, in order (CNI_PATH). */
  binDirs: string[];
  /** The result cache's directory (under the daemon's data root). */
  cacheDir: string;
  /** How long one plugin call may take before it is killed. */
  timeoutMs: number;
  /** Debug log of each chain's timing (plugin time and cnm's own). */
  onChain?: (what: string, stats: { calls: number; pluginMs: number; totalMs: number }) => void;
}

export const DEFAULT_CNI_BIN_DIR = '/usr/lib/cni';
export const DEFAULT_CNI_TIMEOUT_MS = 30_000;

const listOf = (net: NetworkInfo): CniConfList => JSON.parse(net.driverState.conflist ?? '{}') as CniConfList;

function pickIfName(used: readonly string[], prefix: string): string {
  for (let i = 0; ; i++) if (!used.includes(`${prefix}${i}`)) return `${prefix}${i}`;
}

/** The subnets the conflist's IPAM sections name (host-local subnet/ranges, static addresses). */
function ipamSubnets(list: CniConfList): string[] {
  const out: string[] = [];
  for (const p of list.plugins) {
    const ipam = (p.ipam ?? {}) as { subnet?: string; ranges?: Array<Array<{ subnet?: string }>>; addresses?: Array<{ address?: string }> };
    if (ipam.subnet) out.push(ipam.subnet);
    for (const set of ipam.ranges ?? []) for (const r of set) if (r.subnet) out.push(r.subnet);
    for (const a of ipam.addresses ?? []) if (a.address) out.push(a.address);
  }
  return out;
}

/**
 * --ip as the `ips` capability wants it: with the prefix length of the
 * conflist's subnet that holds it (the static plugin needs CIDR form;
 * host-local takes either). One no subnet holds is passed as given.
 */
function withPrefix(ip: string, list: CniConfList): string {
  if (ip.includes('/')) return ip;
  const v6 = ip.includes(':');
  for (const s of ipamSubnets(list)) {
    const [base, len] = s.split('/');
    if (!base || !len || base.includes(':') !== v6) continue;
    if (!v6 && v4Contains(`${base}/${len}`, ip)) return `${ip}/${len}`;
    if (v6) return `${ip}/${len}`;
  }
  return ip;
}

const v4Int = (ip: string): number => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);
function v4Contains(cidr: string, ip: string): boolean {
  const [base, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(v4Int(base!) / size) === Math.floor(v4Int(ip) / size);
}

/** The runtime values of the capabilities (each plugin gets those it declares). */
function capabilityArgs(ep: EndpointInfo, list: CniConfList, again: boolean): CapabilityArgs {
  // Joined again (a restart found the endpoint incomplete, an undone
  // disconnect): the addresses and MAC it had, so its DNS names and peers' caches stay right.
  const v4 = ep.driverState[REQUESTED.ipv4] ?? (again ? ep.ipv4 : undefined);
  const v6 = ep.driverState[REQUESTED.ipv6] ?? (again ? ep.ipv6 : undefined);
  const ips = [v4, v6].filter((x): x is string => !!x).map((ip) => withPrefix(ip, list));
  const mac = ep.driverState[REQUESTED.mac] ?? (again && ep.mac ? ep.mac : undefined);
  const { bandwidth } = endpointOptions(ep.driverOpts);
  const ports = (ep.ports ?? []).map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.proto, ...(p.hostIp ? { hostIP: p.hostIp } : {}) }));
  return {
    ...(ports.length ? { portMappings: ports } : {}),
    ...(ips.length ? { ips } : {}),
    ...(mac ? { mac } : {}),
    ...(bandwidth ? { bandwidth } : {}),
  };
}

/**
 * The default routes a plugin put on the interface. The sandbox's default
 * route is the core's to choose among its endpoints (GwPriority, network
 * name), from the gateway join reports; a plugin's would stand beside it
 * (the kernel keeps both, the newest first) whatever the core chose.
 */
async function dropDefaultRoutes(ns: NetnsHandle, ifName: string): Promise<void> {
  for (const family of [4, 6] as const) {
    for (const r of await ns.rtnl.routeList({ family })) {
      if (r.dst === 'default' && r.dev === ifName) await ns.rtnl.routeDel({ ...r, family });
    }
  }
}

export function cniDriver(o: CniDriverOptions): NetworkDriver {
  const env: ChainEnv = { binDirs: o.binDirs, cacheDir: o.cacheDir, timeoutMs: o.timeoutMs, ...(o.onChain ? { onStats: o.onChain } : {}) };
  const attachment = (net: NetworkInfo, ep: EndpointInfo, sandbox: { id: string; netnsPath: string }, again = false): Attachment => ({
    containerId: sandbox.id,
    netns: sandbox.netnsPath,
    ifName: ep.ifName,
    args: endpointOptions(ep.driverOpts).args,
    capabilityArgs: capabilityArgs(ep, listOf(net), again),
  });
  return {
    name: 'cni',
    capabilities: {
      scope: 'local', ownNamespace: true, endpoints: true, singleton: false, combinable: true,
      // Host ports are reserved by cnm and handed to the chain (portMappings:
      // a portmap plugin programs them; without one they go nowhere).
      portPublishing: true, dns: true, dnsInSandbox: true, addressesFromJoin: true,
    },

    async validateNetwork(net, others) {
      const path = checkNetworkOptions(net.options);
      if (net.internal) throw invalid('the cni driver cannot make a network internal: its conflist decides where it leads');
      const list = loadConflist(path, o.binDirs);
      // The CNI network name keys the cache and host-local's leases: two cnm
      // networks on one name would free each other's addresses.
      for (const n of others) {
        if (n.driver === 'cni' && listOf(n).name === list.name) throw conflict(`CNI network "${list.name}" is already used by network ${n.name}`);
      }
      return { conflist: JSON.stringify(list), cniName: list.name };
    },

    async createNetwork() {
      // The plugins make what they need at the first ADD (a bridge, ...).
    },

    async deleteNetwork(_ctx, net) {
      // What the plugins made for the network is theirs (CNI has no network
      // DEL). A cached attachment left now (a DEL that failed) is tried once
      // more, then forgotten with the network: no GC would find it later.
      const list = listOf(net);
      for (const e of listCache(o.cacheDir, list.name)) {
        await delCached(env, e, !!e.netns && existsSync(e.netns)).catch(() => undefined);
        dropCache(o.cacheDir, list.name, e.containerId, e.ifName);
      }
    },

    async createEndpoint(net, ep, sandbox) {
      endpointOptions(ep.driverOpts);
      const prefix = net.options['com.docker.network.container_iface_prefix'] || 'eth';
      // The core's requested addresses and MAC travel in driverState.
      return { ifName: pickIfName(sandbox.ifNames, prefix), driverState: { ...ep.driverState } };
    },

    async join(_ctx, net, ep, sandbox, jopts): Promise<JoinResult> {
      const list = listOf(net);
      const att = attachment(net, ep, sandbox, !jopts?.fresh);
      // Joined before (a restart found it incomplete): ADD is not repeatable
      // without a DEL in between (SPEC.md), so the old attachment goes first.
      if (!jopts?.fresh && readCache(o.cacheDir, list.name, att.containerId, att.ifName)) {
        await delChain(env, list, att);
      }
      const result = await addChain(env, list, att);
      const a = addressingOf(result, ep.ifName);
      await dropDefaultRoutes(sandbox.ns, ep.ifName);
      return {
        iface: { name: ep.ifName },
        gateway: a.gateway,
        // The plugins installed their routes themselves; the core keeps only the default route.
        routes: [],
        dns: true,
        addresses: { ...(a.ipv4 ? { ipv4: a.ipv4 } : {}), ...(a.ipv6 ? { ipv6: a.ipv6 } : {}), ...(a.mac ? { mac: a.mac } : {}) },
        // The result's nameservers: the embedded DNS forwards to them for this sandbox.
        ...(a.dns.length ? { dnsServers: a.dns } : {}),
      };
    },

    async leave(_ctx, net, ep, ns) {
      const list = listOf(net);
      const cached = readCache(o.cacheDir, list.name, ep.sandboxId, ep.ifName);
      // Without the namespace, CNI_NETNS is empty: the plugins release what
      // lives outside it (IPAM leases, host-side state) (SPEC.md: DEL).
      const att = { ...attachment(net, ep, { id: ep.sandboxId, netnsPath: '' }), netns: ns && cached ? cached.netns : '' };
      await delChain(env, list, att);
    },

    intact(_net, ep, view) {
      const link = view.sandboxLinks.get(ep.ifName);
      if (!link || !link.up) return false;
      const have = new Set(view.sandboxAddrs.filter((x) => x.dev === ep.ifName).map((x) => x.cidr));
      return (!ep.ipv4 || have.has(ep.ipv4)) && (!ep.ipv6 || have.has(ep.ipv6));
    },

    async checkEndpoint(net, ep, sandbox) {
      const list = listOf(net);
      try {
        await checkChain(env, list, attachment(net, ep, sandbox));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },

    async sweepEndpoints(_ctx: DriverContext, net, live) {
      const list = listOf(net);
      const keep = new Set(live.map((ep) => `${ep.sandboxId}/${ep.ifName}`));
      const errors: Error[] = [];
      for (const e of listCache(o.cacheDir, list.name)) {
        if (keep.has(`${e.containerId}/${e.ifName}`)) continue;
        // An attachment whose endpoint is gone (a crash between ADD and the
        // store write, or before DEL finished): DEL it from what was cached.
        // One that fails stays cached for the next start; the others go on.
        await delCached(env, e, !!e.netns && existsSync(e.netns)).catch((err: Error) => errors.push(err));
      }
      if (errors.length) throw errors[0]!;
    },

    ownedLinks() {
      return [];
    },
  };
}

export { CNI_OPT };
