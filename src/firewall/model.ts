// The nftables objects cnm wants, as data: chains with their rules and set
// elements. The builders (base-tables.ts, network-rules.ts,
// endpoint-rules.ts) produce these from the desired state; render.ts turns
// them into nft scripts; drift.ts compares them with the kernel's listing.

export type TableFamily = 'inet' | 'bridge';

/** cnm owns exactly these two tables and never touches any other. */
export const TABLE_NAME = 'cnm';
export const TABLES: readonly TableFamily[] = ['inet', 'bridge'];

export interface ChainDef {
  family: TableFamily;
  name: string;
  /** "type filter hook forward priority filter + 10; policy accept;" for base chains. */
  base?: string;
  rules: string[];
}

export interface SetDef {
  family: TableFamily;
  name: string;
  /** Body of the declaration: "type ifname : verdict;" */
  decl: string;
  /** Elements print as values drift cannot compare textually (raw payload keys). */
  opaque?: boolean;
}

/** One key part of a set element: interface names are quoted in scripts. */
export type Part = string | { ifname: string };

export interface ElementDef {
  family: TableFamily;
  set: string;
  key: Part[];
  /** Map value: "jump n-x-fwd-in", or parts like ["172.18.0.2", "80"]. */
  value?: Part[];
}

/** What one network or endpoint adds to the ruleset. */
export interface Fragment {
  chains: ChainDef[];
  elements: ElementDef[];
}

export interface BaseTables {
  sets: SetDef[];
  chains: ChainDef[];
}

function partText(p: Part): string {
  return typeof p === 'string' ? p : `"${p.ifname}"`;
}

function partCanon(p: Part): string {
  // nft lists a host-length prefix as a plain address.
  return typeof p === 'string' ? p.replace(/\/(32|128)$/, (m, len: string) => (p.includes(':') === (len === '128') ? '' : m)) : p.ifname;
}

/** The element as nft script text: `"br-x" : jump n-x-fwd-in`. */
export function elementText(e: ElementDef): string {
  const k = e.key.map(partText).join(' . ');
  return e.value ? `${k} : ${e.value.map(partText).join(' . ')}` : k;
}

/** The element as drift compares it (the form drift.ts derives from JSON). */
export function elementCanon(e: ElementDef): string {
  const k = e.key.map(partCanon).join(' . ');
  return e.value ? `${k} : ${e.value.map(partCanon).join(' . ')}` : k;
}

export function mergeFragments(frags: Fragment[]): Fragment {
  return { chains: frags.flatMap((f) => f.chains), elements: frags.flatMap((f) => f.elements) };
}
