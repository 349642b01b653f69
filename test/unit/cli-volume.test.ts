// cnm volume's output helpers: docker's HumanSize (go-units, %.4g, decimal units).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanSize } from '../../src/cli/volume.ts';

test('sizes print as docker prints them', () => {
  assert.deepEqual([0, 6, 999, 1000, 1500, 123456, 1e6, 2.5e9].map(humanSize), ['0B', '6B', '999B', '1kB', '1.5kB', '123.5kB', '1MB', '2.5GB']);
});
