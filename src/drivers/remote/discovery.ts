// Finding a legacy plugin by name, as Docker's pkg/plugins does: a socket
// `<name>.sock` or `<name>/<name>.sock` in the sockets directory
// (/run/docker/plugins), then a spec file `<name>.spec|.json` or
// `<name>/<name>.spec|.json` in /etc/docker/plugins and /usr/lib/docker/plugins.
// cnm searches its list of directories in order, every kind in each, so a
// test (or a second daemon) can point it at directories of its own.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CnmError } from '../../model/errors.ts';
import type { PluginAddr } from './client.ts';

/** Docker's directories, in its order. */
export const DEFAULT_PLUGIN_DIRS = ['/run/docker/plugins', '/etc/docker/plugins', '/usr/lib/docker/plugins'];

/** Legacy plugin names are single path elements (v2 "user/name:tag" plugins are not this protocol). */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const isSocket = (p: string): boolean => {
  try { return statSync(p).isSocket(); } catch { return false; }
};
const isFile = (p: string): boolean => {
  try { return statSync(p).isFile(); } catch { return false; }
};

/** Parses a .spec file's URL (unix:///path, tcp://host:port, http://host:port). */
export function parseSpecUrl(name: string, text: string): PluginAddr {
  const s = text.trim();
  const m = /^([a-z]+):\/\/(.*)$/.exec(s);
  if (!m) throw new CnmError('INTERNAL', `plugin "${name}": Unknown protocol in spec "${s}": expected unix://, tcp:// or http://`);
  const [, scheme, rest = ''] = m;
  if (scheme === 'unix') return { socket: rest };
  if (scheme === 'tcp' || scheme === 'http') {
    const u = new URL(`http://${rest}`);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
  }
  throw new CnmError('INTERNAL', `plugin "${name}": unsupported protocol "${scheme}" in spec "${s}" (TLS plugins are not supported): expected unix://, tcp:// or http://`);
}

/** Parses a .json spec ({"Name","Addr","TLSConfig"}). */
function parseJsonSpec(name: string, text: string): PluginAddr {
  let j: { Addr?: unknown };
  try {
    j = JSON.parse(text) as { Addr?: unknown };
  } catch (e) {
    throw new CnmError('INTERNAL', `plugin "${name}": its .json spec is not JSON: ${(e as Error).message}`);
  }
  if (typeof j.Addr !== 'string') throw new CnmError('INTERNAL', `plugin "${name}": its .json spec has no Addr`);
  return parseSpecUrl(name, j.Addr);
}

/** The address of plugin `name`, or null when no directory holds it. */
export function findPlugin(dirs: readonly string[], name: string): PluginAddr | null {
  if (!NAME_RE.test(name)) return null;
  for (const dir of dirs) {
    for (const p of [join(dir, `${name}.sock`), join(dir, name, `${name}.sock`)]) {
      if (isSocket(p)) return { socket: p };
    }
    for (const base of [join(dir, name), join(dir, name, name)]) {
      if (isFile(`${base}.spec`)) return parseSpecUrl(name, readFileSync(`${base}.spec`, 'utf8'));
      if (isFile(`${base}.json`)) return parseJsonSpec(name, readFileSync(`${base}.json`, 'utf8'));
    }
  }
  return null;
}

/** Every plugin name the directories hold (for docker info). */
export function listPlugins(dirs: readonly string[]): string[] {
  const names = new Set<string>();
  for (const dir of dirs) {
    let entries: string[];
    try { entries = readdirSync(dir); } catch { continue; }
    for (const e of entries) {
      const m = /^(.*)\.(sock|spec|json)$/.exec(e);
      const n = m?.[1] ?? (isSocket(join(dir, e, `${e}.sock`)) || isFile(join(dir, e, `${e}.spec`)) || isFile(join(dir, e, `${e}.json`)) ? basename(e) : null);
      if (n && NAME_RE.test(n)) names.add(n);
    }
  }
  return [...names].sort();
}
