// Domain records -> Engine API views.
import type { State } from '../core/state.ts';
import type { EndpointRecord, NetworkRecord, PortBinding, SandboxRecord } from '../model/records.ts';
import { shortId } from '../model/ids.ts';
import { mountPoints, mountSpecsToWire } from './mount-view.ts';
import type { ContainerInspectWire, ContainerSummaryWire, EndpointSettingsWire, NetworkWire, PortBindingWire } from './wire.ts';

const prefixLen = (cidr?: string): number => (cidr ? Number(cidr.split('/')[1]) : 0);
const addrOf = (cidr?: string): string => (cidr ? (cidr.split('/')[0] ?? '') : '');

export function networkView(state: State, net: NetworkRecord, withContainers: boolean): NetworkWire {
  const config = [];
  // Docker shows what was asked for, with auto-chosen subnets and gateways filled in.
  for (const s of [net.ipv4, net.ipv6]) {
    if (!s) continue;
    const asked = net.ipamConfigRequested.find((r) => r.subnet === s.subnet);
    config.push({
      Subnet: s.subnet,
      ...(s.ipRange ? { IPRange: s.ipRange } : {}),
      Gateway: s.gateway,
      ...(asked?.auxAddresses && Object.keys(asked.auxAddresses).length ? { AuxiliaryAddresses: asked.auxAddresses } : {}),
    });
  }
  const view: NetworkWire = {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: net.scope,
    Driver: net.driver,
    EnableIPv4: net.enableIPv4,
    EnableIPv6: net.enableIPv6,
    IPAM: { Driver: net.ipamDriver, Options: Object.keys(net.ipamOptions).length ? net.ipamOptions : null, Config: config },
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: net.ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: net.options,
    Labels: net.labels,
  };
  if (withContainers) {
    view.Containers = {};
    for (const ep of state.endpointsOn(net.id)) {
      view.Containers[ep.sandboxId] = {
        Name: ep.name,
        EndpointID: ep.id,
        MacAddress: ep.mac,
        IPv4Address: ep.ipv4 ?? '',
        IPv6Address: ep.ipv6 ?? '',
      };
    }
    // A global network's hosts with members, as Docker's inspect lists them.
    if (net.scope === 'global') {
      const peers = new Map<string, string>();
      for (const ep of state.endpointsOn(net.id)) if (ep.node) peers.set(ep.node.vtep, ep.node.id);
      view.Peers = [...peers].map(([ip, id]) => ({ Name: id.slice(0, 12), IP: ip }));
    }
  }
  return view;
}

/**
 * The gateway inspect shows for an endpoint: the network's, as Docker shows
 * it; none where the driver routes without one (ipvlan l3: default routes
 * straight out of the interface); a dhcp IPAM network has no subnet, so
 * the router comes with the lease.
 */
function gatewayShown(ep: EndpointRecord, net: NetworkRecord | undefined, family: 4 | 6): string {
  if (ep.routes.some((r) => r.dst === (family === 4 ? '0.0.0.0/0' : '::/0') && !r.gateway)) return '';
  // A network without a cnm pool (cni): the gateway the driver's join reported.
  if (family === 6) return net?.ipv6?.gateway ?? ep.gateway.ipv6 ?? '';
  return net?.ipv4?.gateway ?? ep.dhcpLease?.gateway ?? ep.gateway.ipv4 ?? '';
}

function endpointSettings(state: State, sbx: SandboxRecord, networkId: string, ep: EndpointRecord | undefined): EndpointSettingsWire {
  const att = sbx.attachments.find((a) => a.networkId === networkId);
  const net = state.networks.get(networkId);
  const user = net && !net.predefined;
  return {
    IPAMConfig: att && (att.ipv4Address || att.ipv6Address) ? { IPv4Address: att.ipv4Address ?? '', IPv6Address: att.ipv6Address ?? '' } : null,
    Links: null,
    Aliases: att?.aliases.length ? att.aliases : null,
    MacAddress: ep?.mac ?? '',
    DriverOpts: att && Object.keys(att.driverOpts).length ? att.driverOpts : null,
    GwPriority: att?.gwPriority ?? 0,
    NetworkID: networkId,
    EndpointID: ep?.id ?? '',
    Gateway: ep?.ipv4 ? gatewayShown(ep, net, 4) : '',
    IPAddress: addrOf(ep?.ipv4),
    IPPrefixLen: prefixLen(ep?.ipv4),
    IPv6Gateway: ep?.ipv6 ? gatewayShown(ep, net, 6) : '',
    GlobalIPv6Address: addrOf(ep?.ipv6),
    GlobalIPv6PrefixLen: prefixLen(ep?.ipv6),
    DNSNames: user && ep ? [sbx.name, shortId(sbx.id), ...(att?.aliases ?? [])] : null,
  };
}

function networksOf(state: State, sbx: SandboxRecord): Record<string, EndpointSettingsWire> {
  const out: Record<string, EndpointSettingsWire> = {};
  const eps = state.endpointsOf(sbx.id);
  if (sbx.networkMode === 'host' || sbx.networkMode === 'none') {
    const net = [...state.networks.values()].find((n) => n.predefined && n.driver === (sbx.networkMode === 'host' ? 'host' : 'null'));
    if (net) out[net.name] = endpointSettings(state, sbx, net.id, undefined);
    return out;
  }
  for (const att of sbx.attachments) {
    const net = state.networks.get(att.networkId);
    out[net?.name ?? att.networkId] = endpointSettings(state, sbx, att.networkId, eps.find((e) => e.networkId === att.networkId));
  }
  return out;
}

/** Requested bindings (HostConfig) or, when running, the allocated ones. */
function portsMap(ports: PortBinding[], requested: boolean): Record<string, PortBindingWire[] | null> {
  const out: Record<string, PortBindingWire[] | null> = {};
  for (const p of ports) {
    const k = `${p.containerPort}/${p.proto}`;
    const list = out[k] ?? [];
    const hostPort = p.hostPort ? `${p.hostPort}${p.hostPortEnd && p.hostPortEnd !== p.hostPort ? `-${p.hostPortEnd}` : ''}` : '';
    if (requested) list.push({ HostIp: p.hostIp, HostPort: hostPort });
    else {
      // Docker lists the "" binding as both families.
      if (p.hostIp === '' || p.hostIp === '0.0.0.0') list.push({ HostIp: '0.0.0.0', HostPort: String(p.hostPort) });
      if (p.hostIp === '' || p.hostIp === '::') list.push({ HostIp: '::', HostPort: String(p.hostPort) });
      if (p.hostIp !== '' && p.hostIp !== '0.0.0.0' && p.hostIp !== '::') list.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
    out[k] = list;
  }
  return out;
}

const allocatedPorts = (state: State, sbx: SandboxRecord): PortBinding[] => state.endpointsOf(sbx.id).flatMap((e) => e.ports ?? []);

/** Ports asked for but bound nowhere (no network could carry them): null, as Docker shows an unpublished port. */
const requestedOnly = (sbx: SandboxRecord): Record<string, null> =>
  Object.fromEntries(sbx.ports.map((p) => [`${p.containerPort}/${p.proto}`, null]));

/** Docker's State.Status: "paused" is a running container whose cgroup is frozen. */
export const statusOf = (sbx: SandboxRecord): 'created' | 'running' | 'paused' | 'exited' => (sbx.state === 'running' && sbx.paused ? 'paused' : sbx.state);

function statusText(sbx: SandboxRecord): string {
  if (sbx.state === 'running') return `Up ${ago(sbx.startedAt)}${sbx.paused ? ' (Paused)' : ''}`;
  if (sbx.state === 'created') return 'Created';
  return `Exited (${sbx.exitCode}) ${ago(sbx.finishedAt)} ago`;
}

function ago(ts: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(ts)) / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.round(m / 60);
  return `${h} hour${h === 1 ? '' : 's'}`;
}

export function containerSummary(state: State, sbx: SandboxRecord): ContainerSummaryWire {
  return {
    Id: sbx.id,
    Names: [`/${sbx.name}`],
    Image: sbx.image,
    ImageID: sbx.imageId ?? '',
    Command: sbx.cmd.join(' '),
    Created: Math.floor(Date.parse(sbx.created) / 1000),
    Ports: sbx.state === 'running'
      ? allocatedPorts(state, sbx).map((p) => ({ IP: p.hostIp || '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto }))
      : [],
    Labels: sbx.labels,
    State: statusOf(sbx),
    Status: statusText(sbx),
    HostConfig: { NetworkMode: sbx.networkMode },
    NetworkSettings: { Networks: networksOf(state, sbx) },
    Mounts: mountPoints(state, sbx),
  };
}

export interface InspectPaths { runDir: string; logPath: string; runtime: { name: string; path: string; root: string } }

export function containerInspect(state: State, sbx: SandboxRecord, paths: InspectPaths): ContainerInspectWire {
  const r = sbx.run;
  const networks = networksOf(state, sbx);
  const first = state.endpointsOf(sbx.id)[0];
  const firstNet = first ? state.networks.get(first.networkId) : undefined;
  const running = sbx.state === 'running';
  return {
    Id: sbx.id,
    Created: sbx.created,
    Path: sbx.cmd[0] ?? '',
    Args: sbx.cmd.slice(1),
    State: {
      Status: statusOf(sbx),
      Running: running,
      Paused: running && !!sbx.paused,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? sbx.pid : 0,
      ExitCode: sbx.exitCode,
      Error: '',
      StartedAt: sbx.startedAt,
      FinishedAt: sbx.finishedAt,
    },
    Image: sbx.imageId ?? sbx.image,
    ResolvConfPath: `${paths.runDir}/resolv.conf`,
    HostnamePath: `${paths.runDir}/hostname`,
    HostsPath: `${paths.runDir}/hosts`,
    LogPath: paths.logPath,
    Name: `/${sbx.name}`,
    RestartCount: sbx.restartCount,
    Driver: 'cnm-sandbox',
    Platform: 'linux',
    Config: {
      Hostname: sbx.hostname,
      Domainname: sbx.domainname,
      User: r.user,
      WorkingDir: r.workingDir,
      Cmd: sbx.command ? sbx.command.cmd : sbx.cmd,
      Entrypoint: sbx.command?.entrypoint ?? null,
      Image: sbx.image,
      Env: sbx.env,
      Labels: sbx.labels,
      Volumes: r.volumes.length ? Object.fromEntries(r.volumes.map((v) => [v, {}])) : null,
      AttachStdin: r.attachStdin,
      AttachStdout: r.attachStdout,
      AttachStderr: r.attachStderr,
      Tty: r.tty,
      OpenStdin: r.openStdin,
      StdinOnce: r.stdinOnce,
    },
    HostConfig: {
      NetworkMode: sbx.networkMode,
      Dns: sbx.dns,
      DnsSearch: sbx.dnsSearch,
      DnsOptions: sbx.dnsOptions,
      ExtraHosts: sbx.extraHosts,
      AutoRemove: sbx.autoRemove,
      PortBindings: Object.fromEntries(Object.entries(portsMap(sbx.ports, true)).map(([k, v]) => [k, v ?? []])),
      PublishAllPorts: sbx.publishAll,
      Binds: r.binds,
      ...(r.mountSpecs.length ? { Mounts: mountSpecsToWire(r.mountSpecs) } : {}),
      ...(Object.keys(r.tmpfs).length ? { Tmpfs: r.tmpfs } : {}),
      Memory: r.memory,
      NanoCpus: r.nanoCpus,
      PidsLimit: r.pidsLimit > 0 ? r.pidsLimit : null,
      Privileged: r.privileged,
      Init: r.init,
      RestartPolicy: { Name: r.restartPolicy.name, MaximumRetryCount: r.restartPolicy.maximumRetryCount },
      LogConfig: { Type: 'json-file', Config: { 'max-size': String(r.logMaxSize), 'max-file': String(r.logMaxFile) } },
      Runtime: paths.runtime.name,
      ConsoleSize: r.consoleSize,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: running ? sbx.id : '',
      SandboxKey: running ? sbx.netnsPath : '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: running ? { ...requestedOnly(sbx), ...portsMap(allocatedPorts(state, sbx), false) } : {},
      Gateway: first?.ipv4 ? gatewayShown(first, firstNet, 4) : '',
      IPAddress: addrOf(first?.ipv4),
      IPPrefixLen: prefixLen(first?.ipv4),
      MacAddress: first?.mac ?? '',
      GlobalIPv6Address: addrOf(first?.ipv6),
      GlobalIPv6PrefixLen: prefixLen(first?.ipv6),
      IPv6Gateway: first?.ipv6 ? gatewayShown(first, firstNet, 6) : '',
      Networks: networks,
    },
    Mounts: mountPoints(state, sbx),
  };
}
