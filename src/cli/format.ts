// Output of list and inspect commands the way the docker CLI writes them
// (cli/command/formatter): --format "table ..." with headers aligned by Go's
// text/tabwriter, "json" (one object per line), a bare template per row,
// and inspect's JSON array indented by 4 spaces.
import { compileTemplate } from './template.ts';

/** Docker's table writer: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const TABLE_MIN_WIDTH = 10;
export const TABLE_PADDING = 3;

const cellWidth = (s: string): number => [...s].length;

/**
 * Go's text/tabwriter (no flags, padchar ' '): each tab-terminated cell is
 * padded to its column's width over the block of adjacent lines that have
 * that column; the text after a line's last tab is not aligned.
 */
export function tabwrite(text: string, minWidth = TABLE_MIN_WIDTH, padding = TABLE_PADDING): string {
  const trailingNewline = text.endsWith('\n');
  const lines = (trailingNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  let out = '';

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const cells = lines[i] ?? [];
      cells.forEach((c, j) => {
        out += j < widths.length ? c + ' '.repeat(Math.max(0, (widths[j] ?? 0) - cellWidth(c))) : c;
      });
      if (i < lines.length - 1 || trailingNewline) out += '\n';
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= (lines[cur]?.length ?? 0) - 1) continue;
      // This line has a cell in this column: a column block starts here.
      writeLines(line0, cur);
      line0 = cur;
      let width = minWidth;
      for (; cur < line1; cur++) {
        const cells = lines[cur] ?? [];
        if (column >= cells.length - 1) break;
        width = Math.max(width, cellWidth(cells[column] ?? '') + padding);
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}

/** Docker replaces the two-character escapes \t and \n in --format strings. */
export function unescapeFormat(f: string): string {
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export interface ListSpec {
  /** The default "table ..." format, e.g. "table {{.ID}}\t{{.Name}}". */
  table: string;
  /** Field name -> column header. */
  headers: Record<string, string>;
  /** "raw" format, if the command has one. */
  raw?: string;
}

/**
 * Renders rows for --format (docker's formatter.Context): "" or "table" =
 * the default table; "table TEMPLATE" = a table with headers; "json" = one
 * JSON object per row; anything else = the template once per row.
 * -q with the table format prints IDs only.
 */
export function renderList(rows: object[], format: string, spec: ListSpec, quiet: boolean): string {
  let f = format || 'table';
  if (f === 'table') f = quiet ? '{{.ID}}' : spec.table;
  else if (f === 'raw' && spec.raw) f = quiet ? 'id: {{.ID}}' : spec.raw;
  const isTable = f.startsWith('table');
  let body = isTable ? f.slice('table'.length) : f;
  if (f === 'json') body = '{{json .}}';
  body = unescapeFormat(body.replace(/^ +| +$/g, ''));
  const tpl = compileTemplate(body);
  let out = '';
  for (const r of rows) out += `${tpl.execute(r)}\n`;
  if (!isTable) return out;
  // docker ignores errors in the header row (e.g. a method with arguments).
  return tabwrite(`${tpl.execute(spec.headers, { header: true })}\n${out}`);
}

/**
 * docker inspect: a JSON array with 4-space indentation, or the template per
 * item (taken literally: inspect does not expand \t like list formats do).
 */
export function renderInspect(items: unknown[], format: string): string {
  if (!format) return `${JSON.stringify(items, null, 4)}\n`;
  const tpl = compileTemplate(format);
  return items.map((i) => `${tpl.execute(i)}\n`).join('');
}
