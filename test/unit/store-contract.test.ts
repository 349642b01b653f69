// Runs the one Store contract against both embedded implementations.
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, SqliteStore } from '../../src/store/index.ts';
import { storeContract } from '../helpers/store-contract.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

storeContract('MemoryStore', async (options) => new MemoryStore(options));

storeContract('SqliteStore', async (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-store-'));
  dirs.push(dir);
  return SqliteStore.open(join(dir, 'store.db'), options);
});
