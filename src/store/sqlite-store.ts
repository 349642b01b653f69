// SqliteStore: the daemon's durable Store, one SQLite file under the data
// root, owned by one process at a time (see sqlite-backend.ts for why).
import { LocalStore } from './local-store.ts';
import type { LocalStoreOptions } from './local-store.ts';
import { SqliteBackend } from './sqlite-backend.ts';
import type { SqliteBackendOptions } from './sqlite-backend.ts';

export interface SqliteStoreOptions extends LocalStoreOptions, SqliteBackendOptions {}

export class SqliteStore extends LocalStore {
  readonly path: string;

  private constructor(path: string, backend: SqliteBackend, options: LocalStoreOptions) {
    super(backend, options);
    this.path = path;
  }

  /**
   * Opens or creates the store at `path`. Rejects with StoreError 'LOCKED'
   * if another process (or another SqliteStore in this one) has it open.
   */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    return new SqliteStore(path, SqliteBackend.open(path, options), options);
  }
}
