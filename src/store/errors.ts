// One error class for the store domain; the payload says what was wrong and
// names the offending value, so a message alone is enough to find the bug.

export type StoreErrorInfo =
  | { code: 'INVALID_KEY'; key: unknown; expected: string }
  | { code: 'INVALID_VALUE'; key: string; value: unknown; expected: string }
  | { code: 'INVALID_PREFIX'; prefix: unknown; expected: string }
  | { code: 'INVALID_REVISION'; revision: unknown; expected: string }
  | { code: 'INVALID_TXN'; field: string; value: unknown; expected: string }
  | { code: 'TXN_TOO_MANY_OPS'; field: string; count: number; max: number }
  | { code: 'TXN_DUPLICATE_KEY'; key: string }
  | { code: 'INVALID_LEASE'; lease: unknown; expected: string }
  | { code: 'INVALID_TTL'; ttl: unknown; expected: string }
  | { code: 'LEASE_NOT_FOUND'; lease: number }
  | { code: 'COMPACTED'; revision: number; compactedRevision: number }
  | { code: 'CLOSED' }
  | { code: 'LOCKED'; path: string }
  | { code: 'OPEN_FAILED'; path: string }
  | { code: 'IO'; op: string }
  /** a remote store (etcd) did not answer; `endpoints` names it as configured */
  | { code: 'UNAVAILABLE'; op: string; endpoints: string };

export type StoreErrorCode = StoreErrorInfo['code'];

const MAX_SHOWN = 60;

/** A short, unambiguous rendering of any value for an error message. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') {
    const s = JSON.stringify(v.length > MAX_SHOWN ? v.slice(0, MAX_SHOWN) : v);
    return v.length > MAX_SHOWN ? `${s}... (${v.length} chars)` : s;
  }
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') {
    let json: string | undefined;
    try { json = JSON.stringify(v); } catch { /* cyclic or BigInt inside */ }
    if (json === undefined) return Array.isArray(v) ? 'array' : 'object';
    return `${Array.isArray(v) ? 'array' : 'object'} ${json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN)}...` : json}`;
  }
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  return `${typeof v} ${String(v)}`;
}

function message(i: StoreErrorInfo): string {
  switch (i.code) {
    case 'INVALID_KEY': return `invalid store key ${describeValue(i.key)}: expected ${i.expected}`;
    case 'INVALID_VALUE': return `invalid value ${describeValue(i.value)} for store key ${describeValue(i.key)}: expected ${i.expected}`;
    case 'INVALID_PREFIX': return `invalid store prefix ${describeValue(i.prefix)}: expected ${i.expected}`;
    case 'INVALID_REVISION': return `invalid revision ${describeValue(i.revision)}: expected ${i.expected}`;
    case 'INVALID_TXN': return `invalid txn ${i.field} ${describeValue(i.value)}: expected ${i.expected}`;
    case 'TXN_TOO_MANY_OPS': return `txn ${i.field} has ${i.count} entries: at most ${i.max} allowed (etcd --max-txn-ops)`;
    case 'TXN_DUPLICATE_KEY': return `txn writes key ${describeValue(i.key)} more than once: etcd rejects a txn whose puts overlap another put or a delete`;
    case 'INVALID_LEASE': return `invalid lease ${describeValue(i.lease)}: expected ${i.expected}`;
    case 'INVALID_TTL': return `invalid lease TTL ${describeValue(i.ttl)}: expected ${i.expected}`;
    case 'LEASE_NOT_FOUND': return `lease ${i.lease} not found: it expired, was revoked, or was never granted`;
    case 'COMPACTED': return `revision ${i.revision} is compacted: history is kept only after revision ${i.compactedRevision}`;
    case 'CLOSED': return 'store is closed';
    case 'LOCKED': return `store ${i.path} is locked by another owner (is another cnm daemon using this data root?)`;
    case 'OPEN_FAILED': return `cannot open store ${i.path}`;
    case 'IO': return `store ${i.op} failed`;
    case 'UNAVAILABLE': return `cluster store ${i.endpoints} unreachable (${i.op})`;
  }
}

export class StoreError extends Error {
  readonly info: StoreErrorInfo;
  get code(): StoreErrorCode { return this.info.code; }
  constructor(info: StoreErrorInfo, options?: { cause?: unknown }) {
    const base = message(info);
    const cause = options?.cause;
    super(cause instanceof Error ? `${base}: ${cause.message}` : base, options);
    this.name = 'StoreError';
    this.info = info;
  }
}
