// kill -9 of the daemon while sandboxes are starting: the restarted daemon
// adopts what it recorded as running and kills what it did not, so every
// sandbox process is accounted for and `rm -f` stops them all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { elapse, waitFor } from '../helpers/wait.ts';

const skip = skipUnlessCI('start-crash', privilegedSkipReason());
const ROUNDS = Number(process.env.CNM_START_CRASH_ROUNDS ?? 15);
// A sleep length no other process on the machine uses: the marker.
const MARK = String(900_000 + Math.floor(Math.random() * 90_000));

/** PIDs of the marked sleeps, wherever they run. */
function marked(): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${MARK}\0`) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}


describe(`kill -9 during sandbox start${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test(`${ROUNDS} rounds: no sandbox process outlives its record, rm -f stops every one`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // Settled as they go: calls cut off by the kill reject.
      const starts = Promise.allSettled([0, 1, 2].map(async (i) => {
        const { Id } = await d.client.containerCreate(`s${round}x${i}`, { Cmd: ['sleep', MARK] });
        await d.client.containerStart(Id);
      }));
      // Not a wait for a condition: the kill is to land at a random moment
      // of the starts, so a random time passes.
      await elapse(Math.random() * 120);
      await d.stop('SIGKILL');
      await starts;
      await d.restart();
      // Every marked process belongs to a sandbox the daemon says runs.
      const running = (await d.client.containerList(false)).length;
      assert.equal(marked().length, running, `round ${round}: ${marked().length} processes, ${running} running sandboxes`);
    }
    for (const c of await d.client.containerList(true)) await d.client.containerRemove(c.Id, true);
    await waitFor(() => marked().length === 0, { what: () => `the marked sandbox processes to end: ${marked().join(' ')}` });
  });
});
