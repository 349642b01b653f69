// The functions a docker --format template can call: Go's text/template
// builtins plus the docker CLI's own (templates/templates.go: json, split,
// join, title, lower, upper, pad, truncate).
import { MARSHAL_JSON, goSprintf, goString, goTruth } from './go-fmt.ts';
import type { JsonMarshaler } from './go-fmt.ts';

export type TemplateFunc = (...args: unknown[]) => unknown;

const str = (v: unknown): string => (typeof v === 'string' ? v : goString(v ?? null));

function cmp(a: unknown, b: unknown, name: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`${name}: incompatible types for comparison`);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v)) {
      if (typeof k !== 'number' || !Number.isInteger(k)) throw new Error(`cannot index slice/array with type ${typeof k}`);
      if (k < 0 || k >= v.length) throw new Error(`error calling index: index out of range: ${k}`);
      v = v[k];
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (Object.hasOwn(o, String(k))) { v = o[String(k)]; continue; }
      // A missing key gives the map's zero value: "" for the string maps
      // (Options, Labels) of docker's typed structs, nil for the others.
      v = Object.values(o).every((x) => typeof x === 'string') ? '' : null;
    } else if (v === null || v === undefined) {
      throw new Error('error calling index: index of untyped nil');
    } else {
      throw new Error(`can't index item of type ${typeof v}`);
    }
  }
  return v;
}

const firstIndexOr = (i: number, last: number): number => (i >= 0 ? i : last);

function sprint(args: unknown[]): string {
  // fmt.Sprint adds spaces between operands when neither is a string.
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += str(a);
  });
  return out;
}

export const BUILTIN_FUNCS: Record<string, TemplateFunc> = {
  // Calls short-circuit in the executor (template.ts andOr); these serve the
  // rest. findIndex, not find: an empty nil argument is itself the answer.
  and: (...a) => a[firstIndexOr(a.findIndex((x) => !goTruth(x)), a.length - 1)],
  or: (...a) => a[firstIndexOr(a.findIndex((x) => goTruth(x)), a.length - 1)],
  not: (a) => !goTruth(a),
  len: (a) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    if (a && typeof a === 'object') return Object.keys(a).length;
    throw new Error(`error calling len: len of type ${a === null ? 'nil' : typeof a}`);
  },
  index,
  print: (...a) => sprint(a),
  println: (...a) => `${a.map(str).join(' ')}\n`,
  printf: (f, ...a) => goSprintf(str(f), a),
  eq: (a, ...b) => b.some((x) => x === a),
  ne: (a, b) => a !== b,
  lt: (a, b) => cmp(a, b, 'lt') < 0,
  le: (a, b) => cmp(a, b, 'le') <= 0,
  gt: (a, b) => cmp(a, b, 'gt') > 0,
  ge: (a, b) => cmp(a, b, 'ge') >= 0,
  // docker's own
  json: (v) => {
    if (v && typeof v === 'object' && MARSHAL_JSON in v) return (v as JsonMarshaler)[MARSHAL_JSON]();
    return JSON.stringify(v === undefined ? null : v);
  },
  split: (s, sep) => str(s).split(str(sep)),
  join: (list, sep) => (Array.isArray(list) ? list.map(str).join(str(sep)) : str(list)),
  title: (s) => str(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  lower: (s) => str(s).toLowerCase(),
  upper: (s) => str(s).toUpperCase(),
  pad: (s, left, right) => `${' '.repeat(Number(left) || 0)}${str(s)}${' '.repeat(Number(right) || 0)}`,
  truncate: (s, n) => [...str(s)].slice(0, Number(n)).join(''),
};

/**
 * Table headers are rendered by running the row template over a map of
 * header names, with docker's functions replaced by ones that return their
 * first argument (docker's templates.HeaderFunctions).
 */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  ...BUILTIN_FUNCS,
  ...Object.fromEntries(['json', 'split', 'join', 'title', 'lower', 'upper', 'pad', 'truncate'].map((n) => [n, (v: unknown) => str(v)])),
};
