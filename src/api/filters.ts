// Docker's `filters` query parameter: {"key":["v1","v2"]} or the older
// {"key":{"v1":true}} form.
import { invalid } from '../model/errors.ts';

export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | null, allowed: string[]): Filters {
  const out: Filters = new Map();
  if (!raw) return out;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filters "${raw}": expected JSON like {"name":["value"]}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`invalid filters "${raw}": expected a JSON object`);
  for (const [k, val] of Object.entries(v)) {
    if (!allowed.includes(k)) throw invalid(`invalid filter '${k}'`);
    let list: string[];
    if (Array.isArray(val)) list = val.map(String);
    else if (val && typeof val === 'object') list = Object.entries(val).filter(([, on]) => on).map(([x]) => x);
    else throw invalid(`invalid filter '${k}': expected a list of values`);
    out.set(k, list);
  }
  return out;
}

export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === '1' || v === 'true' || v === 'True';
}
