// `cnm network create|ls|inspect|connect|disconnect|rm|prune`, flagged and
// printed like `docker network ...` (docker/cli cli/command/network).
import { Option } from 'commander';
import type { Command } from 'commander';
import type { FilterArg } from '../client/client.ts';
import type { EndpointSettingsWire, NetworkCreateWire } from '../api/wire.ts';
import { confirm, inspectAll, naturalCompare, removeEach } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand } from './docker-command.ts';
import { collect, collectCsv, collectFilter, collectLabel, kvMap, parseIntFlag } from './flags.ts';
import { renderList } from './format.ts';
import { ipamConfigFromFlags } from './ipam-flags.ts';
import { NETWORK_LIST, networkRow } from './rows.ts';

const PRUNE_WARNING = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';

interface CreateOpts {
  driver: string; opt: string[]; label: string[]; internal?: boolean; ipv4?: boolean; ipv6?: boolean; attachable?: boolean;
  ingress?: boolean; scope?: string; configOnly?: boolean; configFrom?: string; ipamDriver: string; ipamOpt: string[];
  subnet: string[]; ipRange: string[]; gateway: string[]; auxAddress: string[];
}

/** The request body `docker network create` sends for these flags. */
export function networkCreateBody(name: string, o: CreateOpts): NetworkCreateWire {
  const body: NetworkCreateWire = {
    Name: name,
    Driver: o.driver,
    Scope: o.scope ?? '',
    // Sent only when given: the daemon's defaults apply otherwise.
    ...(o.ipv4 !== undefined ? { EnableIPv4: o.ipv4 } : {}),
    ...(o.ipv6 !== undefined ? { EnableIPv6: o.ipv6 } : {}),
    IPAM: {
      Driver: o.ipamDriver,
      Config: ipamConfigFromFlags({ subnets: o.subnet, ipRanges: o.ipRange, gateways: o.gateway, auxAddresses: kvMap(o.auxAddress) }),
      Options: kvMap(o.ipamOpt),
    },
    Internal: !!o.internal,
    Attachable: !!o.attachable,
    Ingress: !!o.ingress,
    ConfigOnly: !!o.configOnly,
    Options: kvMap(o.opt),
    Labels: kvMap(o.label),
  };
  if (o.configFrom) body.ConfigFrom = { Network: o.configFrom };
  return body;
}

interface ConnectOpts { ip?: string; ip6?: string; alias: string[]; driverOpt: string[]; gwPriority?: number; link: string[]; linkLocalIp: string[] }

/** The EndpointConfig `docker network connect` sends (empty fields left out, as Go's omitempty does). */
export function endpointConfigOf(o: ConnectOpts): EndpointSettingsWire {
  return {
    IPAMConfig: {
      ...(o.ip ? { IPv4Address: o.ip } : {}),
      ...(o.ip6 ? { IPv6Address: o.ip6 } : {}),
      ...(o.linkLocalIp.length ? { LinkLocalIPs: o.linkLocalIp } : {}),
    },
    Links: o.link.length ? o.link : null,
    Aliases: o.alias,
    DriverOpts: kvMap(o.driverOpt),
    GwPriority: o.gwPriority ?? 0,
  };
}

function createCommand(ctx: CliContext): Command {
  return new DockerCommand('create')
    .description('Create a network')
    .argument('<network>')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('-o, --opt <key=value>', 'Set driver specific options', collect, [])
    .option('--label <key=value>', 'Set metadata on a network', collectLabel, [])
    .option('--internal', 'Restrict external access to the network')
    .option('--ipv4', 'Enable or disable IPv4 address assignment (default true)')
    .addOption(new Option('--no-ipv4').hideHelp())
    .option('--ipv6', 'Enable or disable IPv6 address assignment')
    .addOption(new Option('--no-ipv6').hideHelp())
    .option('--attachable', 'Enable manual container attachment')
    .option('--ingress', 'Create swarm routing-mesh network')
    .option('--scope <string>', "Control the network's scope")
    .option('--config-only', 'Create a configuration only network')
    .option('--config-from <string>', 'The network from which to copy the configuration')
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--ipam-opt <key=value>', 'Set IPAM driver specific options', collect, [])
    .option('--subnet <cidr>', 'Subnet in CIDR format that represents a network segment', collectCsv, [])
    .option('--ip-range <cidr>', 'Allocate container ip from a sub-range', collectCsv, [])
    .option('--gateway <ip>', 'IPv4 or IPv6 Gateway for the master subnet', collectCsv, [])
    .option('--aux-address <name=ip>', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', collect, [])
    .action(async (name: string, o: CreateOpts, cmd: Command) => {
      const r = await ctx.client(cmd).networkCreate(networkCreateBody(name, o));
      if (r.Warning) ctx.stderr.write(`WARNING: ${r.Warning}\n`);
      ctx.stdout.write(`${r.Id}\n`);
    });
}

function listCommand(ctx: CliContext): Command {
  return new DockerCommand('ls')
    .alias('list')
    .description('List networks')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', collectFilter, {})
    .option('--format <string>', "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs')
    .action(async (o: { filter: FilterArg; format?: string; trunc: boolean; quiet?: boolean }, cmd: Command) => {
      const list = await ctx.client(cmd).networkList(o.filter);
      list.sort((a, b) => naturalCompare(a.Name, b.Name));
      ctx.stdout.write(renderList(list.map((n) => networkRow(n, o.trunc)), o.format ?? '', NETWORK_LIST, !!o.quiet));
    });
}

function inspectCommand(ctx: CliContext): Command {
  return new DockerCommand('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<network...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const client = ctx.client(cmd);
      await inspectAll(ctx, refs, o.format ?? '', (r) => client.networkInspect(r));
    });
}

function connectCommand(ctx: CliContext): Command {
  return new DockerCommand('connect')
    .description('Connect a container to a network')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collectCsv, [])
    .option('--driver-opt <strings>', 'driver options for the network', collectCsv, [])
    .option('--gw-priority <int>', 'Highest gw-priority provides the default gateway. Accepts positive and negative values.', parseIntFlag)
    .option('--link <list>', 'Add link to another container', collect, [])
    .option('--link-local-ip <strings>', 'Add a link-local address for the container', collectCsv, [])
    .action(async (net: string, container: string, o: ConnectOpts, cmd: Command) => {
      await ctx.client(cmd).networkConnect(net, container, endpointConfigOf(o));
    });
}

function disconnectCommand(ctx: CliContext): Command {
  return new DockerCommand('disconnect')
    .description('Disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (net: string, container: string, o: { force?: boolean }, cmd: Command) => {
      await ctx.client(cmd).networkDisconnect(net, container, !!o.force);
    });
}

function removeCommand(ctx: CliContext): Command {
  return new DockerCommand('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .argument('<network...>')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(async (refs: string[], o: { force?: boolean }, cmd: Command) => {
      const client = ctx.client(cmd);
      await removeEach(ctx, refs, !!o.force, (ref) => client.networkRemove(ref));
    });
}

function pruneCommand(ctx: CliContext): Command {
  return new DockerCommand('prune')
    .description('Remove all unused networks')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collectFilter, {})
    .action(async (o: { force?: boolean; filter: FilterArg }, cmd: Command) => {
      if (!o.force && !(await confirm(ctx, PRUNE_WARNING))) return;
      const r = await ctx.client(cmd).networkPrune(Object.keys(o.filter).length ? o.filter : undefined);
      const names = r.NetworksDeleted ?? [];
      if (names.length) ctx.stdout.write(`Deleted Networks:\n${names.map((n) => `${n}\n`).join('')}\n`);
    });
}

export function networkCommand(ctx: CliContext): Command {
  const net = new DockerCommand('network').description('Manage networks');
  // `docker network` alone prints its help and succeeds.
  net.action(() => net.help());
  for (const c of [createCommand(ctx), listCommand(ctx), inspectCommand(ctx), connectCommand(ctx), disconnectCommand(ctx), removeCommand(ctx), pruneCommand(ctx)]) {
    net.addCommand(c);
  }
  return net;
}
