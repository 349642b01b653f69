// Client subcommands: a thin layer over src/client, named, flagged and
// printed like the docker CLI's (one file per command group).
import type { Command } from 'commander';
import { containerCommands } from './container.ts';
import { processContext } from './context.ts';
import type { CliContext } from './context.ts';
import { execCommand } from './exec.ts';
import { doctorCommand } from './doctor.ts';
import { imageCommand, imagesCommand, rmiCommand, tagCommand } from './image.ts';
import { transferCommands } from './image-transfer.ts';
import { loginCommand, logoutCommand } from './login.ts';
import { networkCommand } from './network.ts';
import { runCommand } from './run.ts';
import { volumeCommand } from './volume.ts';

/**
 * Shares the program's output settings with every command below it, and
 * points usage errors at the command's --help, as docker does.
 */
function adopt(cmd: Command, program: Command, path: string): void {
  cmd.configureOutput(program.configureOutput());
  cmd.showHelpAfterError(`Run '${path} --help' for more information`);
  for (const sub of cmd.commands) adopt(sub, program, `${path} ${sub.name()}`);
}

export function registerCommands(program: Command, ctx: CliContext = processContext()): void {
  // Global flags (-H) go before the subcommand, as in docker; this also lets
  // `run` and `exec` hand everything after the command name to the command.
  program.enablePositionalOptions();
  const images = [imagesCommand(ctx), imageCommand(ctx, transferCommands(ctx)), ...transferCommands(ctx), tagCommand(ctx), rmiCommand(ctx), loginCommand(ctx), logoutCommand(ctx)];
  for (const cmd of [networkCommand(ctx), volumeCommand(ctx), runCommand(ctx), execCommand(ctx), ...containerCommands(ctx), ...images, doctorCommand(ctx)]) {
    adopt(cmd, program, `${program.name()} ${cmd.name()}`);
    program.addCommand(cmd);
  }
}
