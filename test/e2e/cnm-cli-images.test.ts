// cnm's own image commands against a real daemon: load, images (the same
// table as the docker CLI's), tag, save | load, import -c, rmi, history,
// pull with login, and `cnm run --rm IMAGE CMD`, pulling when missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { CNM, run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { startRegistry, stopRegistries } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';

const has = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
const missing = ['docker', 'docker-registry', 'skopeo', 'htpasswd'].find((t) => !has(t));
const skip = skipUnlessCI('cnm image commands', privilegedSkipReason() ?? (missing ? `needs ${missing} (scripts/setup.sh installs it)` : null));
const AUTHED = '127.0.0.1:5001';

describe(`cnm image commands against the daemon${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  let busybox: { tar: Buffer; id: string };
  let tarPath: string;
  const registries: ChildProcess[] = [];
  /** cnm in a shell, for pipes (the socket is a path: no namespace needed). */
  const sh = (script: string): Promise<{ stdout: string; stderr: string; code: number }> => run('sh', ['-c', script], { ...process.env, CNM_HOST: d.host });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnmt-cli-images-'));
    // login's credentials go here, not to the user's own config.
    process.env.CNM_CONFIG_DIR = join(dir, 'config');
    process.env.DOCKER_CONFIG = join(dir, 'docker');
    d = await startTestDaemon();
    busybox = await makeBusyboxImage();
    tarPath = join(dir, 'busybox.tar');
    writeFileSync(tarPath, busybox.tar);
  });

  after(async () => {
    stopRegistries(registries);
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
    delete process.env.CNM_CONFIG_DIR;
    delete process.env.DOCKER_CONFIG;
  });

  test('load -i, then images prints what docker images prints', async () => {
    const r = await d.cli(['load', '-i', tarPath]);
    assert.equal(r.stdout, 'Loaded image: busybox:latest\n');
    const mine = await d.cli(['images']);
    assert.match(mine.stdout, new RegExp(`^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\nbusybox +latest +${busybox.id.slice(7, 19)} `));
    assert.equal(mine.stdout, (await d.docker(['images'])).stdout);
    assert.equal((await d.cli(['images', '-q', '--no-trunc'])).stdout, `${busybox.id}\n`);
    assert.equal((await d.cli(['image', 'history', 'busybox'])).stdout, (await d.docker(['image', 'history', 'busybox'])).stdout);
    assert.equal((await d.cli(['image', 'inspect', '-f', '{{.Id}} {{json .Config.Cmd}}', 'busybox'])).stdout, `${busybox.id} ["sh"]\n`);
  });

  test('run --rm IMAGE CMD prints the output; the container is gone', async () => {
    const r = await d.cli(['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.deepEqual(r, { code: 0, stdout: 'hi\n', stderr: '' });
    const st = await d.cli(['run', '--rm', '--entrypoint', '/bin/sh', 'busybox', '-c', 'exit 4'], { allowFail: true });
    assert.equal(st.code, 4);
    assert.equal((await d.cli(['ps', '-aq'])).stdout, '');
    // A host command still runs as a sandbox.
    assert.equal((await d.cli(['run', '--rm', '--', 'sh', '-c', 'echo host'])).stdout, 'host\n');
  });

  test('tag, then save | load round trip keeps the ID and both tags', async () => {
    await d.cli(['tag', 'busybox', 'mine/bb:v1']);
    assert.equal((await d.cli(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter(Boolean).sort().join(' '), 'busybox:latest mine/bb:v1');
    const out = join(dir, 'both.tar');
    await d.cli(['save', '-o', out, 'busybox', 'mine/bb:v1']);
    assert.ok(statSync(out).size > 1_000_000);
    const rm = await d.cli(['rmi', 'busybox', 'mine/bb:v1']);
    // The image, then its layer (docker prints both).
    assert.match(rm.stdout, new RegExp(`^Untagged: busybox:latest\nUntagged: mine/bb:v1\nDeleted: ${busybox.id}\n(Deleted: sha256:[0-9a-f]{64}\n)+$`));
    assert.equal((await d.cli(['images', '-q'])).stdout, '');
    await d.cli(['load', '-q', '-i', out]);
    assert.equal((await d.cli(['images', '-q', '--no-trunc'])).stdout, `${busybox.id}\n${busybox.id}\n`);
    // Through a pipe: save to stdout, load from stdin.
    await d.cli(['rmi', 'mine/bb:v1']);
    const piped = await sh(`${CNM} save busybox > ${join(dir, 'piped.tar')} && ${CNM} rmi busybox >/dev/null && ${CNM} load < ${join(dir, 'piped.tar')}`);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'Loaded image: busybox:latest\n');
    assert.equal((await sh(`${CNM} save busybox | ${CNM} load -q`)).code, 0);
    assert.equal((await d.cli(['images', '-q', '--no-trunc'])).stdout, `${busybox.id}\n`);
  });

  test('import -c builds an image from a root filesystem tar; run uses its config', async () => {
    // A root filesystem of the host's static busybox: /bin/busybox and two applets.
    const rootfs = join(dir, 'rootfs.tar');
    const tree = join(dir, 'rootfs');
    const made = await sh(`mkdir -p ${tree}/bin && cp /bin/busybox ${tree}/bin/ && ln -s busybox ${tree}/bin/sh && ln -s busybox ${tree}/bin/echo && tar -cf ${rootfs} -C ${tree} bin`);
    assert.equal(made.code, 0, made.stderr);
    const r = await d.cli(['import', '-c', 'CMD ["/bin/echo", "from import"]', '-c', 'ENV GREETING=hey', '-m', 'imported', rootfs, 'imp:1']);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal((await d.cli(['run', '--rm', 'imp:1'])).stdout, 'from import\n');
    assert.equal((await d.cli(['run', '--rm', 'imp:1', '/bin/sh', '-c', 'echo $GREETING'])).stdout, 'hey\n');
    assert.equal((await d.cli(['image', 'inspect', '-f', '{{.Comment}}', 'imp:1'])).stdout, 'imported\n');
    const piped = await sh(`${CNM} import - imp:2 < ${rootfs}`);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal((await d.cli(['rmi', 'imp:1', 'imp:2'])).code, 0);
  });

  test('errors: rmi of a missing image, import refused before its tar is sent, load of what is not a tar, run of an image nowhere', async () => {
    const rm = await d.cli(['rmi', 'ghost'], { allowFail: true });
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /^Error response from daemon: No such image: ghost(:latest)?\n$/);
    // Refused on its query: answered before the tar is sent (100-continue).
    const big = join(dir, 'big.tar');
    writeFileSync(big, Buffer.alloc(64 * 1024 * 1024));
    const bad = await d.cli(['import', '-c', 'FROM scratch', big, 'never:1'], { allowFail: true });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'Error response from daemon: FROM is not a valid change command\n');
    // Refused part-way (not a tar): the daemon's words, or, when they are lost with the connection, why.
    writeFileSync(big, Buffer.alloc(64 * 1024 * 1024, 'x'));
    const notTar = await d.cli(['load', '-i', big], { allowFail: true });
    assert.equal(notTar.code, 1);
    assert.match(notTar.stderr, /tar|refused the body/i);
    rmSync(big);
    const none = await d.cli(['run', '--rm', '127.0.0.1:5999/nothing:1'], { allowFail: true });
    assert.equal(none.code, 125);
    assert.match(none.stderr, /^Unable to find image '127\.0\.0\.1:5999\/nothing:1' locally\n/);
  });

  test('login keeps credentials for pulls; run of an image not here pulls it with them', async () => {
    writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
    registries.push(startRegistry(d.ns, dir, 'authed', AUTHED, ['auth:', '  htpasswd:', '    realm: cnm-test', `    path: ${join(dir, 'htpasswd')}`].join('\n')));
    await waitFor(async () => (await d.ns.sh(`skopeo copy --quiet --dest-tls-verify=false --dest-creds=alice:s3cret docker-archive:${tarPath} docker://${AUTHED}/team/bb:1 && echo ok || true`)).stdout.includes('ok'), { what: 'the push' });
    const denied = await d.cli(['pull', `${AUTHED}/team/bb:1`], { allowFail: true });
    assert.equal(denied.code, 1);
    const bad = await d.cli(['login', '-u', 'alice', '--password-stdin', AUTHED], { input: 'wrong\n', allowFail: true });
    assert.equal(bad.code, 1);
    const ok = await d.cli(['login', '-u', 'alice', '--password-stdin', AUTHED], { input: 's3cret\n' });
    assert.equal(ok.stdout, 'Login Succeeded\n');
    assert.equal(statSync(join(dir, 'config', 'auth.json')).mode & 0o777, 0o600);
    const pulled = await d.cli(['pull', `${AUTHED}/team/bb:1`]);
    assert.match(pulled.stdout, /^1: Pulling from team\/bb\n[\s\S]*Status: Downloaded newer image for 127\.0\.0\.1:5001\/team\/bb:1\n127\.0\.0\.1:5001\/team\/bb:1\n$/);
    await d.cli(['rmi', `${AUTHED}/team/bb:1`]);
    // The same lines as the docker CLI's pull off a terminal.
    await d.docker(['login', '-u', 'alice', '-p', 's3cret', AUTHED]);
    const theirs = await d.docker(['pull', `${AUTHED}/team/bb:1`]);
    await d.cli(['rmi', `${AUTHED}/team/bb:1`]);
    assert.equal((await d.cli(['pull', `${AUTHED}/team/bb:1`])).stdout, theirs.stdout);
    await d.cli(['rmi', `${AUTHED}/team/bb:1`]);
    const r = await d.cli(['run', '--rm', `${AUTHED}/team/bb:1`, 'echo', 'pulled and ran']);
    assert.equal(r.stdout, 'pulled and ran\n');
    assert.match(r.stderr, /^Unable to find image '127\.0\.0\.1:5001\/team\/bb:1' locally\n1: Pulling from team\/bb\n/);
    await d.cli(['logout', AUTHED]);
    await d.cli(['rmi', `${AUTHED}/team/bb:1`]);
    assert.equal((await d.cli(['pull', `${AUTHED}/team/bb:1`], { allowFail: true })).code, 1);
  });
});
