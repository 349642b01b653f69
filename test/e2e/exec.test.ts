// docker exec and docker attach against cnm: the real docker CLI (and the
// API where the CLI hides a detail) drives a daemon in its own namespace.
// Exec'd processes run through the sandbox's runtime (runc exec) in the
// daemon, with pipes, or with a terminal relayed by cnm's monitor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { CNM, run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { runSandbox } from '../helpers/sandbox.ts';

const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('exec', privilegedSkipReason() ?? (hasDocker ? null : 'needs the docker CLI'));

/** Everything the daemon sends on a hijacked stream, until it closes it. */
function readAll(socket: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

describe(`exec and attach${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: d.host, CNM_HOST: d.host });
  /** docker ARGS with stdin, killed after 60 s (code 124 then). */
  const docker = (args: string[], input?: string) => run('timeout', ['-k', '5', '60', 'docker', ...args], env(), input);
  /** COMMAND under a pseudo-terminal of its own (script), as a user's shell would run it. */
  const inTty = (command: string, input?: string) => run('timeout', ['-k', '5', '60', 'script', '-qec', command, '/dev/null'], env(), input);

  before(async () => {
    d = await startTestDaemon();
    await runSandbox(d, 'box', { network: 'none' });
  });
  after(async () => { await d?.destroy(); });

  test('docker exec runs the command and passes stdout, stderr and the exit status through', async () => {
    assert.deepEqual(await docker(['exec', 'box', 'echo', 'hi']), { stdout: 'hi\n', stderr: '', code: 0 });
    const r = await docker(['exec', 'box', 'sh', '-c', 'echo out; echo err >&2; exit 42']);
    assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', code: 42 });
    // As Docker: a missing command is 127, with the runtime's words.
    const missing = await docker(['exec', 'box', 'no-such-command']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /executable file not found in \$PATH/);
  });

  test('docker exec -i copies stdin to the process and closes it at the end', async () => {
    assert.deepEqual(await docker(['exec', '-i', 'box', 'cat'], 'line 1\nline 2\n'), { stdout: 'line 1\nline 2\n', stderr: '', code: 0 });
    const big = 'x'.repeat(2 * 1024 * 1024);
    const r = await docker(['exec', '-i', 'box', 'wc', '-c'], big);
    assert.equal(r.stdout.trim(), String(big.length));
  });

  test('docker exec -u, -w and -e reach the process', async () => {
    const r = await docker(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'GREETING=hello', 'box', 'sh', '-c', 'id -u; pwd; echo $GREETING']);
    assert.deepEqual(r, { stdout: '65534\n/tmp\nhello\n', stderr: '', code: 0 });
    const bad = await docker(['exec', '-u', 'no-such-user', 'box', 'true']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error response from daemon: unable to find user no-such-user: no matching entries in passwd file/);
  });

  test('an exec\'d process is confined as the sandbox is (same capability bounding set, same namespaces)', async () => {
    const init = (await docker(['exec', 'box', 'sh', '-c', 'grep CapBnd /proc/1/status; readlink /proc/1/ns/pid /proc/1/ns/mnt'])).stdout;
    const self = (await docker(['exec', 'box', 'sh', '-c', 'grep CapBnd /proc/self/status; readlink /proc/self/ns/pid /proc/self/ns/mnt'])).stdout;
    assert.equal(self, init);
    assert.doesNotMatch(self, /CapBnd:\s*000001ffffffffff/, 'not every capability');
    const priv = await docker(['exec', '--privileged', 'box', 'true']);
    assert.equal(priv.code, 1);
    assert.match(priv.stderr, /cnm does not run privileged exec in a confined sandbox/);
  });

  test('docker exec -t gets a terminal (TERM=xterm); -it relays the keyboard', { skip: skipUnlessCI('exec -t', hasScript ? null : 'needs script (util-linux)') }, async () => {
    // TERM from the test's environment must not leak in: the daemon sets it.
    const r = await run('timeout', ['-k', '5', '60', 'script', '-qec', "docker exec -t box sh -c 'tty; echo $TERM; exit 3'", '/dev/null'], { ...env(), TERM: 'dumb' });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r+\nxterm\r+\n$/);
    const it = await inTty("docker exec -it box sh -c 'read x; echo got $x'", 'typed\n');
    assert.equal(it.code, 0, it.stderr);
    assert.match(it.stdout, /got typed/);
    // cnm's own CLI, the same way.
    const own = await inTty(`nsenter --net=${d.ns.path} ${CNM} exec -t box sh -c 'tty; exit 5'`);
    assert.equal(own.code, 5, own.stderr);
    assert.match(own.stdout, /^\/dev\/pts\/\d+\r+\n$/);
  });

  test('the terminal takes ConsoleSize and later resizes', async () => {
    const { Id } = await d.client.execCreate('box', {
      Cmd: ['sh', '-c', 'read x; stty size'], Tty: true, AttachStdin: true, AttachStdout: true, ConsoleSize: [30, 100],
    });
    const { socket, contentType } = await d.client.execStart(Id, { Tty: true });
    assert.equal(contentType, 'application/vnd.docker.raw-stream');
    const out = readAll(socket);
    await d.client.execResize(Id, 40, 120);
    socket.write('go\n');
    assert.match((await out).toString(), /40 120\r\n$/);
    const inspect = await d.client.execInspect(Id);
    assert.equal(inspect.ExitCode, 0);
    assert.equal(inspect.ProcessConfig.tty, true);
  });

  test('exec inspect, start twice, resize of an unknown exec, detached start', async () => {
    const { Id } = await d.client.execCreate('box', { Cmd: ['sh', '-c', 'exit 4'], AttachStdout: true });
    const before = await d.client.execInspect(Id);
    assert.deepEqual([before.ID, before.Running, before.ExitCode, before.ContainerID.length, before.OpenStdout, before.OpenStdin],
      [Id, false, null, 64, true, false]);
    const { socket, contentType } = await d.client.execStart(Id, {});
    assert.equal(contentType, 'application/vnd.docker.multiplexed-stream');
    await readAll(socket);
    assert.equal((await d.client.execInspect(Id)).ExitCode, 4);
    const again = await d.client.raw('POST', `/exec/${Id}/start`, {});
    assert.equal(again.status, 409);
    assert.match(again.body.toString(), new RegExp(`Exec command ${Id} has already run`));
    const unknown = await d.client.raw('POST', '/exec/no-such-exec/resize?h=10&w=10');
    assert.deepEqual([unknown.status, JSON.parse(unknown.body.toString())], [404, { message: 'No such exec instance: no-such-exec' }]);
    const detached = await d.client.execCreate('box', { Cmd: ['sh', '-c', 'read x < /dev/null; echo ignored; sleep 0.5; exit 9'] });
    const start = await d.client.raw('POST', `/exec/${detached.Id}/start`, { Detach: true });
    assert.equal(start.status, 200);
    let info = await d.client.execInspect(detached.Id);
    for (let i = 0; i < 200 && info.Running; i++) {
      await new Promise((r) => setTimeout(r, 50));
      info = await d.client.execInspect(detached.Id);
    }
    assert.deepEqual([info.Running, info.ExitCode], [false, 9]);
  });

  test('exec start without Upgrade answers 200 raw-stream and streams the output', async () => {
    const { Id } = await d.client.execCreate('box', { Cmd: ['echo', 'plain'], AttachStdout: true });
    const r = await run('curl', ['-s', '-i', '--unix-socket', d.socket, '-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{}', `http://cnm/v1.50/exec/${Id}/start`], env());
    assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/vnd\.docker\.raw-stream\r\n\r\n/);
    assert.ok(r.stdout.endsWith('\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0006plain\n'), JSON.stringify(r.stdout));
  });

  test('docker attach streams the output from now on until the sandbox stops, then exits with its status', async () => {
    await runSandbox(d, 'talker', {
      network: 'none', cmd: ['sh', '-c', 'echo before; until [ -e /tmp/go ]; do echo tick; sleep 0.2; done; echo after; echo oops >&2; exit 4'],
    });
    const att = spawn('docker', ['attach', 'talker'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    att.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    att.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const closed = new Promise<number | null>((resolve) => att.on('close', resolve));
    // Attached once the ticks come through; then the sandbox may finish.
    for (let i = 0; i < 200 && !out.includes('tick'); i++) await new Promise((r) => setTimeout(r, 50));
    await docker(['exec', 'talker', 'touch', '/tmp/go']);
    assert.equal(await closed, 4, err);
    assert.match(out, /^(tick\n)+after\n$/, 'only what came after the attach');
    assert.equal(err, 'oops\n');
    // logs=1 replays first (a stopped sandbox: then the stream ends).
    const replay = await d.client.raw('POST', '/containers/talker/attach?logs=1&stdout=1&stderr=1');
    assert.equal(replay.status, 200);
    assert.match(replay.body.toString(), /before\n[\s\S]*after\n[\s\S]*oops\n/);
  });

  test('attaching stdin is refused clearly (501); exec in a stopped sandbox is a 409 as in Docker', async () => {
    const r = await d.client.raw('POST', '/containers/box/attach?stream=1&stdin=1&stdout=1');
    assert.equal(r.status, 501);
    assert.match(r.body.toString(), /cnm does not attach stdin: container box has no open stdin/);
    const id = await runSandbox(d, 'brief', { network: 'none', cmd: ['true'] });
    await d.client.containerWait(id);
    const stopped = await docker(['exec', 'brief', 'true']);
    assert.equal(stopped.code, 1);
    assert.equal(stopped.stderr, `Error response from daemon: container ${id} is not running\n`);
    const api = await d.client.raw('POST', '/containers/brief/exec', { Cmd: ['true'] });
    assert.equal(api.status, 409);
  });
});
