// `cnm run IMAGE [CMD...]` runs a container from an image (pulled first
// when missing, as the docker CLI does); `cnm run -- CMD...` runs a sandbox
// with a host command. Either is created, started, and then its ID printed
// (-d) or its output copied until it exits, exiting with its status.
// docker run's flags for networking, ports, DNS and environment.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ApiError } from '../client/client.ts';
import type { Client } from '../client/client.ts';
import { errorText } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand, EXIT_USAGE, exitWith } from './docker-command.ts';
import { collect, collectLabel, parseIntFlag } from './flags.ts';
import { copyLogs } from './logs.ts';
import { familiarWithTag, pullImage } from './image-transfer.ts';
import { containerCreateBody } from './run-body.ts';
import type { RunOpts } from './run-body.ts';

/**
 * `run` remembers whether `--` came before the first operand: then the
 * operands are a host command, not IMAGE [CMD...].
 */
class RunCommand extends DockerCommand {
  hostCommand = false;

  override parseOptions(args: string[]): { operands: string[]; unknown: string[] } {
    const r = super.parseOptions(args);
    const dash = args.indexOf('--');
    this.hostCommand = dash >= 0 && r.operands.length === args.length - dash - 1;
    return r;
  }
}

const isNoSuchImage = (e: unknown): boolean => e instanceof ApiError && e.status === 404 && /no such image/i.test(e.message);

/**
 * Creates the container; an image the daemon does not have is pulled and
 * the create tried again (docker's --pull=missing), progress on stderr.
 */
async function create(ctx: CliContext, client: Client, o: RunOpts, image: string, body: ReturnType<typeof containerCreateBody>): Promise<string> {
  const pull = (): Promise<string> => pullImage(client, image, ctx.stderr, { ...(o.platform ? { platform: o.platform } : {}), quiet: !!o.quiet });
  if (image && o.pull === 'always') await pull();
  try {
    return (await client.containerCreate(o.name ?? '', body)).Id;
  } catch (e) {
    if (!image || o.pull === 'never' || !isNoSuchImage(e)) throw e;
    if (!o.quiet) ctx.stderr.write(`Unable to find image '${familiarWithTag(image)}' locally\n`);
    await pull();
    return (await client.containerCreate(o.name ?? '', body)).Id;
  }
}

function parsePull(v: string): string {
  if (!['missing', 'always', 'never'].includes(v)) throw new InvalidArgumentError(`invalid pull option: '${v}': must be one of "always", "missing" or "never"`);
  return v;
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
  const run = new RunCommand('run')
    .description('Create and run a new container from an image, or (after --) a sandbox running a host command')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]\n       cnm run [OPTIONS] -- COMMAND [ARG...]')
    .helpOption('--help', 'Print usage')
    .argument('<image>', 'IMAGE, or after -- the host command')
    .argument('[args...]')
    .passThroughOptions()
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', parsePull, 'missing')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('-q, --quiet', 'Suppress the pull output')
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
    .action(async (first: string, args: string[], o: RunOpts, cmd: Command) => {
      const client = ctx.client(cmd);
      const image = run.hostCommand ? '' : first;
      const command = run.hostCommand ? [first, ...args] : args;
      let id: string;
      try {
        // In the foreground the CLI removes the sandbox itself after reading
        // its output: the daemon's AutoRemove deletes the logs on exit.
        const body = containerCreateBody(o, command, !!o.rm && !!o.detach, image);
        id = await create(ctx, client, o, image, body);
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
