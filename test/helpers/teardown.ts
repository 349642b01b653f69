// Global teardown, run by scripts/run-tests.mjs after every suite, pass or
// fail. A leak check first: everything a test starts is stopped by its own
// teardown, so whatever of the tests still runs now (processes of a test's
// temp dir /tmp/cnmt-*: daemons, cnm-monitors, sandboxes' `sleep infinity`;
// processes in a cnmt-* namespace; containers in a test daemon's runtime
// state; cnmt-* namespaces) is a leak. It is printed, killed by PID, removed,
// and the teardown exits 1 so that the run fails instead of hiding it.
//
// CNM_TEARDOWN_PREFIX narrows the sweep to temp dirs and namespaces whose
// name starts with it (default "cnmt-", every test's): a test of this file
// sweeps only what it made.
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanupRunDir } from './daemon.ts';
import { deleteRuntimeContainers, killIfSame, killRecorded, leftoverProcesses, unmountUnder } from './pids.ts';
import type { Leftover } from './pids.ts';
import { TEST_PREFIX, isRoot, removeLeftovers } from './netns.ts';
import { waitFor } from './wait.ts';

const prefix = process.env.CNM_TEARDOWN_PREFIX ?? TEST_PREFIX;
if (!prefix.startsWith(TEST_PREFIX)) throw new Error(`CNM_TEARDOWN_PREFIX must start with ${TEST_PREFIX}: ${prefix}`);
const dirs = (): string[] => readdirSync('/tmp').filter((n) => n.startsWith(prefix)).map((n) => join('/tmp', n));
const netnsNames = (): string[] => (existsSync('/run/netns') ? readdirSync('/run/netns') : []).filter((n) => n.startsWith(prefix));
const processes = (): Leftover[] => leftoverProcesses(`/tmp/${prefix}`, prefix);
/** Containers a test daemon's runtime state still holds (runc list), by its root. */
const runtimeRoots = (): string[] => dirs().map((d) => join(d, 'run', 'runtime')).filter((r) => existsSync(r));

if (isRoot()) {
  // A sandbox that exited on its own just before may still have its
  // cnm-monitor finishing (it deletes the container, then exits): only what
  // is still there after a short grace is a leak.
  await waitFor(() => processes().length === 0, { what: 'leftovers', timeoutMs: 3_000 }).catch(() => undefined);
  const leaks: string[] = [];
  // Containers first: delete --force kills them and removes their cgroups
  // (killing their processes by PID would leave the cgroups behind).
  for (const root of runtimeRoots()) {
    for (const id of deleteRuntimeContainers(root)) leaks.push(`runtime container ${id} (state in ${root})`);
  }
  for (const p of processes()) {
    leaks.push(`process ${p.pid} (${p.why}): ${p.cmd}`);
    killIfSame(p.pid, p.start);
  }
  for (const d of dirs()) {
    // Daemons and sandboxes by PID (checked against their start time); the
    // processes were counted above.
    killRecorded(d);
    await cleanupRunDir(join(d, 'run'));
    for (const m of unmountUnder(d)) leaks.push(`mount ${m}`);
    await rm(d, { recursive: true, force: true }).catch(() => undefined);
  }
  const left = netnsNames().length ? await removeLeftovers(prefix) : [];
  for (const n of left) leaks.push(`network namespace ${n}`);
  // What was killed is gone once reaped; anything still there resisted.
  await waitFor(() => processes().length === 0, {
    what: () => `leftover processes to end: ${processes().map((p) => `${p.pid} ${p.cmd}`).join('; ')}`, timeoutMs: 10_000,
  }).catch((e: Error) => { leaks.push(e.message); });
  if (leaks.length) {
    console.error(`teardown: the tests left ${leaks.length} thing(s) running or in place (each test must stop what it starts, by PID, also when it fails); removed now:`);
    for (const l of leaks) console.error(`  ${l}`);
    process.exitCode = 1;
  }
}
