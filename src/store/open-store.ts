// Chooses a Store implementation by name, for the daemon's composition root.
// An etcd store joins this table later.
import { MemoryStore } from './memory-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { SqliteStoreOptions } from './sqlite-store.ts';
import type { LocalStoreOptions } from './local-store.ts';
import type { Store } from './types.ts';

export type StoreConfig =
  | ({ kind: 'memory' } & LocalStoreOptions)
  | ({ kind: 'sqlite'; path: string } & SqliteStoreOptions);

export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'memory': return new MemoryStore(config);
    case 'sqlite': return SqliteStore.open(config.path, config);
  }
}
