// A directory of conflists exposed as networks (--cni-conf-dir): at daemon
// start every *.conflist / *.conf file in it that no cni network runs yet
// becomes a network named after the conflist's "name", as if created with
// `-d cni -o cni.conflist=FILE`. Networks made so stay until removed (a file
// taken out of the directory does not remove its network: containers may
// still be on it); a bad file is logged and skipped.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkRecord } from '../../model/records.ts';
import { parseConflist } from './conflist.ts';
import { CNI_OPT } from './options.ts';

export interface ConfDirNetwork { name: string; path: string }

/** The conflists of `dir` that no existing network runs, in file name order (libcni's order). */
export function confDirNetworks(dir: string, existing: readonly NetworkRecord[], warn: (msg: string) => void): ConfDirNetwork[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.conflist') || f.endsWith('.conf')).sort();
  } catch (e) {
    warn(`cni: cannot read conflist directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return [];
  }
  const out: ConfDirNetwork[] = [];
  const cniNames = new Set(existing.filter((n) => n.driver === 'cni').map((n) => n.driverState.cniName));
  for (const f of files) {
    const path = join(dir, f);
    try {
      const list = parseConflist(readFileSync(path, 'utf8'), path);
      if (cniNames.has(list.name) || existing.some((n) => n.options[CNI_OPT.conflist] === path)) continue;
      if (existing.some((n) => n.name === list.name)) {
        warn(`cni: ${path}: a network named ${list.name} already exists; conflist skipped`);
        continue;
      }
      cniNames.add(list.name);
      out.push({ name: list.name, path });
    } catch (e) {
      warn(`cni: ${(e as Error).message}; skipped`);
    }
  }
  return out;
}
