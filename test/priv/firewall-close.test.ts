// Closing the libnftables runner (src/native/nft/nft.c): close() lets the
// jobs already queued finish and settle, and resolves only when the worker
// thread is gone, but never stalls the event loop while the worker is busy.
import { skipUnlessCI } from '../helpers/ci.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { NativeNftRunner, loadNative } from '../../src/firewall/nft-runner.ts';
import { FirewallError } from '../../src/firewall/errors.ts';

const skip = skipUnlessCI('firewall-close', privilegedSkipReason() ?? (loadNative() ? null : 'build/nft.node not built'));

// One transaction adding this many set elements keeps the worker busy for
// hundreds of milliseconds on the test machines (~0.4 s for 20000 here).
const ELEMENTS = 20000;
const addr = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const bigScript = (): string =>
  `add element inet t s { ${Array.from({ length: ELEMENTS }, (_x, i) => addr(i)).join(', ')} }\n`;

describe(`closing the libnftables runner${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  test('close() during a long transaction: the loop keeps running, the transaction completes first', async () => {
    const ns = await TestNetns.create('nftclose');
    try {
      const r = NativeNftRunner.open(ns.path);
      await r.run('add table inet t\nadd set inet t s { type ipv4_addr; }\n');
      const order: string[] = [];
      const tx = r.run(bigScript()).then(() => order.push('transaction'));
      // The worker is busy with the transaction now. A timer due in 10 ms
      // can only fire before close() resolves if close() does not block.
      const timer = new Promise<void>((resolve) => setTimeout(() => { order.push('timer'); resolve(); }, 10));
      await r.close().then(() => order.push('closed'));
      await Promise.all([tx, timer]);
      assert.deepEqual(order, ['timer', 'transaction', 'closed']);
      // The transaction was applied whole, and the runner refuses new work.
      const got = await ns.sh(`nft get element inet t s '{ ${addr(ELEMENTS - 1)} }'`);
      assert.match(got.stdout, new RegExp(addr(ELEMENTS - 1).replace(/\./g, '\\.')));
      await assert.rejects(r.run('list tables'), (e: unknown) => e instanceof FirewallError && /closed/.test(e.message));
    } finally {
      await ns.destroy();
    }
  });

  test('close() right after a transaction, several runners, idle close, double close', async () => {
    const ns = await TestNetns.create('nftclose');
    try {
      const a = NativeNftRunner.open(ns.path);
      await a.run('add table inet t\n');
      await a.close();
      await a.close();
      // Queued but not awaited: each settles before its runner's close().
      const runners = Array.from({ length: 4 }, () => NativeNftRunner.open(ns.path));
      const settled: boolean[] = [];
      const jobs = runners.map((r, i) => r.run(`add set inet t s${i} { type ipv4_addr; }\n`).then(() => { settled[i] = true; }));
      await Promise.all(runners.map(async (r, i) => {
        await r.close();
        assert.equal(settled[i], true, `runner ${i}: its transaction settled before close() resolved`);
      }));
      await Promise.all(jobs);
      const sets = (await ns.sh('nft list table inet t')).stdout;
      for (let i = 0; i < runners.length; i++) assert.match(sets, new RegExp(`set s${i} `));
      // An idle runner closes too.
      await NativeNftRunner.open(ns.path).close();
    } finally {
      await ns.destroy();
    }
  });

  test('a bad namespace path fails open(); the failed workers are joined, not leaked', async () => {
    const threads = (): number => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    const before = threads();
    for (let i = 0; i < 20; i++) {
      assert.throws(() => NativeNftRunner.open('/run/netns/cnmt-does-not-exist'),
        (e: unknown) => e instanceof FirewallError && e.code === 'NATIVE_UNAVAILABLE' && /cnmt-does-not-exist/.test(e.message));
    }
    // Their finalizers run on the event loop; give it a few turns.
    for (let i = 0; i < 100 && threads() > before; i++) await sleep(20);
    assert.ok(threads() <= before, `threads: ${threads()} now, ${before} before`);
  });
});
