import { test } from 'node:test';
import assert from 'node:assert/strict';

test('runs on a supported Node.js LTS', () => {
  const major = Number(process.versions.node.split('.')[0]);
  assert.ok(major === 24 || major === 26, `node ${process.version}`);
});
