// kill -9 at random moments while a child process commits multi-key txns;
// after every kill the store must open cleanly, hold every acknowledged
// commit, and hold no half-applied one. No privileges needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteStore } from '../../src/store/index.ts';
import type { WatchEvent } from '../../src/store/index.ts';
import { BIG_EVERY, KEYS, bigValue } from '../helpers/store-crash-child.ts';

const KILLS = 50;
/**
 * Odd runs: kill up to this long after spawn (often before or while opening,
 * i.e. during WAL recovery). Even runs: up to this long after the first ack,
 * so commits happen however slow the machine is.
 */
const MAX_KILL_DELAY_MS = 600;
const MAX_KILL_AFTER_ACK_MS = 100;
const CHILD = join(import.meta.dirname, '..', 'helpers', 'store-crash-child.ts');

/** Deterministic, so a failing run can be replayed by its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Runs the child until SIGKILL after delayMs (from spawn or from the first ack); returns the acknowledged ids. */
function runAndKill(path: string, sync: string, delayMs: number, afterAck: boolean): Promise<{ acked: number[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CHILD, 'commit', path, sync], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => { timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs); };
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('\n')) arm(); });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    if (!afterAck) arm();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') { reject(new Error(`child exited on its own (code ${code}, signal ${signal}): ${stderr}`)); return; }
      // Only complete lines are acknowledgements; a torn last line is not.
      resolve({ acked: out.split('\n').slice(0, -1).map(Number), stderr });
    });
  });
}

async function verify(path: string, lastAcked: number): Promise<number> {
  const store = await SqliteStore.open(path);
  try {
    const counter = Number((await store.get('crash/counter'))?.value ?? 0);
    // The commit in flight at the kill may have landed without its ack.
    assert.ok(counter === lastAcked || counter === lastAcked + 1, `counter ${counter}, last acknowledged ${lastAcked}`);
    assert.equal(await store.revision(), counter, 'one revision per commit');
    if (counter === 0) {
      assert.deepEqual((await store.list('')).kvs, []);
      return 0;
    }
    const counterKv = await store.get('crash/counter');
    const ks = (await store.list('crash/k/')).kvs;
    assert.equal(ks.length, KEYS);
    for (const kv of ks) {
      assert.equal(kv.value, String(counter), `${kv.key} belongs to commit ${counter}`);
      assert.equal(kv.modRevision, counterKv?.modRevision);
    }
    assert.deepEqual((await store.list('crash/t/')).kvs.map((kv) => kv.key), [`crash/t/${counter}`]);
    const bigId = Math.floor(counter / BIG_EVERY) * BIG_EVERY;
    assert.equal((await store.get('crash/big'))?.value ?? null, bigId === 0 ? null : bigValue(bigId));
    // The last commit's watch history is whole too.
    const events: WatchEvent[] = [];
    store.watch('crash/', counter - 1, (ev) => events.push(ev), (err) => assert.fail(err));
    await new Promise((r) => setImmediate(r));
    const expected = 1 + KEYS + (counter > 1 ? 2 : 1) + (counter % BIG_EVERY === 0 ? 1 : 0);
    assert.equal(events.length, expected, 'history of the last commit');
    assert.ok(events.every((e) => e.revision === counter));
    return counter;
  } finally {
    await store.close();
  }
}

function integrityCheck(path: string): string {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return String((db.prepare('PRAGMA integrity_check').get() as { integrity_check: unknown }).integrity_check);
  } finally {
    db.close();
  }
}

test(`SqliteStore keeps every acknowledged commit and no half commit across ${KILLS} kill -9`, async (t) => {
  const seed = Number(process.env.CNM_CRASH_SEED ?? Date.now() % 1_000_000);
  const random = prng(seed);
  t.diagnostic(`seed ${seed} (replay with CNM_CRASH_SEED=${seed})`);
  const dir = mkdtempSync(join(tmpdir(), 'cnm-store-crash-'));
  const path = join(dir, 'store.db');
  let counter = 0;
  let killedBeforeAck = 0;
  try {
    for (let i = 0; i < KILLS; i++) {
      // Alternate durability levels: both must survive a process crash.
      const sync = i % 2 === 0 ? 'full' : 'normal';
      const afterAck = i % 4 >= 2;
      const delay = random() * (afterAck ? MAX_KILL_AFTER_ACK_MS : MAX_KILL_DELAY_MS);
      const { acked, stderr } = await runAndKill(path, sync, delay, afterAck);
      assert.equal(stderr, '', 'child wrote to stderr');
      // Each run continues from the state the last one left.
      acked.forEach((id, n) => assert.equal(id, counter + 1 + n, `seed ${seed}, run ${i}: acks ${acked.slice(0, n + 1).join()}`));
      if (acked.length === 0) killedBeforeAck++;
      counter = await verify(path, acked.at(-1) ?? counter);
      assert.equal(integrityCheck(path), 'ok');
    }
    t.diagnostic(`seed ${seed}: ${counter} commits, ${killedBeforeAck} of ${KILLS} kills before the first ack of their run`);
    assert.ok(counter >= KILLS / 2, 'the children did commit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
