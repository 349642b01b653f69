// Names for unnamed containers: adjective_surname, free, valid container names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateName } from '../../src/core/names.ts';

test('generated names are adjective_surname, valid, and never one that is taken', () => {
  const taken = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const n = generateName((x) => taken.has(x));
    assert.match(n, /^[a-z]+_[a-z]+\d?$/);
    assert.ok(!taken.has(n));
    taken.add(n);
  }
});
