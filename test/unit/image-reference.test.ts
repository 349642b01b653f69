// Docker's reference normalisation (distribution/reference normalize_test.go, reference_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, normalizeReference, parseReference, referenceString } from '../../src/images/reference.ts';

const D = 'sha256:' + 'a'.repeat(64);

const good: [string, string, string][] = [
  // input, normalised, familiar
  ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
  ['user/img', 'docker.io/user/img:latest', 'user/img:latest'],
  ['docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['index.docker.io/user/img:v1', 'docker.io/user/img:v1', 'user/img:v1'],
  ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
  ['localhost:5000/x:1', 'localhost:5000/x:1', 'localhost:5000/x:1'],
  ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
  [`127.0.0.1:5000/a/b@${D}`, `127.0.0.1:5000/a/b@${D}`, `127.0.0.1:5000/a/b@${D}`],
  [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
  ['Example.com/foo', 'Example.com/foo:latest', 'Example.com/foo:latest'],
  ['[::1]:5000/x', '[::1]:5000/x:latest', '[::1]:5000/x:latest'],
  ['a.b-c_d__e', 'docker.io/library/a.b-c_d__e:latest', 'a.b-c_d__e:latest'],
];

for (const [input, full, familiar] of good) {
  test(`reference ${input}`, () => {
    const r = normalizeReference(input);
    assert.equal(referenceString(r), full);
    assert.equal(familiarString(r), familiar);
  });
}

const bad: [string, string][] = [
  // "" becomes docker.io/library/, which does not parse (normalize.go).
  ['', 'invalid reference format'],
  ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
  ['user/Img:1', 'invalid reference format: repository name (user/Img) must be lowercase'],
  ['localhost:5000/X', 'invalid reference format: repository name (X) must be lowercase'],
  ['busybox:', 'invalid reference format'],
  ['busybox::1', 'invalid reference format'],
  ['-busybox', 'invalid reference format'],
  ['a//b', 'invalid reference format'],
  ['busybox:' + 't'.repeat(129), 'invalid reference format'],
  ['busybox@sha256:abc', 'invalid reference format'],
  [`busybox@sha256:${'a'.repeat(63)}b${'0'.repeat(10)}`, 'invalid checksum digest length'],
  [`busybox@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
  ['a'.repeat(64), `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`],
  ['x/' + 'a'.repeat(260), 'invalid reference format: repository name must not be more than 255 characters'],
];

for (const [input, msg] of bad) {
  test(`reference ${JSON.stringify(input.slice(0, 40))} is refused`, () => {
    assert.throws(() => parseReference(input), (e: Error & { code?: string }) => {
      assert.equal(e.message, msg);
      assert.equal(e.code, 'INVALID');
      return true;
    });
  });
}

test('parseReference adds no tag; a digest alone stays alone', () => {
  assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.deepEqual(normalizeReference(`busybox@${D}`), { domain: 'docker.io', path: 'library/busybox', digest: D });
});
