// A recursive-descent parser for the subset of Go's text/template that the
// docker CLI's --format flags use: actions with pipelines, fields (.A.B),
// variables ($x, $), literals, function calls, parenthesised pipelines,
// if/else if/else, range (with $i, $v :=), with, variable declarations,
// {{- -}} trim markers and comments. https://pkg.go.dev/text/template
import { TemplateError } from './template-error.ts';

export type Operand =
  | { kind: 'field'; path: string[] } // "." is path []
  | { kind: 'var'; name: string; path: string[] } // "$" is name "$"
  | { kind: 'func'; name: string }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'sub'; pipe: Pipe; path: string[] };

export interface Command { args: Operand[]; text: string }

export interface Pipe {
  /** Variables declared (":=") or assigned ("=") by this pipeline. */
  decl: string[];
  assign: boolean;
  cmds: Command[];
}

export interface BlockNode { kind: 'if' | 'with' | 'range'; pipe: Pipe; list: TemplateNode[]; elseList: TemplateNode[] | null; src: string }

export type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe; src: string }
  | BlockNode;

type Tok =
  | { t: 'field'; path: string[] }
  | { t: 'var'; name: string; path: string[] }
  | { t: 'ident'; name: string }
  | { t: 'string'; value: string }
  | { t: 'number'; value: number }
  | { t: '(' | ')' | '|' | ':=' | '=' | ',' }
  | { t: 'chain'; path: string[] }; // ".Field" right after ")"

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Reads ".A.B.C" (one or more field names) at s[i]; returns names and the next index. */
function readFieldChain(s: string, i: number): { path: string[]; next: number } {
  const path: string[] = [];
  while (s[i] === '.') {
    const m = IDENT.exec(s.slice(i + 1));
    if (!m) break;
    path.push(m[0]);
    i += 1 + m[0].length;
  }
  return { path, next: i };
}

function readQuoted(s: string, i: number, src: string): { value: string; next: number } {
  const q = s[i];
  let j = i + 1;
  if (q === '`') {
    const end = s.indexOf('`', j);
    if (end < 0) throw new TemplateError({ code: 'PARSE', reason: `unterminated raw quoted string in "${src}"` });
    return { value: s.slice(j, end), next: end + 1 };
  }
  while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
  if (j >= s.length) throw new TemplateError({ code: 'PARSE', reason: `unterminated quoted string in "${src}"` });
  const raw = s.slice(i, j + 1);
  try {
    // Go's string escapes are a superset of JSON's for the cases that matter here.
    return { value: JSON.parse(raw.replace(/\\'/g, "'")) as string, next: j + 1 };
  } catch {
    throw new TemplateError({ code: 'PARSE', reason: `bad string literal ${raw}` });
  }
}

function lexAction(s: string, src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ t: c });
      i++;
      if (c === ')' && s[i] === '.') {
        const f = readFieldChain(s, i);
        if (f.path.length) { toks.push({ t: 'chain', path: f.path }); i = f.next; }
      }
      continue;
    }
    if (c === ':' && s[i + 1] === '=') { toks.push({ t: ':=' }); i += 2; continue; }
    if (c === '=') { toks.push({ t: '=' }); i++; continue; }
    if (c === '"' || c === '`') {
      const q = readQuoted(s, i, src);
      toks.push({ t: 'string', value: q.value });
      i = q.next;
      continue;
    }
    if (c === '.') {
      const f = readFieldChain(s, i);
      if (f.path.length === 0) { toks.push({ t: 'field', path: [] }); i++; continue; }
      toks.push({ t: 'field', path: f.path });
      i = f.next;
      continue;
    }
    if (c === '$') {
      const m = /^[A-Za-z0-9_]*/.exec(s.slice(i + 1));
      const name = `$${m?.[0] ?? ''}`;
      const f = readFieldChain(s, i + name.length);
      toks.push({ t: 'var', name, path: f.path });
      i = f.next;
      continue;
    }
    const num = /^[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)/.exec(s.slice(i));
    if (num && (/\d/.test(c) || /\d/.test(s[i + 1] ?? ''))) {
      toks.push({ t: 'number', value: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = IDENT.exec(s.slice(i));
    if (id) { toks.push({ t: 'ident', name: id[0] }); i += id[0].length; continue; }
    throw new TemplateError({ code: 'PARSE', reason: `unexpected "${c}" in "${src}"` });
  }
  return toks;
}

class PipeParser {
  private toks: Tok[];
  private i = 0;
  private readonly src: string;

  constructor(toks: Tok[], src: string) {
    this.toks = toks;
    this.src = src;
  }

  private fail(reason: string): never {
    throw new TemplateError({ code: 'PARSE', reason: `${reason} in "{{${this.src}}}"` });
  }

  atEnd(): boolean { return this.i >= this.toks.length; }

  /** pipeline := [decl (":="|"=")] command ("|" command)* */
  pipe(allowDecl: boolean, stopAtParen: boolean): Pipe {
    const pipe: Pipe = { decl: [], assign: false, cmds: [] };
    if (allowDecl) this.declarations(pipe);
    for (;;) {
      pipe.cmds.push(this.command());
      const t = this.toks[this.i];
      if (t?.t === '|') { this.i++; continue; }
      if (t === undefined) break;
      if (t.t === ')' && stopAtParen) break;
      this.fail(`unexpected ${t.t}`);
    }
    return pipe;
  }

  private declarations(pipe: Pipe): void {
    // Look ahead: "$a :=", "$a, $b :=" or "$a =".
    const a = this.toks[this.i];
    const b = this.toks[this.i + 1];
    if (a?.t !== 'var' || a.path.length) return;
    if (b?.t === ':=' || b?.t === '=') {
      pipe.decl = [a.name];
      pipe.assign = b.t === '=';
      this.i += 2;
      return;
    }
    const c = this.toks[this.i + 2];
    const d = this.toks[this.i + 3];
    if (b?.t === ',' && c?.t === 'var' && !c.path.length && d?.t === ':=') {
      pipe.decl = [a.name, c.name];
      this.i += 4;
    }
  }

  private command(): Command {
    const start = this.i;
    const args: Operand[] = [];
    while (!this.atEnd()) {
      const t = this.toks[this.i];
      if (t?.t === '|' || t?.t === ')') break;
      args.push(this.operand());
    }
    if (!args.length) this.fail('missing value for command');
    return { args, text: this.toks.slice(start, this.i).map(tokText).join(' ') };
  }

  private operand(): Operand {
    const t = this.toks[this.i++];
    switch (t?.t) {
      case 'field': return { kind: 'field', path: t.path };
      case 'var': return { kind: 'var', name: t.name, path: t.path };
      case 'string': return { kind: 'literal', value: t.value };
      case 'number': return { kind: 'literal', value: t.value };
      case 'ident':
        if (t.name === 'true' || t.name === 'false') return { kind: 'literal', value: t.name === 'true' };
        if (t.name === 'nil') return { kind: 'literal', value: null };
        return { kind: 'func', name: t.name };
      case '(': {
        const pipe = this.pipe(false, true);
        if (this.toks[this.i]?.t !== ')') this.fail('unclosed left paren');
        this.i++;
        const chain = this.toks[this.i];
        const path = chain?.t === 'chain' ? chain.path : [];
        if (chain?.t === 'chain') this.i++;
        return { kind: 'sub', pipe, path };
      }
      default: return this.fail(`unexpected ${t ? t.t : 'end'}`);
    }
  }
}

function tokText(t: Tok): string {
  switch (t.t) {
    case 'field': return `.${t.path.join('.')}`;
    case 'chain': return `.${t.path.join('.')}`;
    case 'var': return [t.name, ...t.path].join('.');
    case 'ident': return t.name;
    case 'string': return JSON.stringify(t.value);
    case 'number': return String(t.value);
    default: return t.t;
  }
}

function parsePipe(src: string, allowDecl: boolean): Pipe {
  const p = new PipeParser(lexAction(src, src), src);
  if (p.atEnd()) throw new TemplateError({ code: 'PARSE', reason: `missing value for command in "{{${src}}}"` });
  return p.pipe(allowDecl, false);
}

interface RawAction { text: string; trimLeft: boolean; trimRight: boolean }
type Piece = { kind: 'text'; text: string } | { kind: 'action'; a: RawAction };

/** Splits a template into text and {{actions}}, applying the trim markers. */
function split(tpl: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  while (i < tpl.length) {
    const open = tpl.indexOf('{{', i);
    if (open < 0) { out.push({ kind: 'text', text: tpl.slice(i) }); break; }
    let body = open + 2;
    // "{{- " trims the whitespace before it; the space is required (Go).
    const trimLeft = tpl[body] === '-' && /\s/.test(tpl[body + 1] ?? '');
    if (trimLeft) body += 2;
    let close = -1;
    if (tpl.startsWith('/*', body)) {
      const endC = tpl.indexOf('*/', body);
      if (endC < 0) throw new TemplateError({ code: 'PARSE', reason: 'unclosed comment' });
      close = tpl.indexOf('}}', endC);
    } else {
      // Skip over quoted strings so "}}" inside them does not end the action.
      let j = body;
      while (j < tpl.length) {
        const c = tpl[j];
        if (c === '"' || c === '`') {
          const q = c;
          j++;
          while (j < tpl.length && tpl[j] !== q) j += tpl[j] === '\\' && q === '"' ? 2 : 1;
          j++;
          continue;
        }
        if (c === '}' && tpl[j + 1] === '}') { close = j; break; }
        j++;
      }
    }
    if (close < 0) throw new TemplateError({ code: 'PARSE', reason: `unclosed action in "${tpl.slice(open)}"` });
    let end = close;
    const trimRight = tpl[close - 1] === '-' && /\s/.test(tpl[close - 2] ?? '') && close - 2 >= body;
    if (trimRight) end = close - 2;
    let text = open > i ? tpl.slice(i, open) : '';
    if (trimLeft) text = text.replace(/\s+$/, '');
    if (text) out.push({ kind: 'text', text });
    out.push({ kind: 'action', a: { text: tpl.slice(body, end), trimLeft, trimRight } });
    i = close + 2;
    if (trimRight) while (i < tpl.length && /\s/.test(tpl[i] ?? '')) i++;
  }
  return out;
}

type Frame = { node: BlockNode; inElse: boolean; extraEnds: number };

/** Parses a template into a node list; throws TemplateError with code PARSE. */
export function parseTemplate(tpl: string): TemplateNode[] {
  const root: TemplateNode[] = [];
  const stack: Frame[] = [];
  const current = (): TemplateNode[] => {
    const f = stack[stack.length - 1];
    if (!f) return root;
    return f.inElse ? (f.node.elseList ??= []) : f.node.list;
  };
  for (const p of split(tpl)) {
    if (p.kind === 'text') { current().push({ kind: 'text', text: p.text }); continue; }
    const src = p.a.text.trim();
    if (src.startsWith('/*')) continue; // comment
    const kw = /^(if|range|with|else|end)\b\s*/.exec(src);
    if (!kw) { current().push({ kind: 'action', pipe: parsePipe(src, true), src }); continue; }
    const rest = src.slice(kw[0].length);
    switch (kw[1]) {
      case 'if': case 'with': case 'range': {
        const node = { kind: kw[1], pipe: parsePipe(rest, true), list: [], elseList: null, src } as Frame['node'];
        current().push(node);
        stack.push({ node, inElse: false, extraEnds: 0 });
        break;
      }
      case 'else': {
        const f = stack[stack.length - 1];
        if (!f || f.inElse) throw new TemplateError({ code: 'PARSE', reason: 'unexpected {{else}}' });
        f.inElse = true;
        const chain = /^(if|with)\b\s*/.exec(rest);
        if (chain) {
          // {{else if x}} is {{else}}{{if x}} closed by the same {{end}}.
          const node = { kind: chain[1] as 'if' | 'with', pipe: parsePipe(rest.slice(chain[0].length), true), list: [], elseList: null, src: rest } as Frame['node'];
          current().push(node);
          stack.push({ node, inElse: false, extraEnds: f.extraEnds + 1 });
          f.extraEnds = 0;
        } else if (rest) {
          throw new TemplateError({ code: 'PARSE', reason: `unexpected "${rest}" in {{else}}` });
        }
        break;
      }
      case 'end': {
        if (rest) throw new TemplateError({ code: 'PARSE', reason: `unexpected "${rest}" in {{end}}` });
        const f = stack.pop();
        if (!f) throw new TemplateError({ code: 'PARSE', reason: 'unexpected {{end}}' });
        for (let k = 0; k < f.extraEnds; k++) stack.pop();
        break;
      }
    }
  }
  if (stack.length) throw new TemplateError({ code: 'PARSE', reason: `unexpected EOF: {{${stack[stack.length - 1]?.node.kind}}} has no {{end}}` });
  return root;
}
