// Desired objects vs the kernel's JSON listing of cnm's tables.
import { TABLE_NAME, TABLES, elementCanon } from './model.ts';
import type { BaseTables, Fragment, TableFamily } from './model.ts';
import type { Drift } from './types.ts';

/** What the kernel holds in one of cnm's tables. */
export interface TableListing {
  chains: Map<string, number>;      // chain -> rule count
  sets: Map<string, string[]>;      // set/map -> canonical elements
}

type Json = unknown;
const obj = (v: Json): Record<string, Json> => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, Json> : {});

/** Canonical text of one JSON expression, matching model.ts elementCanon. */
function canon(v: Json): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(canon).join(' . ');
  const o = obj(v);
  if ('concat' in o && Array.isArray(o.concat)) return o.concat.map(canon).join(' . ');
  if ('prefix' in o) { const p = obj(o.prefix); return `${canon(p.addr)}/${canon(p.len)}`; }
  if ('range' in o && Array.isArray(o.range)) return o.range.map(canon).join('-');
  if ('elem' in o) return canon(obj(o.elem).val);
  for (const verdict of ['jump', 'goto']) {
    if (verdict in o) return `${verdict} ${canon(obj(o[verdict]).target)}`;
  }
  for (const verdict of ['accept', 'drop', 'continue', 'return']) if (verdict in o) return verdict;
  return JSON.stringify(v);
}

export function parseListing(json: string): TableListing {
  const chains = new Map<string, number>();
  const sets = new Map<string, string[]>();
  const items = (JSON.parse(json) as { nftables?: Json[] }).nftables ?? [];
  for (const it of items) {
    const o = obj(it);
    if ('chain' in o) { const c = obj(o.chain); chains.set(String(c.name), chains.get(String(c.name)) ?? 0); }
    if ('rule' in o) { const r = obj(o.rule); chains.set(String(r.chain), (chains.get(String(r.chain)) ?? 0) + 1); }
    for (const kind of ['set', 'map']) {
      if (!(kind in o)) continue;
      const s = obj(o[kind]);
      const elems = Array.isArray(s.elem) ? s.elem : [];
      sets.set(String(s.name), elems.map((e) => {
        if (kind === 'map' && Array.isArray(e) && e.length === 2) return `${canon(e[0])} : ${canon(e[1])}`;
        return canon(e);
      }));
    }
  }
  return { chains, sets };
}

export function computeDrift(base: BaseTables, frag: Fragment, kernel: Map<TableFamily, TableListing | null>): Drift {
  const d: Drift = { ok: true, missingTables: [], missingChains: [], extraChains: [], changedChains: [], missingElements: [], extraElements: [] };
  for (const fam of TABLES) {
    const table = `${fam} ${TABLE_NAME}`;
    const k = kernel.get(fam) ?? null;
    if (!k) { d.missingTables.push(table); continue; }
    const want = new Map<string, number>();
    for (const c of [...base.chains, ...frag.chains]) if (c.family === fam) want.set(c.name, c.rules.length);
    for (const [name, n] of want) {
      const have = k.chains.get(name);
      if (have === undefined) d.missingChains.push(`${table} ${name}`);
      else if (have !== n) d.changedChains.push(`${table} ${name} (${have} rules, want ${n})`);
    }
    for (const name of k.chains.keys()) if (!want.has(name)) d.extraChains.push(`${table} ${name}`);
    for (const s of base.sets.filter((x) => x.family === fam)) {
      const haveList = k.sets.get(s.name);
      const wantEls = frag.elements.filter((e) => e.family === fam && e.set === s.name);
      if (haveList === undefined) {
        d.missingChains.push(`${table} set ${s.name}`);
        continue;
      }
      if (s.opaque) {
        // Raw-payload keys list as integers; compare counts only.
        if (haveList.length !== wantEls.length) d.changedChains.push(`${table} set ${s.name} (${haveList.length} elements, want ${wantEls.length})`);
        continue;
      }
      const have = new Set(haveList);
      const wantSet = new Set(wantEls.map(elementCanon));
      for (const w of wantSet) if (!have.has(w)) d.missingElements.push(`${table} ${s.name}: ${w}`);
      for (const h of have) if (!wantSet.has(h)) d.extraElements.push(`${table} ${s.name}: ${h}`);
    }
  }
  d.ok = [d.missingTables, d.missingChains, d.extraChains, d.changedChains, d.missingElements, d.extraElements].every((l) => l.length === 0);
  return d;
}
