// What the client commands need from the outside world, passed in so tests
// can run them against a fake daemon and capture their output.
import type { Command } from 'commander';
import { Client, DEFAULT_HOST } from '../client/client.ts';

export interface Out { write(chunk: string | Uint8Array): unknown }

export interface CliContext {
  stdout: Out;
  stderr: Out;
  stdin: NodeJS.ReadableStream;
  /** The API client for the -H / CNM_HOST daemon. */
  client(cmd: Command): Client;
}

export function hostOf(cmd: Command): string {
  const h = (cmd.optsWithGlobals() as { host?: string }).host;
  return h ?? process.env.CNM_HOST ?? DEFAULT_HOST;
}

export function processContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    client: (cmd) => new Client(hostOf(cmd)),
  };
}
