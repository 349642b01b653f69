// How Go's fmt prints the values a template sees (%v): JSON-decoded data is
// maps, slices, strings, numbers, bools and nil. Go prints maps with sorted
// keys as map[k:v], slices as [a b], nil as <nil>.
// Deviation: docker first runs a template against its typed Go structs, which
// print as {v1 v2 ...}; we only have the JSON, so structs print as maps.

export const NO_VALUE = '<no value>';

/**
 * A value's own JSON encoding (Go's json.Marshaler). docker's list rows
 * marshal themselves with json.Marshal, which escapes <, > and & — unlike
 * the template's json function on plain data.
 */
export const MARSHAL_JSON: unique symbol = Symbol('MarshalJSON');

export interface JsonMarshaler { [MARSHAL_JSON](): string }

/** json.Marshal's HTML-safe escaping. */
export function goJsonMarshal(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function goNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  // Go's %v for float64 is %g with the shortest representation: 1e+06, 0.5.
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** %v of one value. `undefined` is a missing map key: Go prints "<no value>". */
export function goString(v: unknown): string {
  if (v === undefined) return NO_VALUE;
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map((x) => goString(x ?? null)).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${goString(o[k] ?? null)}`).join(' ')}]`;
  }
  return String(v);
}

/** Go's truth: false, 0, "", nil and empty slices and maps are false. */
export function goTruth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** strconv.Quote for the printable-ASCII-and-UTF-8 case. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A small fmt.Sprintf: verbs v s d q t x f %, flags "-" and width. */
export function goSprintf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-0]?)(\d*)(?:\.(\d+))?([vsdqtxf%])/g, (_m, flag: string, width: string, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'q': s = goQuote(typeof a === 'string' ? a : goString(a)); break;
      case 'd': s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${goString(a)})`; break;
      case 'x': s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(goString(a)).toString('hex'); break;
      case 'f': s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${goString(a)})`; break;
      case 't': s = typeof a === 'boolean' ? String(a) : `%!t(${goString(a)})`; break;
      default: s = goString(a ?? null);
    }
    const w = Number(width || 0);
    if (s.length < w) s = flag === '-' ? s.padEnd(w) : s.padStart(w, flag === '0' ? '0' : ' ');
    return s;
  });
}
