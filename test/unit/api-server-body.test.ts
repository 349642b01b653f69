// Streamed request bodies (image tars) at the HTTP layer: a body the
// handler refuses before reading is read and dropped before the answer, so
// a client that writes its whole body first still gets the answer; and a
// client that asks `Expect: 100-continue` is told to send the body only
// when the handler reads it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiServer } from '../../src/api/server.ts';
import { Router } from '../../src/api/router.ts';
import { invalid } from '../../src/model/errors.ts';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let dir: string;
let socket: string;
let server: Server;
let refusedCalled: () => void = () => undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cnmt-api-body-'));
  socket = join(dir, 'api.sock');
  const router = new Router().add([
    { method: 'POST', path: '/images/load', streamBody: true, handler: () => { refusedCalled(); throw invalid('refused on its query'); } },
    {
      method: 'POST', path: '/images/create', streamBody: true, handler: async (req) => {
        let n = 0;
        for await (const c of req.stream ?? []) n += c.length;
        return { status: 200, json: { read: n } };
      },
    },
  ]);
  server = createApiServer(router, quiet);
  await new Promise<void>((r) => server.listen(socket, r));
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** A raw client: sends `head`, then (when told) `body`; collects what comes back and any write error. */
function rawClient(head: string): { received: () => string; send: (b: Buffer) => Promise<Error | undefined>; closed: Promise<void> } {
  const s = createConnection({ path: socket });
  let got = '';
  let writeError: Error | undefined;
  s.on('data', (c: Buffer) => { got += c.toString(); });
  s.on('error', (e) => { writeError = e; });
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.write(head);
  return {
    received: () => got,
    send: (b) => new Promise((resolve) => {
      s.write(b, (e) => resolve(e ?? writeError ?? undefined));
    }),
    closed,
  };
}

test('a body refused before it is read is drained first: a client that writes all of it, then reads, gets the answer', async () => {
  const body = Buffer.alloc(200_000, 1);
  const called = new Promise<void>((r) => { refusedCalled = r; });
  const c = rawClient(`POST /images/load HTTP/1.1\r\nHost: cnm\r\nContent-Type: application/x-tar\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  await called;
  // The handler has refused; a client like the docker CLI goes on writing.
  await sleep(50);
  assert.equal(await c.send(body), undefined);
  await c.closed;
  assert.match(c.received(), /^HTTP\/1\.1 400 [\s\S]*"message":"refused on its query"/);
});

test('Expect: 100-continue: refused on the query, answered without asking for the body', async () => {
  const c = rawClient('POST /images/load HTTP/1.1\r\nHost: cnm\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n');
  await c.closed;
  assert.doesNotMatch(c.received(), /100 Continue/);
  assert.match(c.received(), /^HTTP\/1\.1 400 [\s\S]*refused on its query/);
});

test('Expect: 100-continue: "100 Continue" when the handler reads, then the answer', async () => {
  const c = rawClient('POST /images/create HTTP/1.1\r\nHost: cnm\r\nContent-Type: application/x-tar\r\nContent-Length: 5\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n');
  for (let i = 0; i < 100 && !c.received().includes('100 Continue'); i++) await sleep(10);
  assert.match(c.received(), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  assert.equal(await c.send(Buffer.from('hello')), undefined);
  await c.closed;
  assert.match(c.received(), /HTTP\/1\.1 200 [\s\S]*\{"read":5\}/);
});
