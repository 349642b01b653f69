// The resolver's records: which names each sandbox can see, in memory.
//
// Docker's rules (libnetwork's sandbox resolver, aardvark-dns): names are
// per network and case-insensitive; an endpoint is known by its container
// name, hostname, network-scoped aliases and 12-char short id, each also as
// `<name>.<network>`; a sandbox sees the names of every network it is on and
// nothing of the others (PTR included). The resolver listens on the gateway
// addresses, so the only thing that tells sandboxes apart is the source IP of
// a query: client IP -> its endpoint -> its sandbox -> that sandbox's networks.
//
// Answers are cached per sandbox and name until the next change to the table;
// the daemon changes the table on connect/disconnect/rename, far less often
// than containers ask.
import { canonicalIp, ipFromReverseName, ipv4Bytes, ipv6Bytes } from './ip.ts';
import { encodeName } from './wire.ts';
import { DnsError } from './errors.ts';
import { QTYPE_A, QTYPE_AAAA, QTYPE_PTR } from './constants.ts';

export interface DnsEndpoint {
  endpointId: string;
  sandboxId: string;
  networkId: string;
  networkName: string;
  /** Container name first (PTR answers it), then hostname, aliases, short id. */
  names: string[];
  ipv4?: string;
  ipv6?: string;
  /** The network is --internal: its sandboxes get no upstream forwarding. */
  internal: boolean;
}

/** One record set as the wire wants it; `values` is its text form. */
export interface RecordSet {
  type: typeof QTYPE_A | typeof QTYPE_AAAA | typeof QTYPE_PTR;
  values: string[];
  rdata: Buffer[];
}

export type LookupResult =
  /** Records, rotated: the i-th answer is set.values[(start + i) % n]. */
  | { status: 'answer'; set: RecordSet; start: number }
  /** The name is ours but has no record of this type (NOERROR, no answers). */
  | { status: 'nodata' }
  /** Inside a zone that is ours (`x.<network>`) and no such name. */
  | { status: 'nxdomain' }
  /** Not a name of ours: forward upstream when `forward` (the sandbox is on a non-internal network). */
  | { status: 'not-ours'; forward: boolean; sandboxId: string }
  /** The source address is no endpoint we know: refuse (we are no open resolver). */
  | { status: 'unknown-client' };

const NODATA: LookupResult = { status: 'nodata' };
const NXDOMAIN: LookupResult = { status: 'nxdomain' };
const UNKNOWN_CLIENT: LookupResult = { status: 'unknown-client' };

/** Bound on cached names per sandbox (a safety net: only names in the table are cached). */
const MAX_CACHED_NAMES = 4096;

interface Endpoint extends DnsEndpoint { lowerNames: string[]; v4?: Buffer; v6?: Buffer; ptr: RecordSet }

interface Network { id: string; name: string; names: Map<string, Set<Endpoint>>; endpoints: Set<Endpoint>; internal: boolean }

interface NameEntry { a: RecordSet | null; aaaa: RecordSet | null; ptr: RecordSet | null; miss: LookupResult | null; rot: number }

interface Scope { sandboxId: string; networks: Network[]; notOurs: LookupResult; cache: Map<string, NameEntry> }

export class NameTable {
  readonly ttl: number;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly networks = new Map<string, Network>();
  private readonly sandboxes = new Map<string, Set<Endpoint>>();
  private readonly byIp = new Map<string, Endpoint[]>();
  private readonly scopes = new Map<string, Scope>();

  /**
   * @param ttl seconds. Docker answers with 600; containers come and go and
   * addresses get reused, so a stub resolver or application cache holding an
   * answer for 10 minutes sends traffic to a gone (or different) container.
   * The resolver is one hop away and answers from memory, so a short TTL
   * costs nothing: 5 s by default.
   */
  constructor(opts: { ttl?: number } = {}) {
    this.ttl = opts.ttl ?? 5;
  }

  addEndpoint(ep: DnsEndpoint): void {
    if (this.endpoints.has(ep.endpointId)) throw new DnsError({ code: 'DUPLICATE_ENDPOINT', endpointId: ep.endpointId });
    const lowerNames = [...new Set(ep.names.map(lowerName).filter((n) => n.length > 0))];
    for (const n of lowerNames) checkName(n);
    const ipv4 = ep.ipv4 ? canonicalIp(ep.ipv4) : undefined;
    const ipv6 = ep.ipv6 ? canonicalIp(ep.ipv6) : undefined;
    const ptrName = `${lowerNames[0] ?? ep.endpointId.slice(0, 12)}.${ep.networkName}`;
    const e: Endpoint = {
      ...ep, names: [...ep.names], ipv4, ipv6, lowerNames,
      v4: ipv4 ? ipv4Bytes(ipv4) : undefined, v6: ipv6 ? ipv6Bytes(ipv6) : undefined,
      ptr: { type: QTYPE_PTR, values: [ptrName], rdata: [encodeName(ptrName)] },
    };
    let net = this.networks.get(ep.networkId);
    if (!net) {
      net = { id: ep.networkId, name: lowerName(ep.networkName), names: new Map(), endpoints: new Set(), internal: ep.internal };
      this.networks.set(ep.networkId, net);
    }
    net.name = lowerName(ep.networkName);
    net.internal = ep.internal;
    net.endpoints.add(e);
    for (const n of lowerNames) {
      let set = net.names.get(n);
      if (!set) net.names.set(n, set = new Set());
      set.add(e);
    }
    let sb = this.sandboxes.get(ep.sandboxId);
    if (!sb) this.sandboxes.set(ep.sandboxId, sb = new Set());
    sb.add(e);
    for (const ip of [ipv4, ipv6]) if (ip) this.byIp.set(ip, [...(this.byIp.get(ip) ?? []), e]);
    this.endpoints.set(ep.endpointId, e);
    this.changed();
  }

  /** Returns false when the endpoint was not there (removal is idempotent). */
  removeEndpoint(endpointId: string): boolean {
    const e = this.endpoints.get(endpointId);
    if (!e) return false;
    this.endpoints.delete(endpointId);
    const net = this.networks.get(e.networkId);
    if (net) {
      net.endpoints.delete(e);
      for (const n of e.lowerNames) {
        const set = net.names.get(n);
        set?.delete(e);
        if (set?.size === 0) net.names.delete(n);
      }
      if (net.endpoints.size === 0) this.networks.delete(e.networkId);
    }
    const sb = this.sandboxes.get(e.sandboxId);
    sb?.delete(e);
    if (sb?.size === 0) this.sandboxes.delete(e.sandboxId);
    for (const ip of [e.ipv4, e.ipv6]) {
      if (!ip) continue;
      const left = (this.byIp.get(ip) ?? []).filter((x) => x !== e);
      if (left.length) this.byIp.set(ip, left); else this.byIp.delete(ip);
    }
    this.changed();
    return true;
  }

  /** Replaces an endpoint's record (rename, new aliases): remove + add. */
  updateEndpoint(ep: DnsEndpoint): void {
    this.removeEndpoint(ep.endpointId);
    this.addEndpoint(ep);
  }

  /** A network was renamed: its `<name>.<network>` names and PTR answers follow. */
  renameNetwork(networkId: string, networkName: string): void {
    for (const e of [...this.endpoints.values()]) {
      if (e.networkId === networkId) this.updateEndpoint({ ...e, networkName });
    }
  }

  get size(): number { return this.endpoints.size; }

  /** The sandbox an address belongs to, if any. */
  sandboxOf(clientIp: string): string | undefined {
    return this.byIp.get(clientIp)?.[0]?.sandboxId;
  }

  /**
   * Answers `qname` (any case, trailing dot optional) of type `qtype` (numeric)
   * for the sandbox that owns `clientIp` (any text form of the address).
   */
  lookup(clientIp: string, qname: string, qtype: number): LookupResult {
    let ip: string;
    try { ip = canonicalIp(clientIp); } catch { return UNKNOWN_CLIENT; }
    const scope = this.scopeOf(ip);
    if (!scope) return UNKNOWN_CLIENT;
    return this.lookupInScope(scope, lowerName(qname), qtype);
  }

  /**
   * The hot path's lookup(): `qname` already lowercase without a trailing dot
   * (the wire parser's form), `clientIp` canonical (as sockets report it).
   */
  lookupLower(clientIp: string, qname: string, qtype: number): LookupResult {
    const scope = this.scopeOf(clientIp);
    if (!scope) return UNKNOWN_CLIENT;
    return this.lookupInScope(scope, qname, qtype);
  }

  /**
   * lookupLower() for a listener that serves one sandbox only (inside its
   * namespace, 127.0.0.11): every query it gets is that sandbox's, whatever
   * its source address (127.0.0.1, or any of the sandbox's own).
   */
  lookupSandbox(sandboxId: string, qname: string, qtype: number): LookupResult {
    const scope = this.scopeOfSandbox(sandboxId);
    if (!scope) return UNKNOWN_CLIENT;
    return this.lookupInScope(scope, qname, qtype);
  }

  private lookupInScope(scope: Scope, name: string, qtype: number): LookupResult {
    let entry = scope.cache.get(name);
    if (!entry) {
      entry = this.resolve(scope, name);
      // Only names we hold are cached: what clients ask beyond them (any
      // name on the internet, random garbage) must not grow memory.
      if (entry.miss) return entry.miss;
      if (scope.cache.size >= MAX_CACHED_NAMES) scope.cache.clear();
      scope.cache.set(name, entry);
    }
    const set = qtype === QTYPE_A ? entry.a : qtype === QTYPE_AAAA ? entry.aaaa : qtype === QTYPE_PTR ? entry.ptr : null;
    if (!set) return NODATA;
    // Round robin, as Docker shuffles: each query starts one further along.
    const start = entry.rot;
    entry.rot = (start + 1) % set.rdata.length;
    return { status: 'answer', set, start };
  }

  private scopeOf(clientIp: string): Scope | undefined {
    const owner = this.byIp.get(clientIp)?.[0];
    return owner ? this.scopeOfSandbox(owner.sandboxId) : undefined;
  }

  /** The sandbox's scope, or undefined when it has no endpoint in the table. */
  private scopeOfSandbox(sandboxId: string): Scope | undefined {
    let scope = this.scopes.get(sandboxId);
    if (!scope) {
      const eps = this.sandboxes.get(sandboxId);
      if (!eps) return undefined;
      const networks = [...new Set([...eps].map((e) => this.networks.get(e.networkId)).filter((n) => n !== undefined))];
      // Docker forwards for a sandbox unless all its networks are internal.
      const forward = networks.some((n) => !n.internal);
      scope = { sandboxId, networks, notOurs: { status: 'not-ours', forward, sandboxId }, cache: new Map() };
      this.scopes.set(sandboxId, scope);
    }
    return scope;
  }

  private resolve(scope: Scope, name: string): NameEntry {
    const found = new Set<Endpoint>();
    let inOurZone = false;
    for (const net of scope.networks) {
      const direct = net.names.get(name);
      if (direct) for (const e of direct) found.add(e);
      if (name === net.name) inOurZone = true;
      else if (name.length > net.name.length + 1 && name.endsWith(net.name) && name[name.length - net.name.length - 1] === '.') {
        inOurZone = true;
        const scoped = net.names.get(name.slice(0, name.length - net.name.length - 1));
        if (scoped) for (const e of scoped) found.add(e);
      }
    }
    if (found.size > 0) {
      const eps = [...found];
      const v4 = eps.filter((e) => e.v4);
      const v6 = eps.filter((e) => e.v6);
      return {
        a: v4.length ? { type: QTYPE_A, values: v4.map((e) => e.ipv4 ?? ''), rdata: v4.map((e) => e.v4 ?? Buffer.alloc(4)) } : null,
        aaaa: v6.length ? { type: QTYPE_AAAA, values: v6.map((e) => e.ipv6 ?? ''), rdata: v6.map((e) => e.v6 ?? Buffer.alloc(16)) } : null,
        ptr: null, miss: null, rot: 0,
      };
    }
    const ip = ipFromReverseName(name);
    if (ip) {
      const visible = (this.byIp.get(ip) ?? []).find((e) => scope.networks.some((n) => n.id === e.networkId));
      if (visible) return { a: null, aaaa: null, ptr: visible.ptr, miss: null, rot: 0 };
    }
    return { a: null, aaaa: null, ptr: null, miss: inOurZone ? NXDOMAIN : scope.notOurs, rot: 0 };
  }

  private changed(): void {
    // Scopes and answers depend on every endpoint of a sandbox's networks:
    // drop them all; they are rebuilt lazily on the next query.
    this.scopes.clear();
  }
}

function lowerName(n: string): string {
  const l = n.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

function checkName(n: string): void {
  if (n.length > 253) throw new DnsError({ code: 'BAD_NAME', value: n, reason: 'longer than 253 characters' });
  if (n.split('.').some((l) => l.length === 0 || l.length > 63)) {
    throw new DnsError({ code: 'BAD_NAME', value: n, reason: 'each label must be 1 to 63 characters' });
  }
}

/** The answers of a result as text, in the order they go on the wire. */
export function answerValues(r: LookupResult): string[] {
  if (r.status !== 'answer') return [];
  const n = r.set.values.length;
  return Array.from({ length: n }, (_, i) => r.set.values[(r.start + i) % n] ?? '');
}
