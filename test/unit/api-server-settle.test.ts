// The daemon answers a request that may have changed something only once
// the change is on the disk: the server waits for `settle` (the store's
// sync) before it writes the answer of any request but GET and HEAD, and
// before the error of a failed one (its undo must be on the disk too).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { request } from 'node:http';
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
let settles = 0;
let release: () => void = () => undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cnmt-api-settle-'));
  socket = join(dir, 'api.sock');
  const router = new Router().add([
    { method: 'GET', path: '/info', handler: () => ({ status: 200, json: { ok: true } }) },
    { method: 'POST', path: '/networks/create', handler: () => ({ status: 201, json: { Id: 'x' } }) },
    { method: 'DELETE', path: '/networks/{id}', handler: () => { throw invalid('refused'); } },
  ]);
  // Resolves only when the test says: the disk is slow.
  server = createApiServer(router, quiet, () => { settles++; return new Promise<void>((r) => { release = r; }); });
  await new Promise<void>((r) => server.listen(socket, r));
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function call(method: string, path: string): { answered: () => boolean; done: Promise<number> } {
  let answered = false;
  const done = new Promise<number>((resolve, reject) => {
    const req = request({ socketPath: socket, method, path }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  return { answered: () => answered, done };
}

test('a POST is answered only after settle resolves', async () => {
  const before = settles;
  const c = call('POST', '/networks/create');
  await sleep(100);
  assert.equal(c.answered(), false, 'answered before the change was on the disk');
  assert.equal(settles, before + 1);
  release();
  assert.equal(await c.done, 201);
});

test('a failed DELETE waits for settle too (its undo)', async () => {
  const c = call('DELETE', '/networks/abc');
  await sleep(100);
  assert.equal(c.answered(), false);
  release();
  assert.equal(await c.done, 400);
});

test('a GET does not wait', async () => {
  const before = settles;
  assert.equal(await call('GET', '/info').done, 200);
  assert.equal(settles, before);
});
