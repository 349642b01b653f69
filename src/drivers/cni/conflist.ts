// Reading and checking a conflist (CNI SPEC.md "Configuration format") at
// network create, so a bad one fails there with words naming what is wrong
// instead of at the first connect. A bare network config (one plugin, no
// `plugins` array: a `.conf` file) is taken as a list of one, as libcni does.
import { readFileSync } from 'node:fs';
import { invalid } from '../../model/errors.ts';
import type { CnmError } from '../../model/errors.ts';
import { findPlugin } from './exec.ts';
import type { CniConfList, CniPluginConf } from './types.ts';

/** Result versions cnm reads (0.3.0 onwards share the interfaces/ips/routes shape). */
const VERSIONS = new Set(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
/** CNI's rule for network names (SPEC.md: as a container ID). */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const bad = (where: string, why: string): CnmError => invalid(`invalid CNI conflist ${where}: ${why}`);

/** Parses conflist text; `where` names its source in errors. Checks shape, not binaries. */
export function parseConflist(text: string, where: string): CniConfList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(where, `not JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad(where, 'expected a JSON object');
  const o = raw as Record<string, unknown>;
  if (!Array.isArray(o.plugins)) {
    // A single network config: its own type, name and cniVersion.
    if (typeof o.type !== 'string') throw bad(where, 'expected "plugins": an array of plugin configs');
    const { cniVersion, name, ...plugin } = o;
    return parseConflist(JSON.stringify({ cniVersion, name, plugins: [plugin] }), where);
  }
  if (typeof o.cniVersion !== 'string' || !VERSIONS.has(o.cniVersion)) {
    throw bad(where, `"cniVersion" ${JSON.stringify(o.cniVersion)}: expected one of ${[...VERSIONS].join(', ')}`);
  }
  if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) {
    throw bad(where, `"name" ${JSON.stringify(o.name)}: expected letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
  if (!o.plugins.length) throw bad(where, '"plugins" is empty: expected at least one plugin');
  o.plugins.forEach((p: unknown, i) => {
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw bad(where, `plugins[${i}]: expected an object`);
    const q = p as Record<string, unknown>;
    if (typeof q.type !== 'string' || !q.type) throw bad(where, `plugins[${i}]: expected a "type" (the plugin's executable)`);
    if (q.ipam !== undefined && (typeof q.ipam !== 'object' || q.ipam === null || typeof (q.ipam as { type?: unknown }).type !== 'string')) {
      throw bad(where, `plugins[${i}] (${q.type}): "ipam" needs a "type"`);
    }
  });
  return o as unknown as CniConfList;
}

/** Every executable the list runs (plugins and their IPAM delegates) must be in a bin directory. */
export function checkBinaries(list: CniConfList, binDirs: readonly string[], where: string): void {
  const types = list.plugins.flatMap((p: CniPluginConf) => [p.type, ...(p.ipam?.type ? [p.ipam.type] : [])]);
  for (const t of types) {
    if (!findPlugin(binDirs, t)) throw bad(where, `plugin "${t}" not found in ${binDirs.join(':')}`);
  }
}

/** Reads, parses and checks the conflist file at `path`. */
export function loadConflist(path: string, binDirs: readonly string[]): CniConfList {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalid(`cannot read CNI conflist ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const list = parseConflist(text, path);
  checkBinaries(list, binDirs, path);
  return list;
}
