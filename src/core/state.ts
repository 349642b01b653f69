// The controller's objects in memory, loaded from the store at start and
// written through on every change. The store is the source of truth; these
// maps are its cache (every read of the API is served from here).
import type { Store, TxnOp } from '../store/index.ts';
import { CnmError, notFound } from './errors.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord, SandboxRunConfig } from './model.ts';

const NET = 'networks/';
const EP = 'endpoints/';
const SBX = 'sandboxes/';

export const key = {
  network: (id: string): string => `${NET}${id}`,
  endpoint: (id: string): string => `${EP}${id}`,
  sandbox: (id: string): string => `${SBX}${id}`,
};

export type Change =
  | { put: NetworkRecord; kind: 'network' }
  | { put: EndpointRecord; kind: 'endpoint' }
  | { put: SandboxRecord; kind: 'sandbox' }
  | { del: string; kind: 'network' | 'endpoint' | 'sandbox' };

export class State {
  readonly networks = new Map<string, NetworkRecord>();
  readonly endpoints = new Map<string, EndpointRecord>();
  readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  async load(): Promise<void> {
    for (const kv of (await this.store.list(NET)).kvs) {
      const n = JSON.parse(kv.value) as NetworkRecord;
      this.networks.set(n.id, n);
    }
    for (const kv of (await this.store.list(EP)).kvs) {
      const e = JSON.parse(kv.value) as EndpointRecord;
      this.endpoints.set(e.id, e);
    }
    for (const kv of (await this.store.list(SBX)).kvs) {
      const s = withRunDefaults(JSON.parse(kv.value) as SandboxRecord);
      this.sandboxes.set(s.id, s);
    }
  }

  /** Writes the changes in one store transaction, then applies them here. */
  async commit(changes: Change[]): Promise<void> {
    const ops: TxnOp[] = changes.map((c) => {
      if ('put' in c) {
        const k = c.kind === 'network' ? key.network(c.put.id) : c.kind === 'endpoint' ? key.endpoint(c.put.id) : key.sandbox(c.put.id);
        return { type: 'put', key: k, value: JSON.stringify(c.put) };
      }
      const k = c.kind === 'network' ? key.network(c.del) : c.kind === 'endpoint' ? key.endpoint(c.del) : key.sandbox(c.del);
      return { type: 'delete', key: k };
    });
    const r = await this.store.txn({ compare: [], success: ops });
    if (!r.succeeded) throw new CnmError('INTERNAL', 'store transaction failed');
    for (const c of changes) {
      if ('put' in c) {
        if (c.kind === 'network') this.networks.set(c.put.id, structuredClone(c.put));
        else if (c.kind === 'endpoint') this.endpoints.set(c.put.id, structuredClone(c.put));
        else this.sandboxes.set(c.put.id, structuredClone(c.put));
      } else if (c.kind === 'network') this.networks.delete(c.del);
      else if (c.kind === 'endpoint') this.endpoints.delete(c.del);
      else this.sandboxes.delete(c.del);
    }
  }

  endpointsOf(sandboxId: string): EndpointRecord[] {
    return [...this.endpoints.values()].filter((e) => e.sandboxId === sandboxId).sort((a, b) => a.created - b.created);
  }

  endpointsOn(networkId: string): EndpointRecord[] {
    return [...this.endpoints.values()].filter((e) => e.networkId === networkId);
  }

  /** Docker's lookup order: full ID, exact name, then a unique ID prefix. */
  findNetwork(ref: string): NetworkRecord {
    const n = this.lookupNetwork(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  lookupNetwork(ref: string): NetworkRecord | undefined {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const all = [...this.networks.values()];
    const byName = all.filter((n) => n.name === ref);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) throw new CnmError('INVALID', `network ${ref} is ambiguous (${byName.length} matches found on name)`);
    const byPrefix = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length > 1) throw new CnmError('INVALID', `network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    return byPrefix[0];
  }

  findSandbox(ref: string): SandboxRecord {
    const s = this.lookupSandbox(ref);
    if (!s) throw notFound(`No such container: ${ref}`);
    return s;
  }

  lookupSandbox(ref: string): SandboxRecord | undefined {
    const byId = this.sandboxes.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const all = [...this.sandboxes.values()];
    const byName = all.find((s) => s.name === name);
    if (byName) return byName;
    const byPrefix = ref ? all.filter((s) => s.id.startsWith(ref)) : [];
    if (byPrefix.length > 1) throw new CnmError('INVALID', `multiple IDs found with provided prefix: ${ref}`);
    return byPrefix[0];
  }
}

/** What a sandbox runs with when its record predates these settings. */
export const DEFAULT_RUN: SandboxRunConfig = {
  workingDir: '', user: '', binds: [], memory: 0, nanoCpus: 0, pidsLimit: 0, privileged: false, init: true,
  restartPolicy: { name: 'no', maximumRetryCount: 0 },
  // Capped by default, unlike Docker's json-file (its "local" driver's figures).
  logMaxSize: 20 * 1024 * 1024, logMaxFile: 5,
};

function withRunDefaults(s: SandboxRecord): SandboxRecord {
  s.run = { ...DEFAULT_RUN, ...(s.run ?? {}) };
  s.monitorPid ??= 0;
  s.monitorStart ??= '';
  s.restartCount ??= 0;
  s.stoppedByUser ??= false;
  return s;
}
