// MemoryStore: the Store for unit tests and fakes. Same rules as SqliteStore
// (both are LocalStore), nothing on disk.
import { LocalStore } from './local-store.ts';
import type { LocalStoreOptions } from './local-store.ts';
import { MemoryBackend } from './memory-backend.ts';

export class MemoryStore extends LocalStore {
  constructor(options: LocalStoreOptions = {}) {
    super(new MemoryBackend(), options);
  }
}
