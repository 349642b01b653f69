// /networks: list, inspect, create, connect, disconnect, remove, prune.
import type { Controller } from '../../core/controller.ts';
import { invalid } from '../../model/errors.ts';
import type { AttachmentConfig, SubnetConfig } from '../../model/records.ts';
import type { CreateNetworkRequest } from '../../core/network-ops.ts';
import { labelMatches } from '../../core/network-ops.ts';
import { networkView } from '../convert.ts';
import { parseFilters } from '../filters.ts';
import type { Route } from '../router.ts';
import { CONNECT, DISCONNECT, NETWORK_CREATE, parseBody } from '../validate.ts';
import type { ConnectWire, DisconnectWire, EndpointSettingsWire, NetworkCreateWire } from '../wire.ts';

export const versionAtLeast = (v: string, want: string): boolean => {
  const [a = 0, b = 0] = v.split('.').map(Number);
  const [c = 0, d = 0] = want.split('.').map(Number);
  return a > c || (a === c && b >= d);
};

/** EndpointSettings (wire) -> attachment request (domain). */
export function attachmentFromWire(es: EndpointSettingsWire | null | undefined, version: string): Omit<AttachmentConfig, 'networkId'> {
  const ipam = es?.IPAMConfig ?? {};
  const att: Omit<AttachmentConfig, 'networkId'> = {
    aliases: [...new Set(es?.Aliases ?? [])],
    // GwPriority arrived with API 1.48; older clients cannot set it.
    gwPriority: versionAtLeast(version, '1.48') ? Math.trunc(es?.GwPriority ?? 0) : 0,
    driverOpts: es?.DriverOpts ?? {},
  };
  if (ipam.IPv4Address) att.ipv4Address = ipam.IPv4Address;
  if (ipam.IPv6Address) att.ipv6Address = ipam.IPv6Address;
  if (es?.MacAddress) att.macAddress = es.MacAddress;
  return att;
}

function createFromWire(w: NetworkCreateWire): CreateNetworkRequest {
  // Docker's config-only networks hold settings for swarm-scoped networks
  // (--config-from); cnm has no such networks, and building a bridge
  // without its subnet instead would be a different thing.
  if (w.ConfigOnly) throw invalid('config-only networks (--config-only) are not supported by cnm: create the network with its settings directly');
  const config: SubnetConfig[] = (w.IPAM?.Config ?? []).map((c) => ({
    subnet: c.Subnet ?? '',
    ...(c.IPRange ? { ipRange: c.IPRange } : {}),
    ...(c.Gateway ? { gateway: c.Gateway } : {}),
    ...(c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length ? { auxAddresses: c.AuxiliaryAddresses } : {}),
  }));
  return {
    name: w.Name ?? '',
    driver: w.Driver || 'bridge',
    ...(w.Scope ? { scope: w.Scope } : {}),
    internal: !!w.Internal,
    attachable: !!w.Attachable,
    ingress: !!w.Ingress,
    configOnly: !!w.ConfigOnly,
    configFrom: w.ConfigFrom?.Network ?? '',
    enableIPv4: w.EnableIPv4 ?? true,
    enableIPv6: !!w.EnableIPv6,
    ipamDriver: w.IPAM?.Driver || 'default',
    ipamConfig: config,
    ipamOptions: w.IPAM?.Options ?? {},
    options: w.Options ?? {},
    labels: w.Labels ?? {},
  };
}

export function networkRoutes(ctl: Controller): Route[] {
  return [
    {
      method: 'GET', path: '/networks', handler: (req) => {
        const f = parseFilters(req.query.get('filters'), ['name', 'id', 'driver', 'label', 'type', 'scope', 'dangling']);
        for (const t of f.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
        const dangling = f.get('dangling');
        const list = [...ctl.state.networks.values()].filter((n) => {
          const names = f.get('name');
          if (names && !names.some((x) => n.name.includes(x))) return false;
          const ids = f.get('id');
          if (ids && !ids.some((x) => n.id.startsWith(x))) return false;
          const drivers = f.get('driver');
          if (drivers && !drivers.includes(n.driver)) return false;
          const labels = f.get('label');
          if (labels && !labels.every((l) => labelMatches(n.labels, l))) return false;
          const types = f.get('type');
          if (types && !types.includes(n.predefined ? 'builtin' : 'custom')) return false;
          const scopes = f.get('scope');
          if (scopes && !scopes.includes(n.scope)) return false;
          if (dangling?.length) {
            const want = dangling[0] === 'true' || dangling[0] === '1';
            const isDangling = !n.predefined && ctl.state.endpointsOn(n.id).length === 0;
            if (want !== isDangling) return false;
          }
          return true;
        });
        return { status: 200, json: list.map((n) => networkView(ctl.state, n, false)) };
      },
    },
    {
      method: 'GET', path: '/networks/{id}', handler: (req) => {
        const n = ctl.state.findNetwork(req.params.id ?? '');
        return { status: 200, json: networkView(ctl.state, n, true) };
      },
    },
    {
      method: 'POST', path: '/networks/create', handler: async (req) => {
        const w = parseBody<NetworkCreateWire>(req.body, NETWORK_CREATE);
        const net = await ctl.createNetwork(createFromWire(w));
        return { status: 201, json: { Id: net.id, Warning: '' } };
      },
    },
    {
      method: 'POST', path: '/networks/prune', handler: async (req) => {
        const f = parseFilters(req.query.get('filters'), ['until', 'label', 'label!']);
        let until: number | undefined;
        const u = f.get('until')?.[0];
        if (u) {
          until = /^\d+$/.test(u) ? Number(u) * 1000 : Date.parse(u);
          const dur = /^(\d+)(h|m|s)$/.exec(u);
          if (dur) until = Date.now() - Number(dur[1]) * ({ h: 3600e3, m: 60e3, s: 1e3 }[dur[2] as 'h' | 'm' | 's']);
          if (Number.isNaN(until)) throw invalid(`invalid until filter "${u}": expected a timestamp or a duration like 24h`);
        }
        const names = await ctl.pruneNetworks({ until, label: f.get('label') ?? [], labelNot: f.get('label!') ?? [] });
        return { status: 200, json: { NetworksDeleted: names } };
      },
    },
    {
      method: 'POST', path: '/networks/{id}/connect', handler: async (req) => {
        const w = parseBody<ConnectWire>(req.body, CONNECT);
        if (!w.Container) throw invalid('no container specified: expected "Container" in the request');
        await ctl.connect(req.params.id ?? '', w.Container, attachmentFromWire(w.EndpointConfig, req.version));
        return { status: 200 };
      },
    },
    {
      method: 'POST', path: '/networks/{id}/disconnect', handler: async (req) => {
        const w = parseBody<DisconnectWire>(req.body, DISCONNECT);
        if (!w.Container) throw invalid('no container specified: expected "Container" in the request');
        await ctl.disconnect(req.params.id ?? '', w.Container, !!w.Force);
        return { status: 200 };
      },
    },
    {
      method: 'DELETE', path: '/networks/{id}', handler: async (req) => {
        await ctl.removeNetwork(req.params.id ?? '');
        return { status: 204 };
      },
    },
  ];
}
