// `docker import --change`: Dockerfile instructions applied to the new
// image's config (M builder/dockerfile BuildFromConfig; the instructions
// Docker allows there: CMD ENTRYPOINT ENV EXPOSE LABEL ONBUILD USER VOLUME
// WORKDIR). JSON arrays are exec form; anything else is shell form, run by
// /bin/sh -c as a Dockerfile would.
import { posix } from 'node:path';
import { invalid } from '../model/errors.ts';

export interface ContainerConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  OnBuild?: string[];
  User?: string;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
}

const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR'];

/** A JSON array of strings, or undefined when the text is not one. */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Words split on blanks, with "double" and 'single' quotes and \ escapes (enough for ENV/LABEL pairs). */
function words(text: string, what: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") { quote = c; any = true; } else if (c === '\\' && i + 1 < text.length) { cur += text[++i]; any = true; } else if (/\s/.test(c)) {
      if (any || cur) out.push(cur);
      cur = '';
      any = false;
    } else { cur += c; any = true; }
  }
  if (quote) throw invalid(`${what}: unterminated quote in ${JSON.stringify(text)}`);
  if (any || cur) out.push(cur);
  return out;
}

/** KEY=VALUE pairs, or the old single `KEY VALUE` form. */
function pairs(rest: string, what: string): [string, string][] {
  const ws = words(rest, what);
  if (ws.length && !ws[0]!.includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m) throw invalid(`${what} requires two arguments: ${JSON.stringify(rest)}`);
    return [[m[1]!, words(m[2]!, what).join(' ')]];
  }
  return ws.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw invalid(`${what}: ${JSON.stringify(w)} is not KEY=VALUE`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

function port(spec: string): string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2] ?? m?.[1]);
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw invalid(`invalid EXPOSE port ${JSON.stringify(spec)}: expected PORT[-PORT][/tcp|udp|sctp]`);
  return `${m[1]}${m[2] ? `-${m[2]}` : ''}/${(m[3] ?? 'tcp').toLowerCase()}`;
}

export function parseChanges(changes: string[]): ContainerConfig {
  const c: ContainerConfig = {};
  for (const raw of changes) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const ins = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (!ALLOWED.includes(ins)) throw invalid(`${m[1]} is not a valid change command`);
    if (!rest) throw invalid(`${ins} requires at least one argument`);
    const exec = (): string[] => jsonArray(rest) ?? ['/bin/sh', '-c', rest];
    switch (ins) {
      case 'CMD': c.Cmd = exec(); break;
      case 'ENTRYPOINT': c.Entrypoint = exec(); break;
      case 'ENV': {
        const env = new Map((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e]));
        for (const [k, v] of pairs(rest, 'ENV')) env.set(k, `${k}=${v}`);
        c.Env = [...env.values()];
        break;
      }
      case 'LABEL':
        c.Labels = { ...c.Labels, ...Object.fromEntries(pairs(rest, 'LABEL')) };
        break;
      case 'EXPOSE':
        for (const p of words(rest, 'EXPOSE')) (c.ExposedPorts ??= {})[port(p)] = {};
        break;
      case 'VOLUME':
        for (const v of jsonArray(rest) ?? words(rest, 'VOLUME')) {
          if (!v) throw invalid('VOLUME specified can not be an empty string');
          (c.Volumes ??= {})[v] = {};
        }
        break;
      case 'USER': c.User = rest; break;
      case 'WORKDIR': c.WorkingDir = posix.resolve(c.WorkingDir ?? '/', rest); break;
      case 'ONBUILD': (c.OnBuild ??= []).push(rest); break;
    }
  }
  return c;
}
