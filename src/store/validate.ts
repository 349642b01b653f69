// Input checks shared by every Store implementation, so a fake and the real
// store reject exactly the same calls. Limits follow etcd's defaults, so code
// tested against the embedded store does not fail later against etcd.
import { StoreError } from './errors.ts';
import type { Compare, Txn, TxnOp } from './types.ts';

/** Keys are paths like /cnm/networks/<id>; far longer is a bug, and it keeps index pages small. */
export const MAX_KEY_BYTES = 4096;
/** etcd's default --max-request-bytes is 1.5 MiB for a whole request; leave room for the rest. */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** etcd's default --max-txn-ops, per compare/success/failure list. */
export const MAX_TXN_OPS = 128;

const KEY_EXPECTED = `a non-empty well-formed string of at most ${MAX_KEY_BYTES} UTF-8 bytes`;

export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || !key.isWellFormed()
    || (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)) {
    throw new StoreError({ code: 'INVALID_KEY', key, expected: KEY_EXPECTED });
  }
  return key;
}

export function checkValue(key: string, value: unknown): string {
  if (typeof value !== 'string' || !value.isWellFormed()
    || (value.length * 3 > MAX_VALUE_BYTES && Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES)) {
    throw new StoreError({
      code: 'INVALID_VALUE', key, value,
      expected: `a well-formed string of at most ${MAX_VALUE_BYTES} UTF-8 bytes`,
    });
  }
  return value;
}

/** '' is a valid prefix (everything). */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !prefix.isWellFormed()) {
    throw new StoreError({ code: 'INVALID_PREFIX', prefix, expected: 'a well-formed string (may be empty)' });
  }
  return prefix;
}

export function checkRevision(revision: unknown): number {
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) {
    throw new StoreError({ code: 'INVALID_REVISION', revision, expected: 'a non-negative safe integer' });
  }
  return revision;
}

/** etcd's MaxLeaseTTL (9 000 000 000 s). */
export const MAX_LEASE_TTL = 9_000_000_000;

/** A lease id as a put names it: 0 = none. */
export function checkLease(lease: unknown): number {
  if (typeof lease !== 'number' || !Number.isSafeInteger(lease) || lease < 0) {
    throw new StoreError({ code: 'INVALID_LEASE', lease, expected: 'a lease id from grant() (a positive integer), or 0 for none' });
  }
  return lease;
}

export function checkTtl(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL) {
    throw new StoreError({ code: 'INVALID_TTL', ttl, expected: `whole seconds from 1 to ${MAX_LEASE_TTL}` });
  }
  return ttl;
}

function checkCompare(c: unknown, i: number): Compare {
  const field = `compare[${i}]`;
  if (typeof c !== 'object' || c === null) {
    throw new StoreError({ code: 'INVALID_TXN', field, value: c, expected: 'an object { key, modRevision } or { key, value }' });
  }
  const o = c as Record<string, unknown>;
  checkKey(o.key);
  const hasMod = 'modRevision' in o;
  const hasValue = 'value' in o;
  if (hasMod === hasValue) {
    throw new StoreError({ code: 'INVALID_TXN', field, value: c, expected: 'exactly one of modRevision or value' });
  }
  if (hasMod) checkRevision(o.modRevision);
  else if (o.value !== null) checkValue(o.key as string, o.value);
  return c as Compare;
}

function checkOps(ops: unknown, field: string): readonly TxnOp[] {
  if (!Array.isArray(ops)) throw new StoreError({ code: 'INVALID_TXN', field, value: ops, expected: 'an array of ops' });
  if (ops.length > MAX_TXN_OPS) throw new StoreError({ code: 'TXN_TOO_MANY_OPS', field, count: ops.length, max: MAX_TXN_OPS });
  const puts = new Set<string>();
  const deletes: Array<{ key: string; prefix: boolean }> = [];
  ops.forEach((op: unknown, i) => {
    const o = (typeof op === 'object' && op !== null ? op : {}) as Record<string, unknown>;
    switch (o.type) {
      case 'put': {
        const key = checkKey(o.key);
        checkValue(key, o.value);
        if (o.lease !== undefined) checkLease(o.lease);
        if (puts.has(key)) throw new StoreError({ code: 'TXN_DUPLICATE_KEY', key });
        puts.add(key);
        break;
      }
      case 'delete': deletes.push({ key: checkKey(o.key), prefix: false }); break;
      case 'deletePrefix': deletes.push({ key: checkPrefix(o.prefix), prefix: true }); break;
      default:
        throw new StoreError({ code: 'INVALID_TXN', field: `${field}[${i}]`, value: op, expected: "an op with type 'put', 'delete' or 'deletePrefix'" });
    }
  });
  // etcd (checkIntervals) rejects a put that overlaps another op's key range;
  // deletes may overlap each other.
  for (const d of deletes) {
    for (const k of puts) {
      if (d.prefix ? k.startsWith(d.key) : k === d.key) throw new StoreError({ code: 'TXN_DUPLICATE_KEY', key: k });
    }
  }
  return ops as TxnOp[];
}

export function checkTxn(t: unknown): Txn {
  if (typeof t !== 'object' || t === null) {
    throw new StoreError({ code: 'INVALID_TXN', field: 'txn', value: t, expected: 'an object { compare, success, failure? }' });
  }
  const o = t as Record<string, unknown>;
  if (!Array.isArray(o.compare)) throw new StoreError({ code: 'INVALID_TXN', field: 'compare', value: o.compare, expected: 'an array' });
  if (o.compare.length > MAX_TXN_OPS) throw new StoreError({ code: 'TXN_TOO_MANY_OPS', field: 'compare', count: o.compare.length, max: MAX_TXN_OPS });
  o.compare.forEach(checkCompare);
  checkOps(o.success, 'success');
  if (o.failure !== undefined) checkOps(o.failure, 'failure');
  return t as Txn;
}
