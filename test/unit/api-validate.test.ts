import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBody, NETWORK_CREATE } from '../../src/api/validate.ts';
import { parseFilters } from '../../src/api/filters.ts';
import { Router } from '../../src/api/router.ts';
import { CnmError } from '../../src/core/errors.ts';

test('bodies: JSON errors, wrong types named by their path, unknown fields ignored', () => {
  assert.throws(() => parseBody('{', NETWORK_CREATE), /invalid JSON/);
  assert.throws(() => parseBody('"x"', NETWORK_CREATE), /expected an object/);
  assert.throws(() => parseBody('{"IPAM":{"Config":[{"Gateway":1}]}}', NETWORK_CREATE), /IPAM\.Config\[0\]\.Gateway of type string/);
  assert.deepEqual(parseBody('{"Name":"n","Whatever":1}', NETWORK_CREATE), { Name: 'n', Whatever: 1 });
  assert.deepEqual(parseBody('{"Name":"n","Labels":null}', NETWORK_CREATE), { Name: 'n', Labels: null });
});

test('filters: both encodings; unknown keys refused', () => {
  assert.deepEqual([...parseFilters('{"name":["a","b"]}', ['name']).entries()], [['name', ['a', 'b']]]);
  assert.deepEqual([...parseFilters('{"name":{"a":true,"b":false}}', ['name']).entries()], [['name', ['a']]]);
  assert.throws(() => parseFilters('{"color":["x"]}', ['name']), /invalid filter 'color'/);
  assert.throws(() => parseFilters('nope', ['name']), /invalid filters/);
});

test('router: params decoded, HEAD served by GET, unknown paths 404', () => {
  const r = new Router().add([{ method: 'GET', path: '/networks/{id}', handler: () => ({ status: 200 }) }]);
  assert.deepEqual(r.match('GET', '/networks/a%20b').params, { id: 'a b' });
  assert.ok(r.match('HEAD', '/networks/x'));
  assert.throws(() => r.match('GET', '/nope'), (e: unknown) => e instanceof CnmError && e.status === 404 && e.message === 'page not found');
});
