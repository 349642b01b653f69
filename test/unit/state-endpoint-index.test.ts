// State's endpoints are indexed by sandbox and by network (a connect asks
// for a sandbox's endpoints several times); the indexes follow every set,
// replacement and delete of the map itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointMap } from '../../src/core/state.ts';
import type { EndpointRecord } from '../../src/model/records.ts';

const ep = (id: string, sandboxId: string, networkId: string): EndpointRecord => ({ id, sandboxId, networkId } as EndpointRecord);
const ids = (xs: EndpointRecord[]): string[] => xs.map((e) => e.id).sort();

test('endpoints by sandbox and by network follow set, replace, delete and clear', () => {
  const m = new EndpointMap();
  m.set('a', ep('a', 's1', 'n1')).set('b', ep('b', 's1', 'n2')).set('c', ep('c', 's2', 'n1'));
  assert.deepEqual(ids(m.ofSandbox('s1')), ['a', 'b']);
  assert.deepEqual(ids(m.onNetwork('n1')), ['a', 'c']);
  // A record replaced under the same id moves between the indexes.
  m.set('a', ep('a', 's2', 'n2'));
  assert.deepEqual(ids(m.ofSandbox('s1')), ['b']);
  assert.deepEqual(ids(m.ofSandbox('s2')), ['a', 'c']);
  assert.deepEqual(ids(m.onNetwork('n1')), ['c']);
  assert.equal(m.delete('c'), true);
  assert.equal(m.delete('c'), false);
  assert.deepEqual(ids(m.onNetwork('n1')), []);
  assert.deepEqual(ids(m.ofSandbox('s2')), ['a']);
  m.clear();
  assert.deepEqual(m.ofSandbox('s1'), []);
  assert.equal(m.size, 0);
});
