// `cnm run`: create a sandbox running a host command, start it, and either
// print its ID (-d) or wait for it and print its output, exiting with its
// status. docker run's flags for networking, ports, DNS and environment.
import { isIP } from 'node:net';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { ContainerCreateWire, EndpointSettingsWire } from '../api/wire.ts';
import { ApiError } from '../client/client.ts';
import type { Client } from '../client/client.ts';
import { CliError } from './cli-error.ts';
import { errorText } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand, EXIT_USAGE, exitWith } from './docker-command.ts';
import { collect, collectLabel, kvMap, parseIntFlag } from './flags.ts';
import { parseExpose, portBindings } from './ports.ts';

export interface RunOpts {
  detach?: boolean; rm?: boolean; name?: string; hostname?: string; domainname?: string;
  network: string[]; ip?: string; ip6?: string; networkAlias: string[]; macAddress?: string; linkLocalIp: string[]; gwPriority?: number;
  dns: string[]; dnsSearch: string[]; dnsOption: string[]; addHost: string[];
  publish: string[]; publishAll?: boolean; expose: string[]; env: string[]; label: string[];
}

/** One --network value: a name, or docker's "name=NET,alias=A,ip=IP,..." form. */
interface NetworkAttach { target: string; ep: EndpointSettingsWire }

const bad = (flag: string, value: string, expected: string): never => {
  throw new CliError({ code: 'BAD_FLAG', flag, value, expected });
};

export function parseNetworkFlag(v: string): NetworkAttach {
  if (!v.includes('=')) return { target: v, ep: {} };
  const ep: EndpointSettingsWire = {};
  let target = '';
  for (const field of v.split(',')) {
    const i = field.indexOf('=');
    const k = field.slice(0, i).trim().toLowerCase();
    const val = field.slice(i + 1).trim();
    if (i < 0) bad('--network', v, 'name=NET[,alias=A][,ip=IP][,ip6=IP][,mac-address=MAC][,driver-opt=K=V][,gw-priority=N]');
    switch (k) {
      case 'name': target = val; break;
      case 'alias': (ep.Aliases ??= []).push(val); break;
      case 'ip': (ep.IPAMConfig ??= {}).IPv4Address = val; break;
      case 'ip6': (ep.IPAMConfig ??= {}).IPv6Address = val; break;
      case 'link-local-ip': ((ep.IPAMConfig ??= {}).LinkLocalIPs ??= []).push(val); break;
      case 'mac-address': ep.MacAddress = val; break;
      case 'driver-opt': Object.assign(ep.DriverOpts ??= {}, kvMap([val])); break;
      case 'gw-priority': ep.GwPriority = parseIntFlag(val); break;
      default: bad('--network', v, `a known option, not "${k}"`);
    }
  }
  if (!target) bad('--network', v, 'a network name (name=NET)');
  return { target, ep };
}

/** --add-host HOST:IP (or HOST=IP), sent as "HOST:IP" like docker. */
function extraHost(v: string): string {
  const i = v.includes('=') ? v.indexOf('=') : v.indexOf(':');
  const host = v.slice(0, i);
  let ip = v.slice(i + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (i <= 0 || (!isIP(ip) && ip !== 'host-gateway')) bad('--add-host', v, 'HOST:IP');
  return `${host}:${ip}`;
}

/** -e K=V, or -e K taking K's value from the CLI's environment (docker's ValidateEnv). */
function envEntry(v: string): string {
  if (v.includes('=')) {
    if (v.startsWith('=')) bad('--env', v, 'KEY=VALUE with a non-empty KEY');
    return v;
  }
  const val = process.env[v];
  return val === undefined ? v : `${v}=${val}`;
}

/** The POST /containers/create body for `cnm run` flags and a command. */
export function containerCreateBody(o: RunOpts, cmd: string[], autoRemove: boolean): ContainerCreateWire {
  for (const d of o.dns) if (!isIP(d)) bad('--dns', d, 'an IP address');
  if (o.ip && isIP(o.ip) !== 4) bad('--ip', o.ip, 'an IPv4 address');
  if (o.ip6 && isIP(o.ip6) !== 6) bad('--ip6', o.ip6, 'an IPv6 address');
  const attach = o.network.map(parseNetworkFlag);
  const endpoints: Record<string, EndpointSettingsWire> = {};
  // --ip, --ip6, --network-alias and friends apply to the first network, as in docker.
  const first: EndpointSettingsWire = {};
  if (o.ip || o.ip6 || o.linkLocalIp.length) {
    first.IPAMConfig = { IPv4Address: o.ip ?? '', IPv6Address: o.ip6 ?? '', ...(o.linkLocalIp.length ? { LinkLocalIPs: o.linkLocalIp } : {}) };
  }
  if (o.networkAlias.length) first.Aliases = o.networkAlias;
  if (o.macAddress) first.MacAddress = o.macAddress;
  if (o.gwPriority !== undefined) first.GwPriority = o.gwPriority;
  const mode = attach[0]?.target ?? 'bridge';
  attach.forEach((a, i) => {
    if (endpoints[a.target]) throw new CliError({ code: 'BAD_FLAG', flag: '--network', value: a.target, expected: 'each network once' });
    const ep = i === 0 ? mergeEndpoint(a.ep, first) : a.ep;
    endpoints[a.target] = ep;
  });
  if (!attach.length && Object.keys(first).length) endpoints[mode] = first;
  const { bindings, exposed } = portBindings(o.publish);
  for (const e of o.expose) for (const k of parseExpose(e)) exposed[k] = {};
  return {
    Hostname: o.hostname ?? '',
    Domainname: o.domainname ?? '',
    Cmd: cmd,
    // Sandboxes run host binaries: there is no image.
    Image: '',
    Env: o.env.map(envEntry),
    Labels: kvMap(o.label),
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: mode,
      Dns: o.dns,
      DnsSearch: o.dnsSearch,
      DnsOptions: o.dnsOption,
      ExtraHosts: o.addHost.map(extraHost),
      AutoRemove: autoRemove,
      PortBindings: bindings,
      PublishAllPorts: !!o.publishAll,
    },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
}

function mergeEndpoint(a: EndpointSettingsWire, b: EndpointSettingsWire): EndpointSettingsWire {
  const out: EndpointSettingsWire = { ...a, ...b };
  if (a.IPAMConfig || b.IPAMConfig) out.IPAMConfig = { ...a.IPAMConfig, ...b.IPAMConfig };
  if (a.Aliases || b.Aliases) out.Aliases = [...(a.Aliases ?? []), ...(b.Aliases ?? [])];
  return out;
}

/** docker run reports its own failures, and the daemon's, with status 125. */
function runFailed(ctx: CliContext, e: unknown): never {
  ctx.stderr.write(`cnm: ${errorText(e)}\n\nRun 'cnm run --help' for more information\n`);
  return exitWith(EXIT_USAGE);
}

async function removeQuietly(client: Client, id: string): Promise<void> {
  try {
    await client.containerRemove(id, true);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
}

/**
 * How often a foreground run polls the logs while it waits. The logs API has
 * no follow mode yet, so output is copied as it grows, not only at exit.
 */
export const LOG_POLL_MS = 200;

/** Copies what was added to the sandbox's logs since the last call. */
function logCopier(ctx: CliContext, client: Client, id: string): () => Promise<void> {
  let outDone = 0;
  let errDone = 0;
  return async () => {
    const { stdout, stderr } = await client.containerLogs(id);
    if (stdout.length > outDone) ctx.stdout.write(stdout.subarray(outDone));
    if (stderr.length > errDone) ctx.stderr.write(stderr.subarray(errDone));
    outDone = Math.max(outDone, stdout.length);
    errDone = Math.max(errDone, stderr.length);
  };
}

/** Runs in the foreground: copy the output while waiting, return the exit status. */
async function foreground(ctx: CliContext, client: Client, id: string, rm: boolean): Promise<number> {
  // Signals to the CLI stop the sandbox, as docker's sig-proxy would deliver them.
  const kill = (): void => { void client.call('POST', `/containers/${encodeURIComponent(id)}/kill`).catch(() => undefined); };
  process.on('SIGINT', kill);
  process.on('SIGTERM', kill);
  try {
    const copy = logCopier(ctx, client, id);
    let exited: { StatusCode: number } | undefined;
    let failed: unknown;
    const wait = client.containerWait(id).then((r) => { exited = r; }, (e: unknown) => { failed = e; });
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([wait, new Promise((resolve) => { timer = setTimeout(resolve, LOG_POLL_MS); })]);
      clearTimeout(timer);
      if (failed) throw failed;
      await copy();
      if (exited) break;
    }
    if (rm) await removeQuietly(client, id);
    return exited.StatusCode;
  } finally {
    process.removeListener('SIGINT', kill);
    process.removeListener('SIGTERM', kill);
  }
}

/** docker's old spellings --net and --net-alias, appended in command-line order. */
function addAlias(cmd: Command, alias: string, target: string): void {
  cmd.addOption(new Option(`--${alias} <value>`).hideHelp());
  cmd.on(`option:${alias}`, (v: string) => cmd.setOptionValue(target, collect(v, cmd.getOptionValue(target) as string[] | undefined)));
}

export function runCommand(ctx: CliContext): Command {
  const run = new DockerCommand('run')
    .description('Create and run a new sandbox running a host command')
    .usage('[OPTIONS] COMMAND [ARG...]')
    .helpOption('--help', 'Print usage')
    .argument('<command>')
    .argument('[args...]')
    .passThroughOptions()
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--name <string>', 'Assign a name to the container')
    .option('-h, --hostname <string>', 'Container host name')
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--network <network>', 'Connect a container to a network (repeatable; name=NET,alias=A,ip=IP,... for per-network options)', collect, [])
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <string>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--network-alias <alias>', 'Add network-scoped alias for the container', collect, [])
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('--link-local-ip <ip>', 'Container IPv4/IPv6 link-local addresses', collect, [])
    .option('--gw-priority <int>', 'Gateway priority on the first network', parseIntFlag)
    .option('--dns <ip>', 'Set custom DNS servers', collect, [])
    .option('--dns-search <domain>', 'Set custom DNS search domains', collect, [])
    .option('--dns-option <option>', 'Set DNS options', collect, [])
    .option('--add-host <host:ip>', 'Add a custom host-to-IP mapping (host:ip)', collect, [])
    .option('-p, --publish <spec>', "Publish a container's port(s) to the host", collect, [])
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--expose <port>', 'Expose a port or a range of ports', collect, [])
    .option('-e, --env <K=V>', 'Set environment variables', collect, [])
    .option('-l, --label <key=value>', 'Set meta data on a container', collectLabel, [])
    .action(async (command: string, args: string[], o: RunOpts, cmd: Command) => {
      const client = ctx.client(cmd);
      let id: string;
      try {
        // In the foreground the CLI removes the sandbox itself after reading
        // its output: the daemon's AutoRemove deletes the logs on exit.
        const body = containerCreateBody(o, [command, ...args], !!o.rm && !!o.detach);
        id = (await client.containerCreate(o.name ?? '', body)).Id;
      } catch (e) {
        return runFailed(ctx, e);
      }
      try {
        await client.containerStart(id);
      } catch (e) {
        if (o.rm) await removeQuietly(client, id).catch(() => undefined);
        return runFailed(ctx, e);
      }
      if (o.detach) {
        ctx.stdout.write(`${id}\n`);
        return;
      }
      const status = await foreground(ctx, client, id, !!o.rm);
      if (status !== 0) exitWith(status);
    });
  addAlias(run, 'net', 'network');
  addAlias(run, 'net-alias', 'networkAlias');
  return run;
}
