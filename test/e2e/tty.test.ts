// Interactive containers through a real terminal: the docker CLI runs in a
// tmux pane (a pty), keys are typed into it and the screen is read back.
// `docker run -it --rm busybox:latest` from the offline busybox image; the
// other containers are sandboxes on the host's filesystem created through
// the API, attached with `docker start -ai` and `docker attach`, which make
// the same calls as `docker run -it` after its create: attach (before the
// start), wait, start, resize, and kill?signal= for proxied signals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnlessCI } from '../helpers/ci.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { hasTmux, Tmux } from '../helpers/tmux.ts';
import { waitFor } from '../helpers/wait.ts';
import type { ContainerCreateWire } from '../../src/api/wire.ts';

const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('tty', privilegedSkipReason() ?? (hasDocker ? (hasTmux ? null : 'needs tmux') : 'needs the docker CLI'));

/** What `docker run -it` creates (C cli/command/container/opts.go): a terminal, an open stdin closed after one attach. */
function interactive(cmd: string[], extra: Partial<ContainerCreateWire> = {}): ContainerCreateWire {
  return {
    Cmd: cmd, Tty: true, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
    HostConfig: { NetworkMode: 'none', ConsoleSize: [24, 80] }, ...extra,
  };
}

describe(`interactive containers through a terminal${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let tmux: Tmux;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: d.host });
  const docker = (args: string[], input?: string) => run('timeout', ['-k', '5', '60', 'docker', ...args], env(), input);
  const gone = async (name: string): Promise<boolean> => (await d.client.raw('GET', `/containers/${name}/json`)).status === 404;
  const running = async (name: string): Promise<boolean> => (await d.client.containerInspect(name)).State.Running;

  before(async () => {
    d = await startTestDaemon();
    tmux = new Tmux(env());
    // The offline busybox image (scripts/make-busybox-image.ts).
    const tarPath = join(d.dir, 'busybox.tar');
    writeFileSync(tarPath, (await makeBusyboxImage()).tar);
    await d.docker(['load', '-i', tarPath]);
  });
  after(async () => {
    tmux?.destroy();
    await d?.destroy();
  });

  test('a shell at a terminal: typed commands, stty size follows the window, exit 3 ends docker with 3 and --rm removes it', async () => {
    await d.client.containerCreate('c1', interactive(['sh'], { HostConfig: { NetworkMode: 'none', AutoRemove: true, ConsoleSize: [24, 80] } }));
    const info = await d.client.containerInspect('c1');
    assert.equal(info.Config.Tty, true);
    assert.equal(info.Config.OpenStdin, true);
    assert.equal(info.Config.StdinOnce, true);
    assert.equal(info.Config.AttachStdin, true);
    tmux.run('w1', `docker start -ai c1`, { rows: 30, cols: 100 });
    await tmux.expect('w1', /# $/m);
    tmux.type('w1', 'echo hi-$((1+2))');
    await tmux.expect('w1', /^hi-3$/m);
    // The CLI sent its terminal's size after the start (POST /resize).
    tmux.type('w1', 'stty size');
    await tmux.expect('w1', /^30 100$/m);
    // A window change reaches the container (SIGWINCH -> resize).
    tmux.resize('w1', 40, 120);
    await waitFor(async () => {
      tmux.type('w1', 'stty size');
      await new Promise((r) => setTimeout(r, 200));
      return /^40 120$/m.test(tmux.screen('w1'));
    }, { what: () => `stty size 40 120 on\n${tmux.screen('w1')}` });
    tmux.type('w1', 'exit 3');
    assert.equal(await tmux.exitCode('w1'), 3);
    await waitFor(() => gone('c1'), { what: 'c1 to be removed (AutoRemove)' });
  });

  test('ctrl-p ctrl-q detaches and leaves it running; docker attach comes back, two at once; ctrl-c in a terminal is SIGINT (130)', async () => {
    await d.client.containerCreate('c2', interactive(['sh']));
    tmux.run('w2', 'docker start -ai c2');
    await tmux.expect('w2', /# $/m);
    tmux.keys('w2', 'C-p', 'C-q');
    assert.equal(await tmux.exitCode('w2'), 0);
    assert.equal(await running('c2'), true);
    tmux.run('w3', 'docker attach c2');
    // No prompt is printed anew on attach: typing shows the shell is there.
    await new Promise((r) => setTimeout(r, 300));
    tmux.type('w3', 'echo back-$((2*3))');
    await tmux.expect('w3', /^back-6$/m);
    // A second attacher at once: both see what either types, and its output.
    tmux.run('w3b', 'docker attach c2');
    await new Promise((r) => setTimeout(r, 300));
    tmux.type('w3b', 'echo both-$((3*3))');
    await tmux.expect('w3b', /^both-9$/m);
    await tmux.expect('w3', /^both-9$/m);
    tmux.type('w3', 'exit 1');
    assert.equal(await tmux.exitCode('w3b'), 1);
    assert.equal(await tmux.exitCode('w3'), 1);
    await waitFor(async () => !(await running('c2')), { what: 'c2 to stop' });
    assert.equal((await d.client.containerInspect('c2')).State.ExitCode, 1);

    // ctrl-c is a byte to the container's terminal, whose line discipline
    // sends SIGINT to its foreground process group.
    await d.client.containerCreate('c3', interactive(['sleep', '600']));
    tmux.run('w4', 'docker start -ai c3');
    await waitFor(() => running('c3'), { what: 'c3 to run' });
    tmux.keys('w4', 'C-c');
    assert.equal(await tmux.exitCode('w4'), 130);
  });

  test('the daemon killed with SIGKILL: the container runs on, docker attach works after the restart, docker logs has it all', async () => {
    await d.client.containerCreate('c4', interactive(['sh']));
    tmux.run('w5', 'docker start -ai c4');
    await tmux.expect('w5', /# $/m);
    tmux.type('w5', 'echo before-$((40+2))');
    await tmux.expect('w5', /^before-42$/m);
    const pid = (await d.client.containerInspect('c4')).State.Pid;
    await d.stop('SIGKILL');
    await tmux.exitCode('w5');
    await d.restart();
    const again = await d.client.containerInspect('c4');
    assert.equal(again.State.Running, true);
    assert.equal(again.State.Pid, pid, 'the same process');
    tmux.run('w6', 'docker attach c4');
    await new Promise((r) => setTimeout(r, 300));
    tmux.type('w6', 'echo after-$((50+5))');
    await tmux.expect('w6', /^after-55$/m);
    tmux.type('w6', 'exit 0');
    assert.equal(await tmux.exitCode('w6'), 0);
    // One stream, raw (no stdcopy headers), as the terminal showed it.
    const logs = await docker(['logs', 'c4']);
    assert.match(logs.stdout, /^# echo before-\$\(\(40\+2\)\)\r\nbefore-42\r\n/);
    assert.match(logs.stdout, /\r\nafter-55\r\n/);
    assert.ok(![...logs.stdout].some((c) => c.charCodeAt(0) < 8), 'no stdcopy header bytes');
  });

  test('without a terminal: stdin is piped in and its end closes it (StdinOnce); the output is stdout and stderr apart', async () => {
    await d.client.containerCreate('c5', { ...interactive(['sh', '-c', 'cat; echo done >&2; exit 5']), Tty: false });
    const r = await docker(['start', '-ai', 'c5'], 'line one\nline two\n');
    assert.deepEqual(r, { stdout: 'line one\nline two\n', stderr: 'done\n', code: 5 });
  });

  test('a container that ends at once still shows its output to the attach made before its start', async () => {
    await d.client.containerCreate('c6', interactive(['echo', 'quick'], { OpenStdin: false, StdinOnce: false, AttachStdin: false }));
    const r = await docker(['start', '-a', 'c6']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'quick\r\n');
    // Without a terminal too: stdout and stderr apart, the exit status passed on.
    await d.client.containerCreate('c6b', { Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 2'], AttachStdout: true, AttachStderr: true, HostConfig: { NetworkMode: 'none' } });
    assert.deepEqual(await docker(['start', '-a', 'c6b']), { stdout: 'out\n', stderr: 'err\n', code: 2 });
  });

  test('signals the CLI receives are proxied by name (kill?signal=TERM): the container traps it and exits with its own status', async () => {
    await d.client.containerCreate('c8', {
      Cmd: ['sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done'],
      AttachStdout: true, AttachStderr: true, HostConfig: { NetworkMode: 'none' },
    });
    tmux.run('w8', 'docker start -a c8');
    await tmux.expect('w8', /^ready$/m);
    const cli = spawnSync('pgrep', ['-f', '^docker start -a c8$'], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number).filter(Boolean);
    assert.equal(cli.length, 1, 'one docker CLI process');
    process.kill(cli[0] ?? 0, 'SIGTERM');
    // The CLI v28 itself ends on SIGTERM with 0 after forwarding it (so
    // does it against Docker 20.10's daemon); the container got the signal.
    assert.equal(await tmux.exitCode('w8'), 0);
    await waitFor(async () => !(await running('c8')), { what: 'c8 to stop' });
    assert.equal((await d.client.containerInspect('c8')).State.ExitCode, 7);
    assert.match((await docker(['logs', 'c8'])).stdout, /^ready\ngot-term\n$/);
  });

  test('docker run -it --rm --name r1 busybox:latest: a shell, its exit code, --rm; detach and attach; ctrl-c with --init is 130', async () => {
    tmux.run('r1', 'docker run -it --rm --name r1 busybox:latest', { rows: 30, cols: 100 });
    await tmux.expect('r1', /# $/m);
    tmux.type('r1', 'echo hi-$((1+2))');
    await tmux.expect('r1', /^hi-3$/m);
    tmux.type('r1', 'stty size');
    await tmux.expect('r1', /^30 100$/m);
    tmux.type('r1', 'exit 3');
    assert.equal(await tmux.exitCode('r1'), 3);
    await waitFor(() => gone('r1'), { what: 'r1 to be removed (--rm)' });

    tmux.run('r2', 'docker run -it --name r2 busybox:latest');
    await tmux.expect('r2', /# $/m);
    tmux.keys('r2', 'C-p', 'C-q');
    assert.equal(await tmux.exitCode('r2'), 0);
    assert.equal(await running('r2'), true);
    tmux.run('r3', 'docker attach r2');
    await new Promise((r) => setTimeout(r, 300));
    tmux.type('r3', 'echo back-$((2*3))');
    await tmux.expect('r3', /^back-6$/m);
    tmux.type('r3', 'exit 0');
    assert.equal(await tmux.exitCode('r3'), 0);

    // sleep as PID 1 would ignore SIGINT (no handler), in Docker too: --init passes it on.
    tmux.run('r4', 'docker run -it --rm --init busybox:latest sleep 600');
    await waitFor(async () => (await d.client.containerList(false)).some((c) => c.Image === 'busybox:latest'), { what: 'the sleep to run' });
    tmux.keys('r4', 'C-c');
    assert.equal(await tmux.exitCode('r4'), 130);
  });

  test('docker run -i --rm busybox: stdin piped in and closed at its end, a large output whole, the exit status', async () => {
    const input = 'line one\nline two\n';
    assert.deepEqual(await docker(['run', '-i', '--rm', 'busybox:latest', 'sh', '-c', 'cat; exit 4'], input), { stdout: input, stderr: '', code: 4 });
    // 8 MB through the monitor's socket and the daemon (the CLI reads as fast as it can).
    const big = await docker(['run', '-i', '--rm', 'busybox:latest', 'sh', '-c', 'head -c 6000000 /dev/zero | od -v | head -c 8000000; echo; echo end'], '');
    assert.equal(big.code, 0, big.stderr);
    assert.equal(big.stdout.length, 8000000 + 5);
    assert.ok(big.stdout.endsWith('\nend\n'));
  });

  test('seed 004 typed at a terminal: ping container2 is a bad address until it joins test-network, then it answers; --rm removes container1', async () => {
    await d.docker(['network', 'create', 'test-network', '-d', 'bridge']);
    await d.docker(['run', '-dit', '--name', 'container2', 'busybox:latest']);
    tmux.run('s1', 'docker run -it --rm --name container1 --network test-network busybox:latest');
    await tmux.expect('s1', /# $/m);
    tmux.type('s1', 'ping -c 1 container2');
    await tmux.expect('s1', /bad address 'container2'/);
    await d.docker(['network', 'connect', 'test-network', 'container2']);
    tmux.type('s1', 'ping -c 1 container2');
    await tmux.expect('s1', /1 packets transmitted, 1 packets received/);
    tmux.type('s1', 'exit');
    assert.equal(await tmux.exitCode('s1'), 0);
    await waitFor(() => gone('container1'), { what: 'container1 to be removed (--rm)' });
    await d.docker(['network', 'disconnect', 'test-network', 'container2']);
    await d.docker(['rm', '-f', 'container2']);
    await d.docker(['network', 'rm', 'test-network']);
  });

  test('the daemon acts on detachKeys itself (Docker\'s ctrl-x,a syntax): the attach ends, the container runs on', async () => {
    await d.client.containerCreate('c10', interactive(['sh']));
    await d.client.containerStart('c10');
    const sock = connect(d.socket);
    let got = '';
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('data', (b: Buffer) => { got += b.toString('latin1'); });
    sock.write('POST /v1.50/containers/c10/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-x,a HTTP/1.1\r\nHost: cnm\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    await waitFor(() => got.includes('101 UPGRADED'), { what: () => `the upgrade: ${JSON.stringify(got)}` });
    sock.write('echo one-$((0+1))\n');
    await waitFor(() => /\r\none-1\r\n/.test(got), { what: () => `the echo: ${JSON.stringify(got)}` });
    // ctrl-x then a: the daemon closes the connection.
    sock.write(Buffer.from('echo two\x18a'));
    await closed;
    assert.equal(await running('c10'), true);
  });

  test('bad input: resize of a stopped container is 409, bad sizes and detach keys are 400, kill of a stopped one 409', async () => {
    await d.client.containerCreate('c7', interactive(['sh']));
    assert.equal((await d.client.raw('POST', '/containers/c7/resize?h=10&w=20')).status, 409);
    const bad = await d.client.raw('POST', '/containers/c7/resize?h=ten&w=20');
    assert.equal(bad.status, 400);
    assert.match((JSON.parse(bad.body.toString()) as { message: string }).message, /invalid resize parameter h="ten": expected a whole number/);
    const keys = await d.client.raw('POST', '/containers/c7/attach?stream=1&stdin=1&detachKeys=ctrl-%3F');
    assert.equal(keys.status, 400);
    assert.match(keys.body.toString(), /Invalid detach keys \(ctrl-\?\)/);
    const kill = await d.client.raw('POST', '/containers/c7/kill?signal=TERM');
    assert.equal(kill.status, 409);
    const sig = await d.client.raw('POST', '/containers/c7/kill?signal=NOPE');
    assert.equal(sig.status, 400);
    assert.match(sig.body.toString(), /Invalid signal: NOPE/);
    const cond = await d.client.raw('POST', '/containers/c7/wait?condition=soon');
    assert.equal(cond.status, 400);
  });
});
