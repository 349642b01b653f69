// The controller's objects in memory, loaded from the store at start and
// written through on every change. The store is the source of truth; these
// maps are its cache (every read of the API is served from here).
//
// The store may have other writers (later: other daemons on one etcd), so no
// write is blind. Beside each record State keeps the modRevision it last read
// or wrote, and every commit is one compare-and-swap txn: a create expects the
// key absent (modRevision 0), an update or delete expects the revision held.
// Names, subnets and addresses are claimed with create-if-absent keys in the
// same txn, so two writers can never both take one. Records handed out are
// the stored copies, deep-frozen: nothing can change memory behind the store.
//
// With a cluster store, State spans two stores: global-scope records (overlay
// networks, their endpoints, and the claims both hold) live in the global
// store (etcd, shared by every host), the rest in the local one (SQLite).
// A record's scope decides (a network's `scope`; an endpoint's network's),
// and its claims follow it. A commit touching both writes the global part
// first (only it can race with other writers: the local store has one), then
// the local part. docs/overlay.md "Global state".
import { MAX_TXN_OPS } from '../store/index.ts';
import type { Compare, KeyValue, Store, TxnOp, WatchEvent } from '../store/index.ts';
import { CnmError, notFound } from '../model/errors.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord, SandboxRunConfig, VolumeRecord } from '../model/records.ts';
import { legacyMounts } from './mount-parse.ts';

const NET = 'networks/';
const EP = 'endpoints/';
const SBX = 'sandboxes/';
const VOL = 'volumes/';
const CLAIMS = 'claims/';

export const key = {
  network: (id: string): string => `${NET}${id}`,
  endpoint: (id: string): string => `${EP}${id}`,
  sandbox: (id: string): string => `${SBX}${id}`,
  /** Volumes are known by name, as in Docker. */
  volume: (name: string): string => `${VOL}${name}`,
};

/** Create-if-absent keys; the value is the owner's id (see docs/store.md). */
export const claimKey = {
  networkName: (name: string): string => `${CLAIMS}network-name/${name}`,
  subnet: (cidr: string): string => `${CLAIMS}subnet/${cidr}`,
  address: (networkId: string, ip: string): string => `${CLAIMS}address/${networkId}/${ip}`,
  vni: (vni: string | number): string => `${CLAIMS}vni/${vni}`,
};

type Kind = 'network' | 'endpoint' | 'sandbox' | 'volume';

export type Change =
  | { put: NetworkRecord; kind: 'network' }
  | { put: EndpointRecord; kind: 'endpoint' }
  | { put: SandboxRecord; kind: 'sandbox' }
  | { put: VolumeRecord; kind: 'volume' }
  | { del: string; kind: Kind }
  /** Takes a claim key for owner; the commit fails with CONFLICT if another owner holds it. `global`: in the global store. */
  | { kind: 'claim'; key: string; owner: string; global?: boolean }
  /** Gives back a claim owner holds (nothing if it holds none). */
  | { kind: 'release'; key: string; owner: string; global?: boolean };

/** What commit() returns for one change: the stored (frozen) record of a put, null otherwise. */
export type Stored<C> = C extends { put: infer R } ? Readonly<R> : null;

type AnyRecord = NetworkRecord | EndpointRecord | SandboxRecord | VolumeRecord;

/** A record's key in its map and the store: a volume's name, the others' id. */
const idOf = (rec: AnyRecord): string => ('id' in rec ? rec.id : rec.name);

/**
 * The claims a record holds. Network records and endpoint records claim what
 * must be unique among every writer: a network's name and subnets, an
 * endpoint's addresses (per network). State derives them on every commit, so
 * a caller that puts or deletes a record takes or gives back its claims in
 * the same txn without naming them.
 */
export function claimsOf(kind: Kind, rec: AnyRecord): Map<string, string> {
  const out = new Map<string, string>();
  if (kind === 'network') {
    const n = rec as NetworkRecord;
    out.set(claimKey.networkName(n.name), n.id);
    for (const s of [n.ipv4?.subnet, n.ipv6?.subnet]) if (s) out.set(claimKey.subnet(s), n.id);
    // An overlay network's VXLAN id: one segment per VNI across the cluster.
    if (n.scope === 'global' && n.driverState.vni) out.set(claimKey.vni(n.driverState.vni), n.id);
  } else if (kind === 'endpoint') {
    const e = rec as EndpointRecord;
    for (const a of [e.ipv4, e.ipv6]) if (a) out.set(claimKey.address(e.networkId, a.split('/')[0] ?? a), e.id);
  }
  return out;
}

/** Whose record a claim key points at (null: not a record's), and what it claims, for messages and reloads. */
function describeClaim(k: string): { ownerKind: Kind | null; what: string } {
  const rest = k.slice(CLAIMS.length);
  if (rest.startsWith('network-name/')) return { ownerKind: 'network', what: `network name "${rest.slice('network-name/'.length)}"` };
  if (rest.startsWith('subnet/')) return { ownerKind: 'network', what: `subnet ${rest.slice('subnet/'.length)}` };
  if (rest.startsWith('vni/')) return { ownerKind: 'network', what: `VXLAN id ${rest.slice('vni/'.length)}` };
  const addr = /^address\/([^/]*)\/(.*)$/.exec(rest);
  if (addr) return { ownerKind: 'endpoint', what: `address ${addr[2]} on network ${(addr[1] ?? '').slice(0, 12)}` };
  return { ownerKind: null, what: `claim ${k}` };
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const KINDS: readonly Kind[] = ['network', 'endpoint', 'sandbox', 'volume'];
const PREFIX: Record<Kind, string> = { network: NET, endpoint: EP, sandbox: SBX, volume: VOL };

function kindOfKey(k: string): Kind | null {
  return KINDS.find((kind) => k.startsWith(PREFIX[kind])) ?? null;
}

/** A stored value as memory holds it: parsed, old records brought up to date, frozen. */
function revive(kind: Kind, value: string): AnyRecord {
  const rec = JSON.parse(value) as AnyRecord;
  if (kind === 'sandbox') withRunDefaults(rec as SandboxRecord);
  if (kind === 'endpoint') (rec as EndpointRecord).ports ??= [];
  if (kind === 'endpoint') withJoinDefaults(rec as LegacyEndpoint);
  return deepFreeze(rec);
}

interface Held { owner: string; rev: number }

/** An endpoint stored before the driver API (bridge only): hostIfName at the top. */
type LegacyEndpoint = EndpointRecord & { hostIfName?: string };

function withJoinDefaults(ep: LegacyEndpoint): void {
  if (!ep.driverState) {
    ep.driverState = ep.hostIfName ? { hostIfName: ep.hostIfName } : {};
    delete ep.hostIfName;
  }
  ep.driverOpts ??= {};
  ep.routes ??= [];
}

/**
 * What join would have said for an endpoint stored before the driver API:
 * every such endpoint is a bridge's, whose gateway is the network's (none on
 * an internal network) and whose DNS is the embedded one on user-defined
 * networks.
 */
export function legacyJoin(ep: EndpointRecord, net: NetworkRecord): EndpointRecord {
  if (ep.gateway) return ep;
  return {
    ...ep,
    gateway: { ipv4: net.internal ? null : net.ipv4?.gateway ?? null, ipv6: net.internal ? null : net.ipv6?.gateway ?? null },
    dns: !net.predefined,
  };
}

/** The global store, as State uses it. */
export interface GlobalStore {
  store: Store;
  /** The lease global endpoint records (and their address claims) are put with: they die with their host. */
  lease(): number;
}

/** One store's half of a commit. */
interface Group { compare: Compare[]; success: TxnOp[]; keys: string[] }

/**
 * The endpoints by id, also indexed by sandbox and by network: a connect
 * asks for a sandbox's endpoints several times, and a walk over every
 * endpoint made it slower with each one (10,000 endpoints: ~0.5 ms a walk).
 */
export class EndpointMap extends Map<string, EndpointRecord> {
  readonly #bySandbox = new Map<string, Set<string>>();
  readonly #byNetwork = new Map<string, Set<string>>();

  override set(id: string, ep: EndpointRecord): this {
    const old = this.get(id);
    if (old) this.#unindex(id, old);
    super.set(id, ep);
    add(this.#bySandbox, ep.sandboxId, id);
    add(this.#byNetwork, ep.networkId, id);
    return this;
  }

  override delete(id: string): boolean {
    const old = this.get(id);
    if (old) this.#unindex(id, old);
    return super.delete(id);
  }

  override clear(): void {
    this.#bySandbox.clear();
    this.#byNetwork.clear();
    super.clear();
  }

  ofSandbox(sandboxId: string): EndpointRecord[] { return this.#pick(this.#bySandbox.get(sandboxId)); }
  onNetwork(networkId: string): EndpointRecord[] { return this.#pick(this.#byNetwork.get(networkId)); }

  #pick(ids: Set<string> | undefined): EndpointRecord[] {
    return ids ? [...ids].map((id) => this.get(id)).filter((e): e is EndpointRecord => !!e) : [];
  }

  #unindex(id: string, ep: EndpointRecord): void {
    drop(this.#bySandbox, ep.sandboxId, id);
    drop(this.#byNetwork, ep.networkId, id);
  }
}

function add(index: Map<string, Set<string>>, key: string, id: string): void {
  let ids = index.get(key);
  if (!ids) index.set(key, ids = new Set());
  ids.add(id);
}

function drop(index: Map<string, Set<string>>, key: string, id: string): void {
  const ids = index.get(key);
  if (!ids) return;
  ids.delete(id);
  if (ids.size === 0) index.delete(key);
}

export class State {
  readonly networks = new Map<string, NetworkRecord>();
  readonly endpoints = new EndpointMap();
  readonly sandboxes = new Map<string, SandboxRecord>();
  /** By name. */
  readonly volumes = new Map<string, VolumeRecord>();
  private readonly store: Store;
  private readonly global: GlobalStore | null;
  /** store key of each record in memory -> the modRevision it was read or written at */
  private readonly revs = new Map<string, number>();
  /** claim key -> its owner and modRevision, as last read or written */
  private readonly claims = new Map<string, Held>();
  /** keys (records and claims) that live in the global store */
  private readonly globalKeys = new Set<string>();

  constructor(store: Store, global?: GlobalStore) {
    this.store = store;
    this.global = global ?? null;
  }

  /** Whether a record lives in the global store: global networks and their endpoints. */
  isGlobal(kind: Kind, rec: AnyRecord | undefined): boolean {
    if (!this.global || !rec) return false;
    if (kind === 'network') return (rec as NetworkRecord).scope === 'global';
    if (kind === 'endpoint') return this.networks.get((rec as EndpointRecord).networkId)?.scope === 'global';
    return false;
  }

  private storeOf(k: string): Store {
    return this.global && this.globalKeys.has(k) ? this.global.store : this.store;
  }

  /**
   * Reads every record and claim at one revision. Records written before
   * claims existed get their missing claims here, in one txn per
   * MAX_TXN_OPS claims (etcd's limit); each is create-if-absent, so a
   * restart halfway simply writes the rest.
   */
  async load(): Promise<void> {
    const { kvs } = await this.store.list('');
    for (const kv of kvs) this.remember(kv.key, kv);
    if (this.global) await this.loadGlobal().catch(() => undefined);
    for (const [id, ep] of this.endpoints) {
      const net = this.networks.get(ep.networkId);
      if (net && !ep.gateway) this.endpoints.set(id, deepFreeze(legacyJoin(ep, net)));
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const missing = this.missingClaims();
      if (missing.length === 0) return;
      for (let i = 0; i < missing.length; i += MAX_TXN_OPS) {
        const chunk = missing.slice(i, i + MAX_TXN_OPS);
        const r = await this.store.txn({
          compare: chunk.map(([k]) => ({ key: k, modRevision: this.claims.get(k)?.rev ?? 0 })),
          success: chunk.map(([k, owner]) => ({ type: 'put', key: k, value: owner })),
        });
        if (r.succeeded) for (const [k, owner] of chunk) this.claims.set(k, { owner, rev: r.revision });
        else await this.reload(chunk.map(([k]) => k));
      }
    }
  }

  /**
   * Replaces every global record and claim in memory with what the global
   * store holds now (a full resync); returns the revision it read at, from
   * which a watch continues without gap.
   */
  async loadGlobal(): Promise<number> {
    if (!this.global) return 0;
    const { kvs, revision } = await this.global.store.list('');
    const seen = new Set<string>();
    for (const kv of kvs) {
      if (!kv.key.startsWith(CLAIMS) && !kindOfKey(kv.key)) continue;
      seen.add(kv.key);
      this.globalKeys.add(kv.key);
      this.remember(kv.key, kv);
    }
    for (const k of [...this.globalKeys]) {
      if (seen.has(k)) continue;
      this.remember(k, null);
      this.globalKeys.delete(k);
    }
    return revision;
  }

  /**
   * Applies one change another writer made in the global store (from a
   * watch). A change older than what memory holds is skipped: this daemon's
   * own commit may have been read back already.
   */
  applyGlobal(ev: WatchEvent): boolean {
    if (!this.global || (!ev.key.startsWith(CLAIMS) && !kindOfKey(ev.key))) return false;
    const held = ev.key.startsWith(CLAIMS) ? this.claims.get(ev.key)?.rev : this.revs.get(ev.key);
    if (held !== undefined && held >= ev.revision) return false;
    if (ev.type === 'put' && ev.value !== null) {
      this.globalKeys.add(ev.key);
      this.remember(ev.key, { key: ev.key, value: ev.value, createRevision: 0, modRevision: ev.revision, lease: 0 });
    } else {
      this.remember(ev.key, null);
      this.globalKeys.delete(ev.key);
    }
    return true;
  }

  /**
   * Claims every record needs and does not hold: absent ones, and stale ones
   * whose owner record no longer exists. A claim held by another live record
   * (two records with one name, from before claims) is left as it is.
   * Global records always had claims: only local ones are repaired.
   */
  private missingClaims(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const kind of ['network', 'endpoint'] as const) {
      for (const rec of this.mapOf(kind).values()) {
        if (this.isGlobal(kind, rec)) continue;
        for (const [k, owner] of claimsOf(kind, rec)) {
          const held = this.claims.get(k);
          const ownerKind = describeClaim(k).ownerKind ?? kind;
          if (held && (held.owner === owner || this.mapOf(ownerKind).has(held.owner))) continue;
          out.push([k, owner]);
        }
      }
    }
    return out;
  }

  /**
   * Writes the changes in one compare-and-swap txn per store (global part
   * first), then applies them here. Returns, for each change, the stored
   * record (deep-frozen) or null. If another writer changed a record or
   * holds a claim, throws CONFLICT naming it, after reloading every key of
   * the txn: memory matches the store.
   */
  async commit<const C extends readonly Change[]>(changes: C): Promise<{ -readonly [I in keyof C]: Stored<C[I]> }> {
    const groups = { local: { compare: [], success: [], keys: [] } as Group, global: { compare: [], success: [], keys: [] } as Group };
    const puts: Array<{ kind: Kind; k: string; value: string; global: boolean }> = [];
    const dels: string[] = [];
    const claimOps = new Map<string, { take?: string; give?: string; global: boolean }>();
    const want = (k: string, op: 'take' | 'give', owner: string, global: boolean): void => {
      claimOps.set(k, { ...claimOps.get(k), [op]: owner, global });
    };
    // An endpoint's scope is its network's: a network put in this same commit counts.
    const pending = new Map<string, NetworkRecord>();
    for (const c of changes) if (c.kind === 'network' && 'put' in c) pending.set(c.put.id, c.put);
    const globalRec = (kind: Kind, rec: AnyRecord | undefined): boolean => {
      if (kind === 'endpoint' && rec && this.global) {
        const n = pending.get((rec as EndpointRecord).networkId);
        if (n) return n.scope === 'global';
      }
      return this.isGlobal(kind, rec);
    };
    const lease = (kind: Kind, global: boolean): number | undefined => (global && kind === 'endpoint' ? this.global?.lease() || undefined : undefined);
    const leases = new Map<string, number>();
    for (const c of changes) {
      if (c.kind === 'claim' || c.kind === 'release') {
        want(c.key, c.kind === 'claim' ? 'take' : 'give', c.owner, !!c.global && !!this.global);
        continue;
      }
      const id = 'put' in c ? idOf(c.put) : c.del;
      const k = key[c.kind](id);
      const old = this.mapOf(c.kind).get(id);
      const global = globalRec(c.kind, 'put' in c ? c.put : old);
      const g = global ? groups.global : groups.local;
      const before = old ? claimsOf(c.kind, old) : new Map<string, string>();
      const after = 'put' in c ? claimsOf(c.kind, c.put) : new Map<string, string>();
      const l = lease(c.kind, global);
      for (const [ck, owner] of before) if (after.get(ck) !== owner) want(ck, 'give', owner, global);
      for (const [ck, owner] of after) {
        if (before.get(ck) !== owner) want(ck, 'take', owner, global);
        if (l) leases.set(ck, l);
      }
      g.compare.push({ key: k, modRevision: this.revs.get(k) ?? 0 });
      g.keys.push(k);
      if ('put' in c) {
        const value = JSON.stringify(c.put);
        puts.push({ kind: c.kind, k, value, global });
        g.success.push({ type: 'put', key: k, value, ...(l ? { lease: l } : {}) });
      } else {
        dels.push(k);
        g.success.push({ type: 'delete', key: k });
      }
    }
    const taken: Array<[string, string, boolean]> = [];
    const given: string[] = [];
    for (const [k, { take, give, global }] of claimOps) {
      const held = this.claims.get(k);
      const g = global ? groups.global : groups.local;
      if (take !== undefined) {
        if (held?.owner === take) continue;
        // Taking over a claim given back in this same txn is one put (etcd refuses a put and a delete of one key).
        g.compare.push({ key: k, modRevision: held && held.owner === give ? held.rev : 0 });
        const l = leases.get(k);
        g.success.push({ type: 'put', key: k, value: take, ...(l ? { lease: l } : {}) });
        g.keys.push(k);
        taken.push([k, take, global]);
      } else if (held && held.owner === give) {
        g.compare.push({ key: k, modRevision: held.rev });
        g.success.push({ type: 'delete', key: k });
        g.keys.push(k);
        given.push(k);
      }
    }
    const rev = { local: 0, global: 0 };
    if (groups.global.success.length && this.global) {
      const g = groups.global;
      const r = await this.global.store.txn({ compare: g.compare, success: g.success });
      // etcd's client retries a txn whose answer was lost (a leader change):
      // the first try may have been applied, and the retry then fails its
      // compares against this txn's own writes.
      const own = r.succeeded ? 0 : await this.appliedAlready(this.global.store, g.success);
      if (!r.succeeded && !own) throw await this.conflict(g.compare, true);
      rev.global = r.succeeded ? r.revision : own;
    }
    if (groups.local.success.length || !groups.global.success.length) {
      const r = await this.store.txn({ compare: groups.local.compare, success: groups.local.success });
      if (!r.succeeded) throw await this.conflict(groups.local.compare, false);
      rev.local = r.revision;
    }
    const stored = new Map<string, AnyRecord>();
    for (const p of puts) {
      const rec = revive(p.kind, p.value);
      stored.set(p.k, rec);
      this.mapOf(p.kind).set(idOf(rec), rec);
      this.revs.set(p.k, p.global ? rev.global : rev.local);
      if (p.global) this.globalKeys.add(p.k);
    }
    for (const k of dels) {
      this.forget(k);
      this.globalKeys.delete(k);
    }
    for (const [k, owner, global] of taken) {
      this.claims.set(k, { owner, rev: global ? rev.global : rev.local });
      if (global) this.globalKeys.add(k);
    }
    for (const k of given) {
      this.claims.delete(k);
      this.globalKeys.delete(k);
    }
    return changes.map((c) => ('put' in c ? stored.get(key[c.kind](idOf(c.put))) ?? null : null)) as never;
  }

  /**
   * The revision at which `ops` were all applied together, or 0: every put
   * key holds its value, all at one revision, and every deleted key is
   * gone. Values carry ids no other writer has, so only this txn can have
   * written them.
   */
  private async appliedAlready(store: Store, ops: readonly TxnOp[]): Promise<number> {
    let at = 0;
    for (const op of ops) {
      if (op.type === 'deletePrefix') return 0;
      const kv = await store.get(op.key);
      if (op.type === 'delete') {
        if (kv) return 0;
        continue;
      }
      if (!kv || kv.value !== op.value || (at && kv.modRevision !== at)) return 0;
      at = kv.modRevision;
    }
    // Deletes only: the keys are gone, which is all this txn was for.
    return at || (ops.length ? 1 : 0);
  }

  /** Re-reads every compared key, and says which compares no longer hold and why. */
  private async conflict(compare: readonly Compare[], global: boolean): Promise<CnmError> {
    const store = global && this.global ? this.global.store : this.store;
    const now = await Promise.all(compare.map((c) => store.get(c.key)));
    const why: string[] = [];
    compare.forEach((c, i) => {
      const kv = now[i] ?? null;
      const expected = 'modRevision' in c ? c.modRevision : 0;
      const found = kv?.modRevision ?? 0;
      if (found === expected) return;
      const kind = kindOfKey(c.key);
      if (kind) {
        const what = `${kind} ${c.key.slice(PREFIX[kind].length)}`;
        if (expected === 0) why.push(`${what} already exists in the store`);
        else if (!kv) why.push(`${what} was removed by another writer`);
        else why.push(`${what} was changed by another writer (read at revision ${expected}, now ${found})`);
      } else if (c.key.startsWith(CLAIMS)) {
        const { ownerKind, what } = describeClaim(c.key);
        why.push(kv ? `${what} is already taken by ${ownerKind ?? 'owner'} ${kv.value}` : `the claim on ${what} was given up by another writer`);
      }
    });
    if (global) for (const c of compare) this.globalKeys.add(c.key);
    await this.reload(compare.map((c) => c.key));
    const detail = why.length ? why.join('; ') : 'the store changed during the write';
    const where = global ? 'the cluster store' : 'the store';
    return new CnmError('CONFLICT', `conflict with another writer of ${where}: ${detail}; reloaded it, try again`);
  }

  /** Makes memory match the store for these keys, and loads the owner record of each claim. */
  private async reload(keys: readonly string[]): Promise<void> {
    const owners: Array<[string, boolean]> = [];
    for (const k of keys) {
      const global = this.globalKeys.has(k);
      const kv = await this.storeOf(k).get(k);
      this.remember(k, kv);
      if (!kv) this.globalKeys.delete(k);
      const ownerKind = k.startsWith(CLAIMS) ? describeClaim(k).ownerKind : null;
      if (kv && ownerKind) owners.push([key[ownerKind](kv.value), global]);
    }
    for (const [k, global] of owners) {
      if (this.revs.has(k)) continue;
      if (global) this.globalKeys.add(k);
      const kv = await this.storeOf(k).get(k);
      this.remember(k, kv);
      if (!kv) this.globalKeys.delete(k);
    }
  }

  /** Takes one key as read from the store (null = absent) into memory. */
  private remember(k: string, kv: KeyValue | null): void {
    if (k.startsWith(CLAIMS)) {
      if (kv) this.claims.set(k, { owner: kv.value, rev: kv.modRevision });
      else this.claims.delete(k);
      return;
    }
    const kind = kindOfKey(k);
    if (!kind) return;
    if (!kv) {
      this.forget(k);
      return;
    }
    const rec = revive(kind, kv.value);
    this.mapOf(kind).set(idOf(rec), rec);
    this.revs.set(k, kv.modRevision);
  }

  private forget(k: string): void {
    const kind = kindOfKey(k);
    if (kind) this.mapOf(kind).delete(k.slice(PREFIX[kind].length));
    this.revs.delete(k);
  }

  private mapOf(kind: Kind): Map<string, AnyRecord> {
    const maps = { network: this.networks, endpoint: this.endpoints, sandbox: this.sandboxes, volume: this.volumes };
    return maps[kind] as Map<string, AnyRecord>;
  }

  /** Global claims held now under a claim prefix (e.g. 'claims/vni/'): key -> owner. */
  globalClaims(prefix: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, h] of this.claims) if (k.startsWith(prefix) && this.globalKeys.has(k)) out.set(k, h.owner);
    return out;
  }

  endpointsOf(sandboxId: string): EndpointRecord[] {
    return this.endpoints.ofSandbox(sandboxId).sort((a, b) => a.created - b.created);
  }

  endpointsOn(networkId: string): EndpointRecord[] {
    return this.endpoints.onNetwork(networkId);
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
  workingDir: '', user: '', binds: [], mountSpecs: [], volumes: [], tmpfs: {}, mounts: [], memory: 0, nanoCpus: 0, pidsLimit: 0, privileged: false, init: true,
  restartPolicy: { name: 'no', maximumRetryCount: 0 },
  // Capped by default, unlike Docker's json-file (its "local" driver's figures).
  logMaxSize: 20 * 1024 * 1024, logMaxFile: 5,
  tty: false, openStdin: false, stdinOnce: false, attachStdin: false, attachStdout: false, attachStderr: false, consoleSize: [0, 0],
};

function withRunDefaults(s: SandboxRecord): SandboxRecord {
  // A copy: the record is frozen next, DEFAULT_RUN must stay as it is.
  s.run = { ...structuredClone(DEFAULT_RUN), ...(s.run ?? {}) };
  // Stored before mounts were resolved at create: its binds were host paths only.
  if (!(s.run as Partial<SandboxRunConfig>).mounts?.length && s.run.binds.length) s.run.mounts = legacyMounts(s.run.binds);
  s.monitorPid ??= 0;
  s.monitorStart ??= '';
  s.restartCount ??= 0;
  s.stoppedByUser ??= false;
  return s;
}
