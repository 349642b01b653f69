// Composition: the pieces the daemon wires together, in one call.
import { Forwarder } from './forwarder.ts';
import type { ForwarderOptions } from './forwarder.ts';
import { NameTable } from './name-table.ts';
import { DnsResponder } from './responder.ts';
import { HostResolvConf } from './resolv-conf.ts';
import { DnsServer } from './server.ts';
import type { DnsServerOptions } from './server.ts';
import { UpstreamConfig } from './upstream.ts';

export interface ResolverOptions {
  /** The host's resolv.conf (default /etc/resolv.conf); null: no host upstreams. */
  resolvConfPath?: string | null;
  ttl?: number;
  port?: number;
  forwarder?: ForwarderOptions;
  tcp?: DnsServerOptions['tcp'];
}

export interface Resolver {
  table: NameTable;
  upstreams: UpstreamConfig;
  hostResolvConf: HostResolvConf | null;
  forwarder: Forwarder;
  responder: DnsResponder;
  server: DnsServer;
  close(): Promise<void>;
}

export function createResolver(opts: ResolverOptions = {}): Resolver {
  const table = new NameTable({ ttl: opts.ttl });
  const path = opts.resolvConfPath === undefined ? '/etc/resolv.conf' : opts.resolvConfPath;
  const hostResolvConf = path === null ? null : new HostResolvConf(path);
  const upstreams = new UpstreamConfig(hostResolvConf);
  const forwarder = new Forwarder(opts.forwarder);
  const responder = new DnsResponder({ table, forwarder, upstreams });
  const server = new DnsServer({ responder, port: opts.port, tcp: opts.tcp });
  return {
    table, upstreams, hostResolvConf, forwarder, responder, server,
    async close() {
      await server.close();
      forwarder.close();
    },
  };
}
