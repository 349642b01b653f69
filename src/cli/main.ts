// cnm: one program. `cnm daemon` runs the daemon; every other subcommand is
// a client of its API, named and flagged like the docker CLI's.
import { Command, CommanderError } from 'commander';
import { ApiError } from '../client/client.ts';
import { registerCleanup, registerDaemon } from './daemon.ts';
import { registerCommands } from './commands.ts';

const program = new Command('cnm')
  .description('a container network engine for Linux')
  .version('0.1.0')
  .option('-H, --host <socket>', 'daemon socket: unix:///path (default: CNM_HOST or unix:///run/cnm.sock)')
  .showHelpAfterError()
  .exitOverride();

registerDaemon(program);
registerCleanup(program);
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof ApiError) {
    // Status 0: the daemon was not reached at all (docker prints that bare).
    process.stderr.write(e.status === 0 ? `${e.message}\n` : `Error response from daemon: ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`cnm: ${(e as Error).message}\n`);
  process.exit(1);
}
