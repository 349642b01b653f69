// The cnm CLI's sandbox commands against a real daemon: run (foreground and
// detached), exec, ps, logs, stop/start, rm, port, doctor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { join } from 'node:path';
import { skipUnlessCI } from '../helpers/ci.ts';
import { CNM, run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';

const skip = skipUnlessCI('cnm-cli', privilegedSkipReason());

describe(`cnm CLI against the daemon${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test('foreground run prints the output and exits with the command status; --rm removes it', async () => {
    const r = await d.cli(['run', '--rm', '--name', 'fg', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { allowFail: true });
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const ps = await d.cli(['ps', '-a', '--format', '{{.Names}}']);
    assert.doesNotMatch(ps.stdout, /\bfg\b/);
  });

  test('hostname, /etc/hosts with --add-host, resolv.conf with --dns, and the network alias', async () => {
    await d.cli(['network', 'create', '--subnet', '10.44.0.0/24', 'app']);
    await d.cli(['run', '-d', '--name', 'web', '--hostname', 'webhost', '--network', 'app', '--ip', '10.44.0.10',
      '--network-alias', 'www', '--add-host', 'db.local:10.9.9.9', '--dns', '10.1.1.1', '--', 'sleep', 'infinity']);
    assert.equal((await d.cli(['exec', 'web', 'hostname'])).stdout.trim(), 'webhost');
    const hosts = (await d.cli(['exec', 'web', 'cat', '/etc/hosts'])).stdout;
    assert.match(hosts, /10\.9\.9\.9\s+db\.local/);
    assert.match(hosts, /10\.44\.0\.10\s+webhost/);
    assert.match((await d.cli(['exec', 'web', 'cat', '/etc/resolv.conf'])).stdout, /nameserver 10\.44\.0\.1/);
    await d.cli(['run', '-d', '--name', 'peer', '--network', 'app', '--', 'sleep', 'infinity']);
    assert.equal((await d.cli(['exec', 'peer', 'getent', 'hosts', 'www'])).stdout.split(/\s+/)[0], '10.44.0.10');
  });

  test('exec passes stdin with -i and the exit status through', async () => {
    const r = await d.cli(['exec', '-i', 'web', 'sh', '-c', 'cat; exit 7'], { input: 'hello\n', allowFail: true });
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'hello\n');
  });

  test('exec goes through the daemon: a client that cannot see the runtime\'s state still execs', async () => {
    // A mount namespace of its own where the runtime's state dir is empty:
    // a client running `runc exec` itself would not find the sandbox.
    const r = await run('unshare', ['-m', 'sh', '-c', `mount -t tmpfs cnmt-empty ${join(d.dir, 'run', 'runtime')} && exec ${CNM} exec web sh -c 'hostname; echo err >&2; exit 3'`],
      { ...process.env, CNM_HOST: d.host });
    assert.deepEqual(r, { stdout: 'webhost\n', stderr: 'err\n', code: 3 });
    assert.equal((await d.client.containerInspect('web') as unknown as Record<string, unknown>).CnmRuntime, undefined);
  });

  test('ps, logs, stop and start (static IP kept), port, rm -f', async () => {
    await d.cli(['run', '-d', '--name', 'talker', '-p', '18080:80', '--', 'sh', '-c', 'echo started; exec sleep infinity']);
    const ps = await d.cli(['ps', '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout, /talker Up/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await d.cli(['logs', 'talker'])).stdout, 'started\n');
    assert.match((await d.cli(['port', 'talker'])).stdout, /80\/tcp -> 0\.0\.0\.0:18080/);
    await d.cli(['stop', '-t', '1', 'web']);
    assert.match((await d.cli(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, /web Exited/);
    await d.cli(['start', 'web']);
    assert.equal((await d.cli(['inspect', '-f', '{{.NetworkSettings.Networks.app.IPAddress}}', 'web'])).stdout.trim(), '10.44.0.10');
    const rm = await d.cli(['rm', 'web'], { allowFail: true });
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /container is running/);
    await d.cli(['rm', '-f', 'web', 'talker', 'peer']);
    assert.equal((await d.cli(['ps', '-aq'])).stdout.trim(), '');
  });

  test('doctor reports a healthy daemon, then drift when a bridge vanishes', async () => {
    assert.match((await d.cli(['doctor'])).stdout, /kernel:\s+ok[\s\S]*firewall:\s+ok/);
    const id = (await d.cli(['network', 'inspect', '-f', '{{.Id}}', 'app'])).stdout.trim();
    await d.ns.sh(`ip link del br-${id.slice(0, 12)}`);
    const r = await d.cli(['doctor'], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`bridge link br-${id.slice(0, 12)} is missing`));
  });

  test('usage errors name the bad value', async () => {
    const r = await d.cli(['run', '-p', '99999:80', '--', 'true'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /99999/);
    const bad = await d.cli(['run', '-p', '80/icmp', '--', 'true'], { allowFail: true });
    assert.match(bad.stderr, /icmp/);
    const off = await d.cli(['run', '-p', '203.0.113.9:8080:80', '--', 'true'], { allowFail: true });
    assert.notEqual(off.code, 0);
    assert.match(off.stderr, /203\.0\.113\.9/);
  });
});
