// Executes parsed --format templates over JSON data, as Go's text/template
// does over the decoded maps docker falls back to.
import { goString, goTruth } from './go-fmt.ts';
import { TemplateError } from './template-error.ts';
import { BUILTIN_FUNCS, HEADER_FUNCS } from './template-funcs.ts';
import type { TemplateFunc } from './template-funcs.ts';
import { parseTemplate } from './template-parse.ts';
import type { BlockNode, Command, Operand, Pipe, TemplateNode } from './template-parse.ts';

export interface Template {
  readonly source: string;
  /** Renders one value; throws TemplateError (code EXEC), except for headers, which keep partial output. */
  execute(data: unknown, opts?: { header?: boolean }): string;
}

interface Scope { vars: { name: string; value: unknown }[]; funcs: Record<string, TemplateFunc> }

class Exec {
  private readonly scope: Scope;
  private out = '';

  constructor(scope: Scope) {
    this.scope = scope;
  }

  run(nodes: TemplateNode[], dot: unknown): string {
    this.walk(nodes, dot);
    return this.out;
  }

  /** What was written before an error (docker keeps a table header's partial output). */
  partial(): string {
    return this.out;
  }

  private walk(nodes: TemplateNode[], dot: unknown): void {
    for (const n of nodes) {
      switch (n.kind) {
        case 'text': this.out += n.text; break;
        case 'action': {
          const v = this.pipe(n.pipe, dot, n.src);
          if (!n.pipe.decl.length) this.out += goString(v);
          break;
        }
        case 'if': case 'with': this.branch(n, dot); break;
        case 'range': this.range(n, dot); break;
      }
    }
  }

  private withMark(fn: () => void): void {
    const mark = this.scope.vars.length;
    try { fn(); } finally { this.scope.vars.length = mark; }
  }

  private branch(n: BlockNode, dot: unknown): void {
    this.withMark(() => {
      const v = this.pipe(n.pipe, dot, n.src);
      if (goTruth(v)) this.walk(n.list, n.kind === 'with' ? v : dot);
      else if (n.elseList) this.walk(n.elseList, dot);
    });
  }

  private range(n: BlockNode, dot: unknown): void {
    this.withMark(() => {
      const decl = n.pipe.decl;
      const v = this.pipe({ ...n.pipe, decl: [] }, dot, n.src);
      let entries: [unknown, unknown][];
      if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
      else if (v && typeof v === 'object') {
        // Go ranges over a map in sorted key order.
        const o = v as Record<string, unknown>;
        entries = Object.keys(o).sort().map((k) => [k, o[k]]);
      } else if (v === null || v === undefined) entries = [];
      else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
      else throw new TemplateError({ code: 'EXEC', at: n.src, reason: `range can't iterate over ${goString(v)}` });
      if (!entries.length) {
        if (n.elseList) this.walk(n.elseList, dot);
        return;
      }
      for (const [k, x] of entries) {
        this.withMark(() => {
          if (decl.length === 1) this.scope.vars.push({ name: decl[0] ?? '', value: x });
          if (decl.length === 2) this.scope.vars.push({ name: decl[0] ?? '', value: k }, { name: decl[1] ?? '', value: x });
          this.walk(n.list, x);
        });
      }
    });
  }

  private pipe(p: Pipe, dot: unknown, src: string): unknown {
    let v: unknown = undefined;
    let first = true;
    for (const c of p.cmds) {
      v = this.command(c, dot, first ? [] : [v]);
      first = false;
    }
    if (p.decl.length) {
      const name = p.decl[0] ?? '';
      if (p.assign) {
        const slot = [...this.scope.vars].reverse().find((x) => x.name === name);
        if (!slot) throw new TemplateError({ code: 'EXEC', at: src, reason: `undefined variable: ${name}` });
        slot.value = v;
      } else {
        this.scope.vars.push({ name, value: v });
      }
    }
    return v;
  }

  private command(c: Command, dot: unknown, piped: unknown[]): unknown {
    const [head, ...rest] = c.args;
    if (!head) return undefined;
    const args = () => [...rest.map((a) => this.operand(a, dot, c)), ...piped].map((x) => (x === undefined ? null : x));
    if (head.kind === 'func' && (head.name === 'and' || head.name === 'or')) return this.andOr(head.name, rest, piped, dot, c);
    if (head.kind === 'func') {
      const fn = this.scope.funcs[head.name];
      if (!fn) throw new TemplateError({ code: 'PARSE', reason: `function "${head.name}" not defined` });
      try {
        return fn(...args());
      } catch (e) {
        if (e instanceof TemplateError) throw e;
        throw new TemplateError({ code: 'EXEC', at: c.text, reason: (e as Error).message });
      }
    }
    const v = this.operand(head, dot, c);
    // A field holding a function is a method: {{.Label "com.example"}}.
    if (typeof v === 'function') return (v as TemplateFunc)(...args());
    if (rest.length || piped.length) throw new TemplateError({ code: 'EXEC', at: c.text, reason: `can't give argument to non-function ${c.text.split(' ')[0]}` });
    return v;
  }

  /**
   * Since Go 1.18, and/or evaluate their arguments one by one and stop at the
   * deciding one (text/template exec.go evalCall): and returns the first empty
   * argument, or the last; or the first non-empty, or the last. A piped value
   * is the last argument and, already computed, is returned as is.
   */
  private andOr(name: 'and' | 'or', rest: Operand[], piped: unknown[], dot: unknown, c: Command): unknown {
    if (!rest.length && !piped.length) {
      throw new TemplateError({ code: 'EXEC', at: c.text, reason: `wrong number of args for ${name}: want at least 1 got 0` });
    }
    const decides = name === 'or';
    let v: unknown = null;
    for (const a of rest) {
      v = this.operand(a, dot, c) ?? null;
      if (goTruth(v) === decides) return v;
    }
    return piped.length ? (piped[0] ?? null) : v;
  }

  private operand(o: Operand, dot: unknown, c: Command): unknown {
    switch (o.kind) {
      case 'literal': return o.value;
      case 'field': return this.fields(dot, o.path, c);
      case 'var': {
        const name = o.name;
        const slot = [...this.scope.vars].reverse().find((x) => x.name === name);
        if (!slot) throw new TemplateError({ code: 'PARSE', reason: `undefined variable "${name}"` });
        return this.fields(slot.value, o.path, c);
      }
      case 'sub': return this.fields(this.pipe(o.pipe, dot, c.text), o.path, c);
      case 'func': {
        const fn = this.scope.funcs[o.name];
        if (!fn) throw new TemplateError({ code: 'PARSE', reason: `function "${o.name}" not defined` });
        return fn();
      }
    }
  }

  private fields(v: unknown, path: string[], c: Command): unknown {
    let cur = v;
    for (const name of path) {
      if (cur === null || cur === undefined) {
        throw new TemplateError({ code: 'EXEC', at: c.text, reason: `nil pointer evaluating interface {}.${name}` });
      }
      if (typeof cur !== 'object' || Array.isArray(cur)) {
        throw new TemplateError({ code: 'EXEC', at: c.text, reason: `can't evaluate field ${name} in type ${Array.isArray(cur) ? '[]interface {}' : typeof cur}` });
      }
      cur = (cur as Record<string, unknown>)[name];
    }
    return cur;
  }
}

/** Go rejects calls to unknown functions when parsing, before any output. */
function checkFuncs(nodes: TemplateNode[]): void {
  const inPipe = (p: Pipe): void => {
    for (const c of p.cmds) {
      for (const o of c.args) {
        if (o.kind === 'func' && !BUILTIN_FUNCS[o.name]) throw new TemplateError({ code: 'PARSE', reason: `function "${o.name}" not defined` });
        if (o.kind === 'sub') inPipe(o.pipe);
      }
    }
  };
  for (const n of nodes) {
    if (n.kind === 'text') continue;
    inPipe(n.pipe);
    if (n.kind !== 'action') {
      checkFuncs(n.list);
      if (n.elseList) checkFuncs(n.elseList);
    }
  }
}

/** Parses once; execute() may be called per row. */
export function compileTemplate(source: string): Template {
  const nodes = parseTemplate(source);
  checkFuncs(nodes);
  return {
    source,
    execute(data: unknown, opts?: { header?: boolean }): string {
      const scope: Scope = { vars: [{ name: '$', value: data }], funcs: opts?.header ? HEADER_FUNCS : BUILTIN_FUNCS };
      const exec = new Exec(scope);
      try {
        return exec.run(nodes, data);
      } catch (e) {
        if (opts?.header) return exec.partial();
        throw e;
      }
    },
  };
}
