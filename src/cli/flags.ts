// Flag value helpers with docker's (pflag / docker opts) semantics.
import { InvalidArgumentError } from 'commander';
import type { FilterArg } from '../client/client.ts';

/** A repeatable flag (docker's ListOpts): every occurrence is one value. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** pflag's StringSlice: repeatable, and each occurrence may hold "a,b,c". */
export const collectCsv = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').filter((x) => x !== '')];

/** "k=v" strings to a map, as docker's ConvertKVStringsToMap ("k" alone maps to ""). */
export function kvMap(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of list) {
    const i = s.indexOf('=');
    out[i < 0 ? s : s.slice(0, i)] = i < 0 ? '' : s.slice(i + 1);
  }
  return out;
}

/** docker's ValidateLabel: the key must not be empty. */
export function collectLabel(v: string, prev: string[] = []): string[] {
  const key = (v.split('=')[0] ?? '').trim();
  if (!key) throw new InvalidArgumentError(`invalid label '${v}': empty name`);
  return [...prev, v];
}

/** -f/--filter key=value (docker's FilterOpt): keys are lower-cased, both sides trimmed. */
export function collectFilter(v: string, prev: FilterArg = {}): FilterArg {
  const i = v.indexOf('=');
  if (i < 0) throw new InvalidArgumentError('bad format of filter (expected name=value)');
  const key = v.slice(0, i).trim().toLowerCase();
  const val = v.slice(i + 1).trim();
  return { ...prev, [key]: [...(prev[key] ?? []), val] };
}

/** An integer flag (pflag's int): "-t 5", "--gw-priority=-1". */
export function parseIntFlag(v: string): number {
  if (!/^[-+]?\d+$/.test(v)) throw new InvalidArgumentError(`strconv.ParseInt: parsing "${v}": invalid syntax`);
  return Number(v);
}
