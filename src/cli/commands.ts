// Client subcommands (filled in by the CLI files).
import type { Command } from 'commander';

export function registerCommands(_program: Command): void {}
