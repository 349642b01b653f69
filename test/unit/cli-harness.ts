// Runs cnm's client commands in-process against a fake Engine API on a unix
// socket in a temp dir, recording every request the CLI sends.
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { ApiError, Client } from '../../src/client/client.ts';
import { registerCommands } from '../../src/cli/commands.ts';
import type { CliContext } from '../../src/cli/context.ts';

export interface Recorded {
  method: string; path: string; query: URLSearchParams; body: unknown; upgrade?: boolean;
  /** The body as sent (a tar is not JSON), and the request headers. */
  raw?: Buffer; headers?: Record<string, string | string[] | undefined>;
}
export interface Reply {
  status?: number; json?: unknown; raw?: Buffer; contentType?: string; headers?: Record<string, string>;
  /**
   * For a request that asks to upgrade: answer 101 and send `output`; with
   * `echoStdin`, first read the client's stream to its half-close and send
   * what came, as stdout frames, after `output`.
   */
  upgrade?: { output: Buffer; echoStdin?: boolean };
}
export type Handler = (r: Recorded) => Reply | undefined | Promise<Reply | undefined>;

export interface FakeDaemon {
  socket: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function fakeDaemon(handler: Handler): Promise<FakeDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'cnmt-cli-'));
  const socket = join(dir, 'api.sock');
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://cnm');
      const raw = Buffer.concat(chunks);
      const text = raw.toString();
      const json = String(req.headers['content-type'] ?? '').includes('json');
      const rec: Recorded = {
        method: req.method ?? '',
        path: url.pathname.replace(/^\/v[\d.]+/, ''),
        query: url.searchParams,
        body: text && json ? JSON.parse(text) : undefined,
        raw,
        headers: req.headers,
      };
      requests.push(rec);
      const r = (await handler(rec)) ?? { status: 404, json: { message: `no route for ${rec.method} ${rec.path}` } };
      const status = r.status ?? 200;
      if (r.raw) {
        res.writeHead(status, { 'Content-Type': r.contentType ?? 'application/vnd.docker.multiplexed-stream', ...r.headers });
        res.end(r.raw);
      } else if (r.json !== undefined) {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(r.json));
      } else {
        res.writeHead(status);
        res.end();
      }
    });
  });
  // Hijacked requests (exec start): the body is in `head` (small JSON).
  server.on('upgrade', (req: IncomingMessage, sock: Duplex, head: Buffer) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://cnm');
      const text = head.toString();
      const rec: Recorded = { method: req.method ?? '', path: url.pathname.replace(/^\/v[\d.]+/, ''), query: url.searchParams, body: text ? JSON.parse(text) : undefined, upgrade: true };
      requests.push(rec);
      const r = (await handler(rec)) ?? { status: 404, json: { message: `no route for ${rec.method} ${rec.path}` } };
      if (!r.upgrade) {
        const body = JSON.stringify(r.json ?? {});
        sock.end(`HTTP/1.1 ${r.status ?? 200} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        return;
      }
      const up = r.upgrade;
      sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      if (!up.echoStdin) {
        sock.end(up.output);
        return;
      }
      const got: Buffer[] = [];
      sock.on('data', (c: Buffer) => got.push(c));
      sock.on('end', () => {
        const input = Buffer.concat(got);
        const h = Buffer.alloc(8);
        h[0] = 1;
        h.writeUInt32BE(input.length, 4);
        sock.end(Buffer.concat([up.output, h, input]));
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => { rmSync(dir, { recursive: true, force: true }); resolve(); })),
  };
}

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs `cnm ARGS` as main.ts does (same error handling and exit statuses). */
export async function runCli(socket: string, args: string[], opts: { stdin?: string | Buffer; tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean; columns?: number } } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const text = (c: string | Uint8Array): string => (typeof c === 'string' ? c : Buffer.from(c).toString());
  const tty = opts.tty ?? {};
  const stdin = Readable.from([opts.stdin ?? '']);
  if (tty.stdin) Object.assign(stdin, { isTTY: true });
  const ctx: CliContext = {
    stdout: { write: (c) => { stdout += text(c); return true; }, ...(tty.stdout ? { isTTY: true, columns: tty.columns ?? 80 } : {}) },
    stderr: { write: (c) => { stderr += text(c); return true; }, ...(tty.stderr ? { isTTY: true, columns: tty.columns ?? 80 } : {}) },
    stdin,
    client: () => new Client(`unix://${socket}`),
  };
  const program = new Command('cnm')
    .option('-H, --host <socket>')
    .exitOverride()
    .configureOutput({ writeOut: (s) => { stdout += s; }, writeErr: (s) => { stderr += s; } });
  registerCommands(program, ctx);
  let code = 0;
  try {
    await program.parseAsync(['node', 'cnm', ...args]);
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode;
    else if (e instanceof ApiError) { stderr += `Error response from daemon: ${e.message}\n`; code = 1; }
    else { stderr += `cnm: ${(e as Error).message}\n`; code = 1; }
  }
  return { code, stdout, stderr };
}
