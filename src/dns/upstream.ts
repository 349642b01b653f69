// Where names that are not ours go: the upstream servers of a sandbox.
// Docker's order: the sandbox's own --dns list, else the daemon's --dns, else
// the host's resolv.conf (at most 3 servers).
import { isIP } from 'node:net';
import { DnsError } from './errors.ts';
import { canonicalIp } from './ip.ts';
import type { HostResolvConf } from './resolv-conf.ts';

export interface Upstream { address: string; port: number }

export const DNS_PORT = 53;

/** "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" -> an upstream. */
export function parseUpstream(s: string): Upstream {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const v4port = /^([\d.]+):(\d+)$/.exec(s);
  const [host, port] = bracket ? [bracket[1] ?? '', bracket[2]] : v4port ? [v4port[1] ?? '', v4port[2]] : [s, undefined];
  const p = port === undefined ? DNS_PORT : Number(port);
  if (!isIP(host.split('%')[0] ?? '') || !Number.isInteger(p) || p < 1 || p > 65535) {
    throw new DnsError({ code: 'BAD_IP', value: s, expected: 'an IP address, optionally with :port ([v6]:port)' });
  }
  return { address: host.includes('%') ? host : canonicalIp(host), port: p };
}

export class UpstreamConfig {
  private readonly host: HostResolvConf | null;
  private daemonWide: Upstream[] | null = null;
  private readonly perSandbox = new Map<string, Upstream[]>();
  private hostCache: { from: string[]; list: Upstream[] } = { from: [], list: [] };

  constructor(host: HostResolvConf | null) {
    this.host = host;
  }

  /** The daemon's --dns list; null goes back to the host's resolv.conf. */
  setDaemonServers(servers: string[] | null): void {
    this.daemonWide = servers && servers.length ? servers.map(parseUpstream) : null;
  }

  /** A sandbox's --dns list; null (or empty) removes the override. */
  setSandboxServers(sandboxId: string, servers: string[] | null): void {
    if (servers && servers.length) this.perSandbox.set(sandboxId, servers.map(parseUpstream));
    else this.perSandbox.delete(sandboxId);
  }

  serversFor(sandboxId: string): Upstream[] {
    const own = this.perSandbox.get(sandboxId);
    if (own) return own;
    if (this.daemonWide) return this.daemonWide;
    const ns = this.host?.get().nameservers ?? [];
    if (ns !== this.hostCache.from) this.hostCache = { from: ns, list: ns.map(parseUpstream) };
    return this.hostCache.list;
  }
}
