// A sandbox is confined as Docker confines a container: each escape that
// worked when sandboxes were plain root processes on the host now fails.
// The attacks run inside the sandbox through `cnm exec` (the same runtime
// exec, so the same confinement) and as the sandbox's own command.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';

const skip = skipUnlessCI('confinement', privilegedSkipReason());

// Docker's default capability set as a mask (CHOWN, DAC_OVERRIDE, FOWNER,
// FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW,
// SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP).
const DOCKER_CAPS = '00000000a80425fb';

describe(`sandbox confinement${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  // A data root outside /tmp (which sandboxes get fresh anyway), so hiding
  // it is really put to the test.
  let dataRoot = '';
  before(async () => {
    dataRoot = mkdtempSync('/var/tmp/cnmt-data-');
    d = await startTestDaemon({ args: ['--data-root', dataRoot] });
    await d.cli(['network', 'create', '--subnet', '10.61.0.0/24', 'conf']);
    await d.cli(['run', '-d', '--name', 'jail', '--network', 'conf', '--', 'sleep', 'infinity']);
  });
  after(async () => {
    await d?.destroy();
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
  });

  const inJail = async (script: string) => d.cli(['exec', 'jail', 'sh', '-c', script], { allowFail: true });

  test("Docker's default capabilities, no_new_privs and a seccomp filter", async () => {
    const status = (await inJail('cat /proc/self/status')).stdout;
    assert.match(status, new RegExp(`CapEff:\\s+${DOCKER_CAPS}`));
    assert.match(status, new RegExp(`CapBnd:\\s+${DOCKER_CAPS}`));
    assert.match(status, /NoNewPrivs:\s+1/);
    assert.match(status, /Seccomp:\s+2/);
  });

  test('no way into another network namespace: unshare and setns fail, /run/netns is not there', async () => {
    assert.notEqual((await inJail('unshare -n true')).code, 0);
    assert.notEqual((await inJail('unshare -U -r true')).code, 0, 'a user namespace must not be creatable');
    assert.notEqual((await inJail('nsenter --net=/proc/1/ns/net true')).code, 0);
    assert.equal((await inJail('ls -A /run/netns 2>/dev/null | wc -l')).stdout.trim(), '0');
    // Only the sandbox's own processes are visible.
    assert.ok(Number((await inJail('ls -d /proc/[0-9]* | wc -l')).stdout.trim()) < 10);
  });

  test('the host filesystem is read-only, /tmp and /run are private', async () => {
    for (const p of ['/usr/cnm-escape', '/etc/cnm-escape', '/var/cnm-escape']) {
      const r = await inJail(`touch ${p}`);
      assert.notEqual(r.code, 0, `${p} must not be writable`);
      assert.match(r.stderr, /Read-only file system/);
    }
    assert.equal((await inJail('touch /tmp/ok /run/ok /dev/shm/ok && echo ok')).stdout.trim(), 'ok');
    assert.notEqual((await inJail('mount -t tmpfs x /mnt')).code, 0);
  });

  test("/sys is the sandbox's own and read-only: no host bridge, no ifalias writes", async () => {
    const links = (await inJail('ls /sys/class/net')).stdout.split(/\s+/).filter(Boolean).sort();
    assert.deepEqual(links, ['eth0', 'lo']);
    assert.notEqual((await inJail('echo pwned > /sys/class/net/eth0/ifalias')).code, 0);
    assert.notEqual((await inJail('echo 1 > /proc/sys/net/ipv4/ip_forward')).code, 0);
  });

  test('the data root, the database, the exec root and the API socket are not visible', async () => {
    const r = await inJail(`ls -A ${dataRoot} | wc -l; test -e ${dataRoot}/cnm.db && echo db; test -e ${d.socket} && echo sock; test -e ${d.dir}/run && echo run`);
    assert.equal(r.stdout.trim(), '0');
  });

  test('--privileged lifts the confinement (documented as unsafe)', async () => {
    await d.cli(['run', '-d', '--privileged', '--name', 'loose', '--network', 'conf', '--', 'sleep', 'infinity']);
    const status = (await d.cli(['exec', 'loose', 'cat', '/proc/self/status'])).stdout;
    assert.match(status, /Seccomp:\s+0/);
    assert.doesNotMatch(status, new RegExp(`CapEff:\\s+${DOCKER_CAPS}`));
    // Even so, the daemon's own state stays hidden.
    assert.equal((await d.cli(['exec', 'loose', 'sh', '-c', `ls -A ${dataRoot} | wc -l`])).stdout.trim(), '0');
  });

  test('--user, --workdir, -v and limits reach the process', async () => {
    const dir = mkdtempSync('/var/tmp/cnmt-bind-');
    try {
      await d.cli(['run', '-d', '--name', 'shaped', '--network', 'conf', '--user', 'nobody', '--workdir', '/srv', '-v', `${dir}:/data`,
        '--memory', '64m', '--pids-limit', '50', '--', 'sleep', 'infinity']);
      assert.equal((await d.cli(['exec', 'shaped', 'id', '-u'])).stdout.trim(), '65534');
      assert.equal((await d.cli(['exec', 'shaped', 'pwd'])).stdout.trim(), '/srv');
      assert.equal((await d.cli(['exec', '-u', '0', 'shaped', 'sh', '-c', 'echo hi > /data/f && cat /data/f'])).stdout.trim(), 'hi');
      const insp = await d.client.containerInspect('shaped');
      assert.equal(insp.HostConfig.Memory, 64 * 1024 * 1024);
      assert.equal(insp.HostConfig.PidsLimit, 50);
      assert.equal(insp.Config.User, 'nobody');
    } finally {
      await d.cli(['rm', '-f', 'shaped'], { allowFail: true });
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("PATH= in a sandbox's environment reaches the sandbox only, not the daemon's helpers", async () => {
    const r = await d.cli(['run', '--rm', '--name', 'pathy', '-e', 'PATH=/nowhere', '--', '/bin/sh', '-c', 'echo $PATH'], { allowFail: true });
    assert.equal(r.stdout, '/nowhere\n');
    assert.equal(r.code, 0);
    // And the daemon still starts and stops sandboxes.
    await d.cli(['run', '-d', '--name', 'after-path', '-e', 'PATH=/nowhere', '--', '/bin/sleep', 'infinity']);
    await d.cli(['rm', '-f', 'after-path']);
  });

  test('bad run settings are refused before anything is made', async () => {
    const cases: [string[], RegExp][] = [
      // A relative source is a volume name, and this is not one.
      [['-v', 'rel/ative:/x'], /includes invalid characters for a local volume name/],
      [['-v', '/tmp:/x:bogus'], /invalid mode: bogus/],
      [['--user', 'a b'], /invalid user/],
      [['--restart', 'sometimes'], /--restart/],
      [['--workdir', 'rel'], /absolute path/],
    ];
    for (const [flags, re] of cases) {
      const r = await d.cli(['run', '-d', '--name', 'bad', ...flags, '--', 'true'], { allowFail: true });
      assert.notEqual(r.code, 0, flags.join(' '));
      assert.match(r.stderr, re);
      assert.equal((await d.cli(['ps', '-a', '-q', '--filter', 'name=bad'])).stdout, '');
    }
    const img = await d.client.raw('POST', '/containers/create?name=img', { Image: 'busybox:latest', Cmd: ['true'] });
    assert.equal(img.status, 404);
    assert.match(img.body.toString(), /No such image: busybox:latest/);
  });
});
