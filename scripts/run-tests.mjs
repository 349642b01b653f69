#!/usr/bin/env node
// Runs the test suites with node's own test runner, then removes anything a
// privileged test left behind (processes, containers and namespaces of the
// test prefix), pass or fail, and fails the run if there was any.
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

// Safety net and leak check: the global teardown. Every privileged test names
// its namespaces and temp dirs with the prefix "cnmt-"; whatever of them
// survived the tests is removed here, and fails the run (exit 1): a test
// must stop what it starts.
const td = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'test/helpers/teardown.ts'], { stdio: 'inherit' });
if (td.status !== 0) console.error(`run-tests: the global teardown failed (${td.status ?? td.signal}): see its list of leftovers above`);
process.exit(res.status === 0 && td.status !== 0 ? 1 : res.status ?? 1);
