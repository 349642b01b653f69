#!/usr/bin/env node
// Runs the test suites with node's own test runner, then removes anything a
// privileged test left behind (namespaces with the test prefix), pass or fail.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const suites = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'priv', 'e2e', 'vm'];
const files = [];
const walk = (dir) => {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
};
for (const s of suites) walk(join('test', s));
const filter = process.env.CNM_TEST_FILTER;
const selected = filter ? files.filter((f) => f.includes(filter)) : files;

const res = spawnSync(process.execPath, [
  '--test', '--test-reporter=spec', `--test-concurrency=${process.env.CNM_TEST_CONCURRENCY ?? 2}`,
  '--test-timeout=300000', '--disable-warning=ExperimentalWarning', ...selected,
], { stdio: 'inherit', env: { ...process.env, CNM_TEST_RUN: '1' } });

// Safety net: the global teardown. Every privileged test names its namespaces
// with the prefix "cnmt-"; whatever survived a failed test goes here.
spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'test/helpers/teardown.ts'], { stdio: 'inherit' });
process.exit(res.status ?? 1);
