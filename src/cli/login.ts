// `cnm login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `cnm
// logout [SERVER]`: the daemon checks the credentials against the registry
// (POST /auth); the CLI keeps them (auth-config.ts) and sends them with
// every pull from that registry, as the docker CLI does.
import type { Command } from 'commander';
import { DEFAULT_DOMAIN } from '../images/reference.ts';
import { authFile, configDir, removeCredentials, saveCredentials } from './auth-config.ts';
import { readLine } from './common.ts';
import type { CliContext } from './context.ts';
import { DockerCommand } from './docker-command.ts';

/** The registry host[:port] a SERVER argument names (docker's ConvertToHostname). */
export function serverHost(server: string | undefined): string {
  if (!server) return DEFAULT_DOMAIN;
  const host = server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DEFAULT_DOMAIN : host;
}

/** Reads a password from a terminal without echoing it. */
function readSecret(stdin: NodeJS.ReadableStream): Promise<string> {
  const tty = stdin as NodeJS.ReadStream;
  if (!tty.isTTY || typeof tty.setRawMode !== 'function') return readLine(stdin);
  return new Promise((resolve, reject) => {
    let buf = '';
    tty.setRawMode(true);
    const done = (err?: Error): void => {
      tty.removeListener('data', onData);
      tty.setRawMode(false);
      tty.pause();
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (c: Buffer): void => {
      for (const ch of c.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('login cancelled'));
        if (ch === '\u007f') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    tty.on('data', onData);
    tty.resume();
  });
}

interface LoginOpts { username?: string; password?: string; passwordStdin?: boolean }

export function loginCommand(ctx: CliContext): Command {
  return new DockerCommand('login')
    .description('Authenticate to a registry (kept for later pulls in ~/.config/cnm/auth.json, mode 0600)')
    .argument('[server]', 'registry host[:port] (default docker.io)')
    .option('-u, --username <string>', 'Username')
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
    .action(async (server: string | undefined, o: LoginOpts, cmd: Command) => {
      if (o.password !== undefined && o.passwordStdin) throw new Error('--password and --password-stdin are mutually exclusive');
      if (o.passwordStdin && !o.username) throw new Error('Must provide --username with --password-stdin');
      if (o.password !== undefined) ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      let username = o.username ?? '';
      let password = o.password ?? '';
      if (o.passwordStdin) {
        const chunks: Buffer[] = [];
        for await (const c of ctx.stdin) chunks.push(Buffer.from(c as Buffer));
        password = Buffer.concat(chunks).toString('utf8').replace(/[\r\n]+$/, '');
      } else {
        if (!username) {
          ctx.stdout.write('Username: ');
          username = (await readLine(ctx.stdin)).trim();
        }
        if (!password) {
          ctx.stdout.write('Password: ');
          password = await readSecret(ctx.stdin);
          ctx.stdout.write('\n');
        }
      }
      if (!username) throw new Error('Error: Non-null Username Required');
      if (!password) throw new Error('Error: Password Required');
      const host = serverHost(server);
      await ctx.client(cmd).auth({ username, password, serveraddress: host });
      const dir = configDir();
      saveCredentials(dir, host, username, password);
      ctx.stderr.write(`WARNING! Your credentials are stored unencrypted in '${authFile(dir)}'.\n`);
      ctx.stdout.write('Login Succeeded\n');
    });
}

export function logoutCommand(ctx: CliContext): Command {
  return new DockerCommand('logout')
    .description('Log out from a registry (forget its saved credentials)')
    .argument('[server]', 'registry host[:port] (default docker.io)')
    .action((server: string | undefined) => {
      const host = serverHost(server);
      if (!removeCredentials(configDir(), host)) {
        ctx.stdout.write(`Not logged in to ${host}\n`);
        return;
      }
      ctx.stdout.write(`Removing login credentials for ${host}\n`);
    });
}
