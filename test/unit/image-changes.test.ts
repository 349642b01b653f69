// docker import --change: Dockerfile instructions into an image config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChanges } from '../../src/core/image-changes.ts';

test('exec and shell forms, ENV and LABEL pairs, EXPOSE, VOLUME, WORKDIR, USER, ONBUILD', () => {
  const c = parseChanges([
    'CMD ["/bin/echo", "hi"]', 'ENTRYPOINT exec top -b', 'ENV A=1 B="two words"', 'env C 3 4',
    'LABEL team=net "x y"=z', 'EXPOSE 80 53/udp 8000-8002/TCP', 'VOLUME ["/data", "/logs"]', 'VOLUME /cache',
    'WORKDIR /srv', 'WORKDIR app', 'USER nobody:nogroup', 'ONBUILD RUN true', '  ',
  ]);
  assert.deepEqual(c.Cmd, ['/bin/echo', 'hi']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', 'exec top -b']);
  assert.deepEqual(c.Env, ['A=1', 'B=two words', 'C=3 4']);
  assert.deepEqual(c.Labels, { team: 'net', 'x y': 'z' });
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['80/tcp', '53/udp', '8000-8002/tcp']);
  assert.deepEqual(Object.keys(c.Volumes ?? {}), ['/data', '/logs', '/cache']);
  assert.equal(c.WorkingDir, '/srv/app');
  assert.equal(c.User, 'nobody:nogroup');
  assert.deepEqual(c.OnBuild, ['RUN true']);
});

test('a later ENV replaces an earlier value of the same name', () => {
  assert.deepEqual(parseChanges(['ENV A=1 B=2', 'ENV A=3']).Env, ['A=3', 'B=2']);
});

test('bad changes name the instruction or value', () => {
  assert.throws(() => parseChanges(['RUN rm -rf /']), /RUN is not a valid change command/);
  assert.throws(() => parseChanges(['FROM busybox']), /FROM is not a valid change command/);
  assert.throws(() => parseChanges(['CMD']), /CMD requires at least one argument/);
  assert.throws(() => parseChanges(['EXPOSE 70000']), /invalid EXPOSE port "70000"/);
  assert.throws(() => parseChanges(['ENV A="open']), /unterminated quote/);
  assert.throws(() => parseChanges(['LABEL =x']), /"=x" is not KEY=VALUE/);
});
