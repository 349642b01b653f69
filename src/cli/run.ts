// `cnm run`: create a sandbox running a host command, start it, and either
// print its ID (-d) or wait for it and print its output, exiting with its
// status. docker run's flags for networking, ports, DNS and environment.
import { Option } from 'commander';
import type { Command } from 'commander';
import { ApiError } from '../client/client.ts';
import type { Client } from '../client/client.ts';
import { errorText } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand, EXIT_USAGE, exitWith } from './docker-command.ts';
import { collect, collectLabel, parseIntFlag } from './flags.ts';
import { copyLogs } from './logs.ts';
import { containerCreateBody } from './run-body.ts';
import type { RunOpts } from './run-body.ts';

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

/** Runs in the foreground: copy the output while waiting, return the exit status. */
async function foreground(ctx: CliContext, client: Client, id: string, rm: boolean): Promise<number> {
  // Signals to the CLI stop the sandbox, as docker's sig-proxy would deliver them.
  const kill = (): void => { void client.call('POST', `/containers/${encodeURIComponent(id)}/kill`).catch(() => undefined); };
  process.on('SIGINT', kill);
  process.on('SIGTERM', kill);
  try {
    // The daemon ends a followed log when the sandbox stops, after its last words.
    const [exited] = await Promise.all([client.containerWait(id), copyLogs(ctx, client, id, { follow: true })]);
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
    .option('-v, --volume <src:dst[:mode]>', 'Bind mount a host path or mount a named volume (NAME:DST), or an anonymous volume (DST)', collect, [])
    .option('--tmpfs <dst[:options]>', 'Mount a tmpfs directory (e.g. /run:size=64m)', collect, [])
    .option('-u, --user <user[:group]>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-m, --memory <bytes>', 'Memory limit (e.g. 512m)')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('--pids-limit <int>', 'Tune container pids limit (-1 for unlimited)', parseIntFlag)
    .option('--restart <policy>', 'Restart policy: no, always, unless-stopped, on-failure[:max-retries]')
    .option('--privileged', 'Give extended privileges: every capability, no seccomp filter, writable /sys (unsafe)')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes (the default)')
    .option('--no-init', 'Run the command itself as PID 1 (signals it has no handler for are ignored, as in Docker)')
    .option('--log-opt <k=v>', 'Log driver options: max-size=10m, max-file=3', collect, [])
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
