// A network driver that is a legacy plugin: every NetworkDriver.* call of
// Docker's remote driver (libnetwork drivers/remote), at the moments
// libnetwork makes it, mapped onto cnm's driver API. The plugin makes its
// own kernel objects (in the host namespace); the core moves the link the
// plugin names in Join (SrcName) into the sandbox, renames it DstPrefix+N and
// gives it the endpoint's MAC and addresses.
import { isIP } from 'node:net';
import { CnmError } from '../../model/errors.ts';
import type { NetnsHandle } from '../../netlink/index.ts';
import type { PortBinding } from '../../model/records.ts';
import type { DriverCapabilities, DriverContext, EndpointInfo, EndpointPlan, JoinResult, JoinRoute, KernelView, NetworkDriver, NetworkInfo, SandboxInfo } from '../driver.ts';
import { notImplemented } from './client.ts';
import { answerError } from './plugin.ts';
import type { Plugin } from './plugin.ts';

/** libnetwork's option keys (netlabel). */
export const NETLABEL = {
  generic: 'com.docker.network.generic',
  enableIPv4: 'com.docker.network.enable_ipv4',
  enableIPv6: 'com.docker.network.enable_ipv6',
  internal: 'com.docker.network.internal',
  portMap: 'com.docker.network.portmap',
  exposedPorts: 'com.docker.network.endpoint.exposedports',
} as const;

/** IANA protocol numbers, as libnetwork's types.Protocol serialises. */
const PROTO: Record<PortBinding['proto'], number> = { tcp: 6, udp: 17, sctp: 132 };

const ipOf = (cidr: string): string => cidr.split('/')[0] ?? '';
const lenOf = (cidr: string): string => cidr.split('/')[1] ?? '';

/** IPv4Data / IPv6Data as libnetwork sends them: gateway and aux addresses with the pool's length. */
function ipamData(net: NetworkInfo, family: 4 | 6): object[] {
  const s = family === 4 ? net.ipv4 : net.ipv6;
  if (!s) return [];
  const len = lenOf(s.subnet);
  const aux = Object.fromEntries(Object.entries(s.auxAddresses ?? {}).map(([k, v]) => [k, `${v}/${len}`]));
  return [{
    AddressSpace: net.ipamState?.[`v${family}AddressSpace`] ?? 'LocalDefault',
    Pool: s.subnet,
    Gateway: s.gateway ? `${s.gateway}/${len}` : '',
    ...(Object.keys(aux).length ? { AuxAddresses: aux } : {}),
  }];
}

/** Docker's interface name: DstPrefix followed by the first index the sandbox has free for it. */
export function dstName(prefix: string, used: readonly string[], current?: string): string {
  // At a restart the endpoint's own name is among the used ones: it keeps it.
  if (current && new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+$`).test(current)) return current;
  for (let i = 0; ; i++) if (!used.includes(`${prefix}${i}`)) return `${prefix}${i}`;
}

function parseRoutes(name: string, raw: unknown): JoinRoute[] {
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw new CnmError('INTERNAL', `plugin "${name}": Join: StaticRoutes is not a list`);
  return raw.map((r: { Destination?: unknown; RouteType?: unknown; NextHop?: unknown }) => {
    const dst = String(r.Destination ?? '');
    if (!/^[0-9a-fA-F:.]+\/\d+$/.test(dst) || !isIP(ipOf(dst))) throw new CnmError('INTERNAL', `plugin "${name}": Join: invalid route destination "${dst}": expected a CIDR`);
    // RouteType 1 = CONNECTED (out of the interface), 0 = NEXTHOP.
    if (r.RouteType === 1) return { dst };
    const hop = String(r.NextHop ?? '');
    if (!isIP(hop)) throw new CnmError('INTERNAL', `plugin "${name}": Join: failed to parse nexthop IP ${hop}`);
    return { dst, gateway: hop };
  });
}

function parseGateway(name: string, v: unknown): string | null {
  if (v == null || v === '') return null;
  if (typeof v !== 'string' || !isIP(v)) throw new CnmError('INTERNAL', `plugin "${name}": Join: unable to parse Gateway "${String(v)}"`);
  return v;
}

export class RemoteNetworkDriver implements NetworkDriver {
  readonly name: string;
  private readonly plugin: Plugin;
  private scope: 'local' | 'global' = 'local';
  private capsOf = -1;
  /** SrcName per endpoint, to hand the link back at Leave (lost at a restart: the namespace's end goes with it). */
  private readonly srcNames = new Map<string, string>();
  /** Endpoints whose Join failed: no Leave for them (libnetwork leaves only a joined endpoint). */
  private readonly notJoined = new Set<string>();
  /** Endpoints given external connectivity (ProgramExternalConnectivity). */
  private readonly programmed = new Set<string>();

  constructor(plugin: Plugin) {
    this.name = plugin.name;
    this.plugin = plugin;
  }

  get capabilities(): DriverCapabilities {
    // The plugin makes the data plane; cnm moves the link in, serves DNS
    // inside the sandbox (the network's gateway may not be on this host)
    // and hands published ports to the plugin (ProgramExternalConnectivity).
    return {
      scope: this.scope, ownNamespace: true, endpoints: true, singleton: false, combinable: true,
      portPublishing: false, dns: true, dnsInSandbox: true, externalConnectivity: true,
    };
  }

  /** Handshake and NetworkDriver.GetCapabilities, again after the plugin came back. */
  async ready(): Promise<void> {
    await this.plugin.require('NetworkDriver');
    if (this.capsOf === this.plugin.generation) return;
    const r = await this.call('GetCapabilities', undefined);
    const scope = r.Scope ?? 'local';
    const conn = r.ConnectivityScope ?? scope;
    for (const v of [scope, conn]) {
      if (v !== 'local' && v !== 'global') throw new CnmError('INTERNAL', `plugin "${this.name}": invalid capability: expecting 'local' or 'global', got ${String(v)}`);
    }
    this.scope = scope as 'local' | 'global';
    this.capsOf = this.plugin.generation;
  }

  private async call(method: string, payload: unknown): Promise<Record<string, unknown>> {
    if (method !== 'GetCapabilities') await this.ready();
    const r = await this.plugin.call('NetworkDriver', method, payload);
    const err = answerError(this.name, `NetworkDriver.${method}`, r, 'Err');
    if (err) throw err;
    return r;
  }

  async validateNetwork(): Promise<Record<string, string>> {
    await this.ready();
    return {};
  }

  async createNetwork(_ctx: DriverContext, net: NetworkInfo, opts?: { fresh?: boolean }): Promise<void> {
    // The plugin keeps its networks itself: libnetwork does not send
    // CreateNetwork again at a daemon restart.
    if (!opts?.fresh) return;
    await this.ready();
    await this.call('CreateNetwork', {
      NetworkID: net.id,
      Options: {
        [NETLABEL.generic]: { ...net.options },
        [NETLABEL.enableIPv4]: net.enableIPv4,
        [NETLABEL.enableIPv6]: net.enableIPv6,
        [NETLABEL.internal]: net.internal,
      },
      IPv4Data: ipamData(net, 4),
      IPv6Data: ipamData(net, 6),
    });
  }

  async deleteNetwork(_ctx: DriverContext, net: NetworkInfo): Promise<void> {
    await this.call('DeleteNetwork', { NetworkID: net.id });
  }

  async createEndpoint(net: NetworkInfo, ep: EndpointInfo, sandbox: SandboxInfo): Promise<EndpointPlan> {
    const sent = { Address: ep.ipv4 ?? '', AddressIPv6: ep.ipv6 ?? '', MacAddress: ep.mac };
    const r = await this.call('CreateEndpoint', { NetworkID: net.id, EndpointID: ep.id, Interface: sent, Options: { ...ep.driverOpts } });
    const got = (r.Interface ?? {}) as Record<string, unknown>;
    // libnetwork lets a driver fill only what it was not given; cnm has
    // chosen the MAC and IPAM the addresses, so any other value is refused
    // (and the endpoint deleted again, as libnetwork does).
    const bad = (['MacAddress', 'Address', 'AddressIPv6'] as const).find((k) => typeof got[k] === 'string' && got[k] !== '' && got[k] !== sent[k]);
    if (bad) {
      await this.call('DeleteEndpoint', { NetworkID: net.id, EndpointID: ep.id }).catch(() => undefined);
      const what = bad === 'MacAddress' ? 'MAC address' : 'address';
      throw new CnmError('INTERNAL', `plugin "${this.name}": NetworkDriver.CreateEndpoint: driver modified interface ${what} (${sent[bad] || 'none'} -> ${String(got[bad])}); cnm takes the endpoint's MAC and addresses from its IPAM`);
    }
    // The gateway and routes come with Join; that the embedded DNS serves
    // the endpoint is known now, and the observers (run beside Join) need it.
    return { ifName: dstName('eth', sandbox.ifNames), driverState: {}, expect: { gateway: { ipv4: null, ipv6: null }, routes: [], dns: true } };
  }

  async join(ctx: DriverContext, net: NetworkInfo, ep: EndpointInfo, sandbox: SandboxInfo & { ns: NetnsHandle }, opts?: { fresh?: boolean }): Promise<JoinResult> {
    this.notJoined.add(ep.id);
    const r = await this.call('Join', { NetworkID: net.id, EndpointID: ep.id, SandboxKey: sandbox.netnsPath, Options: {} });
    this.notJoined.delete(ep.id);
    const iface = (r.InterfaceName ?? null) as { SrcName?: unknown; DstPrefix?: unknown } | null;
    const src = typeof iface?.SrcName === 'string' ? iface.SrcName : '';
    const prefix = typeof iface?.DstPrefix === 'string' && iface.DstPrefix ? iface.DstPrefix : 'eth';
    if (!src) throw new CnmError('INTERNAL', `plugin "${this.name}": NetworkDriver.Join: no InterfaceName.SrcName: cnm needs the link the plugin made`);
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,9}$/.test(prefix)) throw new CnmError('INTERNAL', `plugin "${this.name}": NetworkDriver.Join: invalid DstPrefix "${prefix}": expected a short interface name prefix`);
    this.srcNames.set(ep.id, src);
    const disable = r.DisableGatewayService === true;
    const gateway = disable || net.internal
      ? { ipv4: null, ipv6: null }
      : { ipv4: parseGateway(this.name, r.Gateway), ipv6: parseGateway(this.name, r.GatewayIPv6) };
    const result: JoinResult = {
      // fresh: the name is new; at a restart the endpoint keeps its own.
      iface: { name: dstName(prefix, sandbox.ifNames, opts?.fresh ? undefined : ep.ifName), moveFrom: src },
      gateway,
      routes: parseRoutes(this.name, r.StaticRoutes),
      dns: true,
    };
    // libnetwork programs external connectivity on the sandbox's gateway
    // endpoint; cnm's first endpoint of a sandbox is where its published
    // ports go.
    if (!disable && !net.internal && sandbox.ifNames.length === 0) await this.program(ctx, net, ep, sandbox.ports ?? []);
    return result;
  }

  private async program(_ctx: DriverContext, net: NetworkInfo, ep: EndpointInfo, ports: readonly PortBinding[]): Promise<void> {
    const portmap = ports.map((p) => ({
      Proto: PROTO[p.proto], IP: '', Port: p.containerPort, HostIP: p.hostIp, HostPort: p.hostPort, HostPortEnd: p.hostPortEnd ?? p.hostPort,
    }));
    const exposed = ports.map((p) => ({ Proto: PROTO[p.proto], Port: p.containerPort }));
    try {
      await this.call('ProgramExternalConnectivity', {
        NetworkID: net.id, EndpointID: ep.id, Options: { [NETLABEL.portMap]: portmap, [NETLABEL.exposedPorts]: exposed },
      });
      this.programmed.add(ep.id);
    } catch (e) {
      // Optional call: a plugin without it answers 404.
      if (!notImplemented(e)) throw e;
    }
  }

  async leave(ctx: DriverContext, net: NetworkInfo, ep: EndpointInfo, ns: NetnsHandle | null): Promise<void> {
    const errors: string[] = [];
    if (this.programmed.delete(ep.id)) {
      await this.call('RevokeExternalConnectivity', { NetworkID: net.id, EndpointID: ep.id })
        .catch((e: unknown) => { if (!notImplemented(e)) errors.push((e as Error).message); });
    }
    // As libnetwork's sandbox does: the link goes back to the host under
    // its SrcName, for the plugin to delete.
    const src = this.srcNames.get(ep.id);
    if (ns && src) {
      try {
        await ns.rtnl.linkSet(ep.ifName, { up: false });
        await ns.rtnl.linkSet(ep.ifName, { name: src });
        await ns.rtnl.linkSet(src, { netns: ctx.hostNs });
      } catch { /* gone already, or the plugin removed it: nothing to hand back */ }
    }
    this.srcNames.delete(ep.id);
    if (this.notJoined.delete(ep.id)) return;
    await this.call('Leave', { NetworkID: net.id, EndpointID: ep.id }).catch((e: unknown) => errors.push((e as Error).message));
    if (errors.length) throw new CnmError('INTERNAL', errors.join('; '));
  }

  async deleteEndpoint(net: NetworkInfo, ep: EndpointInfo): Promise<void> {
    await this.call('DeleteEndpoint', { NetworkID: net.id, EndpointID: ep.id });
  }

  /** NetworkDriver.EndpointOperInfo: the plugin's operational data for an endpoint. */
  async operInfo(net: NetworkInfo, ep: EndpointInfo): Promise<Record<string, unknown>> {
    const r = await this.call('EndpointOperInfo', { NetworkID: net.id, EndpointID: ep.id });
    return (r.Value ?? {}) as Record<string, unknown>;
  }

  intact(_net: NetworkInfo, ep: EndpointInfo, view: KernelView): boolean {
    // The plugin's own objects are its business; cnm's part is the link in the sandbox.
    return view.sandboxLinks.has(ep.ifName);
  }

  ownedLinks(): string[] {
    return [];
  }
}
