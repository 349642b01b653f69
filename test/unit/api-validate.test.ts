import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTAINER_CREATE, parseBody, NETWORK_CREATE } from '../../src/api/validate.ts';
import { parseFilters } from '../../src/api/filters.ts';
import { Router } from '../../src/api/router.ts';
import { CnmError } from '../../src/model/errors.ts';

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

test('container bodies: Cmd and Entrypoint are a string or strings; map values are checked under their key', () => {
  assert.throws(() => parseBody('{"Cmd":5}', CONTAINER_CREATE), /field Cmd of type \[\]string/);
  assert.throws(() => parseBody('{"Entrypoint":5}', CONTAINER_CREATE), /field Entrypoint of type \[\]string/);
  assert.throws(() => parseBody('{"Cmd":["a",1]}', CONTAINER_CREATE), /field Cmd\[1\] of type string/);
  assert.deepEqual(parseBody('{"Cmd":"sh","Entrypoint":["a"]}', CONTAINER_CREATE), { Cmd: 'sh', Entrypoint: ['a'] });
  assert.throws(() => parseBody('{"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":{}}]}}}', CONTAINER_CREATE),
    /field HostConfig\.PortBindings\["80\/tcp"\]\[0\]\.HostIp of type string/);
  assert.throws(() => parseBody('{"HostConfig":{"PortBindings":{"80/tcp":{}}}}', CONTAINER_CREATE), /PortBindings\["80\/tcp"\] of type array/);
  assert.deepEqual(parseBody('{"HostConfig":{"PortBindings":{"80/tcp":null}}}', CONTAINER_CREATE), { HostConfig: { PortBindings: { '80/tcp': null } } });
  assert.throws(() => parseBody('{"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":5}}}}', CONTAINER_CREATE),
    /field NetworkingConfig\.EndpointsConfig\["n"\]\.Aliases of type \[\]string/);
});

test('router: a malformed percent-encoding in the path is a 400 naming the parameter', () => {
  const r = new Router().add([{ method: 'GET', path: '/networks/{id}', handler: () => ({ status: 200 }) }]);
  for (const bad of ['%zz', '%e2%82', 'a%']) {
    assert.throws(() => r.match('GET', `/networks/${bad}`), (e: unknown) => e instanceof CnmError && e.status === 400 && e.message.includes(`invalid id in the path "${bad}"`));
  }
});
