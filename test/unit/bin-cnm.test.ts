// bin/cnm in a checkout where `npm ci` has not run yet, under the machine's
// own (older) Node.js: a hint saying what to run, not a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
// PATH without node_modules (the test runner's own Node 24 lives there).
const plainPath = (process.env.PATH ?? '').split(delimiter).filter((p) => p && !p.includes('node_modules')).join(delimiter);
const sysNode = spawnSync('node', ['--version'], { env: { PATH: plainPath }, encoding: 'utf8' });
const major = sysNode.status === 0 ? Number(/^v(\d+)/.exec(sysNode.stdout)?.[1]) : 0;
const skip = major === 0 ? 'no node on PATH outside node_modules' : major >= 24 ? `the node on PATH is ${sysNode.stdout.trim()}, not an old one` : null;

test(`bin/cnm before npm ci, under ${skip ? 'an old node' : sysNode.stdout.trim()}: says to run npm ci${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-bin-'));
  try {
    // A fresh checkout: sources, no node_modules, no dist.
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    copyFileSync(join(ROOT, 'bin', 'cnm'), join(dir, 'bin', 'cnm'));
    copyFileSync(join(ROOT, 'src', 'cli', 'main.ts'), join(dir, 'src', 'cli', 'main.ts'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    const r = spawnSync('sh', [join(dir, 'bin', 'cnm'), 'version'], { env: { PATH: plainPath }, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.doesNotMatch(r.stderr, /ERR_UNKNOWN_FILE_EXTENSION|at .*node:internal/);
    assert.match(r.stderr, /cnm needs Node\.js 24 or 26/);
    assert.match(r.stderr, /run `npm ci` in /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
