// Child process for test/unit/store-crash.test.ts and the cross-process lock
// test. Usage:
//   node store-crash-child.ts commit <db path> <full|normal>
//     commits multi-key txns in a loop until killed; after each txn() resolves
//     it prints the commit id on its own line (an acknowledged commit).
//   node store-crash-child.ts hold <db path>
//     opens the store, prints "ready", and holds it until stdin closes.
//   node store-crash-child.ts burst <db path> <n>
//     makes n puts at once, waits for sync(), prints "synced", and exits
//     without closing (a power loss now would keep all n).
// Each commit `id` (counter C -> id = C + 1) writes, in one txn:
//   crash/counter = id, crash/k/0..KEYS-1 = id, crash/t/<id> (and deletes
//   crash/t/<id-1>), and every BIG_EVERY-th commit a large crash/big, so a
//   commit spans several WAL pages. The parent checks that all of it or none
//   of it survived.
import { SqliteStore } from '../../src/store/index.ts';
import type { TxnOp } from '../../src/store/index.ts';

export const KEYS = 8;
export const BIG_EVERY = 7;
export const BIG_BYTES = 64 * 1024;
/** small, so that compactions run (and get killed) often */
export const HISTORY_REVISIONS = 20;

export function bigValue(id: number): string {
  return `${id}:`.padEnd(BIG_BYTES, String.fromCharCode(97 + (id % 26)));
}

async function commitLoop(path: string, sync: 'full' | 'normal'): Promise<never> {
  const store = await SqliteStore.open(path, { sync, historyRevisions: HISTORY_REVISIONS });
  let counter = Number((await store.get('crash/counter'))?.value ?? 0);
  for (;;) {
    const id = counter + 1;
    const success: TxnOp[] = [{ type: 'put', key: 'crash/counter', value: String(id) }];
    for (let i = 0; i < KEYS; i++) success.push({ type: 'put', key: `crash/k/${i}`, value: String(id) });
    success.push({ type: 'delete', key: `crash/t/${counter}` }, { type: 'put', key: `crash/t/${id}`, value: String(id) });
    if (id % BIG_EVERY === 0) success.push({ type: 'put', key: 'crash/big', value: bigValue(id) });
    const r = await store.txn({ compare: [{ key: 'crash/counter', value: counter === 0 ? null : String(counter) }], success });
    if (!r.succeeded) {
      process.stderr.write(`compare failed at counter ${counter}\n`);
      process.exit(3);
    }
    // Acknowledged as the daemon acknowledges: once it is on the disk.
    await store.sync();
    // Pipes are synchronous on Linux: once write() returns the parent can read it.
    process.stdout.write(`${id}\n`);
    counter = id;
  }
}

async function hold(path: string): Promise<void> {
  const store = await SqliteStore.open(path);
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => { void store.close().then(() => process.exit(0)); });
}

async function burst(path: string, n: number): Promise<void> {
  const store = await SqliteStore.open(path);
  await Promise.all(Array.from({ length: n }, (_, i) => store.put(`burst/${i}`, String(i))));
  await store.sync();
  process.stdout.write('synced\n');
  process.exit(0);
}

const [mode, path, sync] = process.argv.slice(2);
if (import.meta.main) {
  if (mode === 'commit' && path && (sync === 'full' || sync === 'normal')) await commitLoop(path, sync);
  else if (mode === 'hold' && path) await hold(path);
  else if (mode === 'burst' && path && Number(sync) > 0) await burst(path, Number(sync));
  else {
    process.stderr.write('usage: store-crash-child.ts commit <path> <full|normal> | hold <path> | burst <path> <n>\n');
    process.exit(2);
  }
}
