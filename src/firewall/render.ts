// Fragments and base tables -> nft script text. Each script is applied as one
// nft transaction (one netlink batch): it fully applies or not at all.
import { TABLE_NAME, TABLES, elementText } from './model.ts';
import type { BaseTables, ChainDef, ElementDef, Fragment, TableFamily } from './model.ts';

const T = (f: TableFamily): string => `${f} ${TABLE_NAME}`;

function groupElements(els: ElementDef[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const e of els) {
    const k = `${T(e.family)} ${e.set}`;
    const l = m.get(k) ?? [];
    l.push(elementText(e));
    m.set(k, l);
  }
  return m;
}

function elementLines(verb: 'add' | 'delete', els: ElementDef[]): string[] {
  return [...groupElements(els)].map(([target, items]) => `${verb} element ${target} { ${items.join(', ')} }`);
}

function chainBlock(c: ChainDef): string {
  const lines = c.base ? [`\t\t${c.base}`] : [];
  for (const r of c.rules) lines.push(`\t\t${r}`);
  return `\tchain ${c.name} {\n${lines.join('\n')}\n\t}`;
}

/**
 * The whole ruleset: drops cnm's tables (creating them first so the delete
 * cannot fail) and rebuilds them, all in one transaction, so there is no
 * moment without rules. Other tables are never named.
 */
/** `comment` tags the tables with the daemon that wrote them (nft >= 0.9.7). */
export function fullScript(base: BaseTables, frag: Fragment, comment = ''): string {
  const out: string[] = [];
  for (const f of TABLES) out.push(`add table ${T(f)}`, `delete table ${T(f)}`);
  for (const f of TABLES) {
    const body: string[] = [];
    if (comment) body.push(`\tcomment ${JSON.stringify(comment)}`);
    for (const s of base.sets.filter((x) => x.family === f)) {
      const kind = s.decl.includes(' : ') ? 'map' : 'set';
      body.push(`\t${kind} ${s.name} {\n\t\t${s.decl}\n\t}`);
    }
    for (const c of [...base.chains, ...frag.chains].filter((x) => x.family === f)) body.push(chainBlock(c));
    out.push(`table ${T(f)} {\n${body.join('\n')}\n}`);
  }
  out.push(...elementLines('add', frag.elements));
  return out.join('\n') + '\n';
}

/** Adds chains (emptied first, so a retry does not double rules) and elements. */
export function addScript(frag: Fragment): string {
  const out: string[] = [];
  for (const c of frag.chains) {
    out.push(`add chain ${T(c.family)} ${c.name}`, `flush chain ${T(c.family)} ${c.name}`);
    for (const r of c.rules) out.push(`add rule ${T(c.family)} ${c.name} ${r}`);
  }
  out.push(...elementLines('add', frag.elements));
  return out.join('\n') + '\n';
}

/** Removes elements first (they jump to the chains), then the chains. */
export function removeScript(frag: Fragment): string {
  const out = elementLines('delete', frag.elements);
  for (const c of frag.chains) out.push(`flush chain ${T(c.family)} ${c.name}`, `delete chain ${T(c.family)} ${c.name}`);
  return out.join('\n') + '\n';
}
