// What package.json promises about the code: runtime dependencies are the
// packages src/ imports, and a package whose private fields src/ reads is
// pinned to the exact version the lock file installs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean; dependencies?: Record<string, string> }>;
};

/** Bare package names imported by .ts files under dir (node: builtins left out). */
function imports(dir: string): Set<string> {
  const out = new Set<string>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue;
    const text = readFileSync(join(e.parentPath, e.name), 'utf8');
    // `from 'x'`, `import 'x'`, `import('x')`; not a call like Buffer.from('y').
    // A specifier is one line without blanks: `startsWith('Pulling from ')` is no import.
    for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s+|\bimport\s*\(\s*)'([^'./\s][^'\s]*)'/g)) {
      const spec = m[1] ?? '';
      if (spec.startsWith('node:')) continue;
      out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
    }
  }
  return out;
}

test('runtime dependencies are exactly the packages src/ imports', () => {
  const used = imports(join(root, 'src'));
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), [...used].sort());
  // dns-packet checks the resolver's own codec in tests only.
  assert.ok(!used.has('dns-packet'));
  assert.ok(pkg.devDependencies['dns-packet']);
  assert.equal(lock.packages['node_modules/dns-packet']?.dev, true);
});

test('commander is pinned: src/cli reads its private _passThroughOptions', () => {
  const want = pkg.dependencies['commander'] ?? '';
  assert.match(want, /^\d+\.\d+\.\d+$/, 'an exact version, no range');
  assert.equal(lock.packages['']?.dependencies?.['commander'], want);
  assert.equal(lock.packages['node_modules/commander']?.version, want);
  // The field docker-command.ts reads still exists and means what it did.
  const c = new Command();
  const field = (x: Command): unknown => (x as unknown as { _passThroughOptions?: unknown })._passThroughOptions;
  assert.equal(field(c), false);
  c.enablePositionalOptions().passThroughOptions();
  assert.equal(field(c), true);
});
