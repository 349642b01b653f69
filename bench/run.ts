// `npm run bench [name...]`: runs every bench/*.bench.ts (or the named ones)
// one after another, so that no two benchmarks share the machine at once.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)));
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.log(`!!! ${f} exited ${r.status}`); }
}
process.exit(failed ? 1 : 0);
