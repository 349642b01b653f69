// The daemon's cluster flags (src/cluster/config.ts): what --cluster-store
// and --cluster-store-opt accept, and bad values named in the error.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterStore } from '../../src/cluster/config.ts';

describe('--cluster-store and --cluster-store-opt', () => {
  test('one or more etcd members become client URLs; the port defaults to 2379', () => {
    assert.deepEqual(parseClusterStore('etcd://10.0.0.1:2379', []).endpoints, ['http://10.0.0.1:2379']);
    assert.deepEqual(parseClusterStore('etcd://a.example:2381,10.0.0.2', []).endpoints, ['http://a.example:2381', 'http://10.0.0.2:2379']);
    assert.deepEqual(parseClusterStore('etcd://[fd00::1]:2379', []).endpoints, ['http://[fd00::1]:2379']);
  });

  test('TLS options switch to https and name the files', () => {
    const c = parseClusterStore('etcd://10.0.0.1:2379', ['kv.cacertfile=/ca.pem,kv.certfile=/c.pem', 'kv.keyfile=/k.pem']);
    assert.deepEqual(c.endpoints, ['https://10.0.0.1:2379']);
    assert.deepEqual(c.tls, { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
  });

  test('bad values are refused, naming the value and what was expected', () => {
    assert.throws(() => parseClusterStore('consul://10.0.0.1:8500', []), /invalid --cluster-store "consul:\/\/10\.0\.0\.1:8500": expected etcd:\/\/HOST:PORT/);
    assert.throws(() => parseClusterStore('etcd://10.0.0.1:2379', ['kv.path=docker/nodes']), /invalid --cluster-store-opt "kv\.path=docker\/nodes": expected kv\.cacertfile=FILE/);
    assert.throws(() => parseClusterStore('etcd://10.0.0.1:2379', ['kv.certfile=/c.pem,kv.keyfile=/k.pem']), /need kv\.cacertfile/);
    assert.throws(() => parseClusterStore('etcd://10.0.0.1:2379', ['kv.cacertfile=/ca.pem,kv.certfile=/c.pem']), /go together/);
    assert.throws(() => parseClusterStore('etcd://10.0.0.1:23x9', []), /invalid --cluster-store address "10\.0\.0\.1:23x9": expected HOST:PORT/);
  });
});
