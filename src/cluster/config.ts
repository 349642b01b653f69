// The daemon's cluster flags, as dockerd 1.12-20.10 spelled them:
//   --cluster-store etcd://HOST:2379[,HOST:2379...]
//   --cluster-store-opt kv.cacertfile=...,kv.certfile=...,kv.keyfile=...
//   --cluster-advertise IP|IFACE   (dockerd: IFACE:PORT; the port is ignored)
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { invalid } from '../model/errors.ts';
import type { NetnsHandle } from '../netlink/index.ts';
import type { EtcdTls } from '../store/etcd-store.ts';

export interface ClusterFlags {
  store: string;
  storeOpts: string[];
  advertise: string;
}

export interface ClusterStoreConfig {
  /** client URLs for etcd3 (http:// or https://) */
  endpoints: string[];
  /** as the user wrote it, for messages */
  display: string;
  tls?: { caFile: string; certFile?: string; keyFile?: string };
}

const OPT_KEYS = ['kv.cacertfile', 'kv.certfile', 'kv.keyfile'] as const;

/** Parses --cluster-store and --cluster-store-opt (both checked before anything starts). */
export function parseClusterStore(url: string, opts: string[]): ClusterStoreConfig {
  const m = /^etcd:\/\/(.+)$/.exec(url);
  if (!m) throw invalid(`invalid --cluster-store "${url}": expected etcd://HOST:PORT[,HOST:PORT...] (only etcd v3 is supported)`);
  const kv: Record<string, string> = {};
  for (const o of opts.flatMap((x) => x.split(','))) {
    if (!o) continue;
    const i = o.indexOf('=');
    const k = i < 0 ? o : o.slice(0, i);
    if (!(OPT_KEYS as readonly string[]).includes(k) || i < 0) {
      throw invalid(`invalid --cluster-store-opt "${o}": expected ${OPT_KEYS.map((x) => `${x}=FILE`).join(', ')}`);
    }
    kv[k] = o.slice(i + 1);
  }
  const tls = kv['kv.cacertfile'] ? { caFile: kv['kv.cacertfile'], certFile: kv['kv.certfile'], keyFile: kv['kv.keyfile'] } : undefined;
  if (!tls && (kv['kv.certfile'] || kv['kv.keyfile'])) throw invalid('invalid --cluster-store-opt: kv.certfile and kv.keyfile need kv.cacertfile (the CA of etcd\'s server certificate)');
  if (tls && !!tls.certFile !== !!tls.keyFile) throw invalid('invalid --cluster-store-opt: kv.certfile and kv.keyfile go together');
  const endpoints = (m[1] ?? '').split(',').map((hp) => {
    const h = /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+)(?::(\d{1,5}))?$/.exec(hp.trim());
    if (!h) throw invalid(`invalid --cluster-store address "${hp}": expected HOST:PORT`);
    return `${tls ? 'https' : 'http'}://${h[1]}:${h[2] ?? '2379'}`;
  });
  return { endpoints, display: url, ...(tls ? { tls } : {}) };
}

export async function readTls(cfg: ClusterStoreConfig): Promise<EtcdTls | undefined> {
  if (!cfg.tls) return undefined;
  const read = (f: string, what: string): Promise<Buffer> => readFile(f).catch((e: unknown) => {
    throw invalid(`cannot read ${what} ${f}: ${(e as Error).message}`);
  });
  return {
    ca: await read(cfg.tls.caFile, 'kv.cacertfile'),
    ...(cfg.tls.certFile ? { cert: await read(cfg.tls.certFile, 'kv.certfile') } : {}),
    ...(cfg.tls.keyFile ? { key: await read(cfg.tls.keyFile, 'kv.keyfile') } : {}),
  };
}

/**
 * --cluster-advertise: an IPv4/IPv6 address on this host, or an interface
 * name (its first IPv4 address). dockerd took IFACE:PORT; a port is
 * accepted and ignored (VXLAN always uses 4789). Returns the VTEP address
 * and the MTU of the link that holds it (the underlay MTU).
 */
export async function resolveAdvertise(value: string, hostNs: NetnsHandle): Promise<{ vtep: string; mtu: number; dev: string }> {
  const v = value.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const addrs = await hostNs.rtnl.addrList();
  const found = isIP(v)
    ? addrs.find((a) => a.cidr.split('/')[0] === v)
    : addrs.find((a) => a.dev === v && a.family === 4);
  if (!found) {
    throw invalid(isIP(v)
      ? `invalid --cluster-advertise "${value}": no interface in the daemon's namespace has address ${v}`
      : `invalid --cluster-advertise "${value}": expected an IP address of this host or an interface with an IPv4 address`);
  }
  const link = await hostNs.rtnl.linkGet(found.dev);
  return { vtep: found.cidr.split('/')[0] ?? v, mtu: link?.mtu ?? 1500, dev: found.dev };
}
