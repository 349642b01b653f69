// docker-py (Debian's python3-docker) and dockerode (npm) container calls
// against cnm with the offline busybox image: run, create/start, logs, wait,
// exec with its exit code, attach, stop, remove.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';

const hasDockerPy = spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('container clients', privilegedSkipReason() ?? (hasDockerPy ? null : 'needs docker-py (python3-docker)'));

describe(`docker-py and dockerode container calls${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cnm-ctr-clients-'));
    writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
    await d.docker(['load', '-i', join(dir, 'busybox.tar')]);
  });

  after(async () => {
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('docker-py: run, detach, logs, exec_run, wait, stop, remove', async () => {
    const script = `
import docker, sys
c = docker.DockerClient(base_url=${JSON.stringify(d.host)})
out = c.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], remove=True, stderr=True)
assert out == b"out\\nerr\\n", out
ctr = c.containers.run("busybox", ["sh", "-c", "echo started; exec sleep 300"], detach=True, name="pyc", init=True)
ctr.reload()
assert ctr.status == "running", ctr.status
assert ctr.attrs["Config"]["Image"] == "busybox"
code, output = ctr.exec_run(["sh", "-c", "echo in-exec; exit 3"])
assert (code, output) == (3, b"in-exec\\n"), (code, output)
import time
for _ in range(100):
    if b"started" in ctr.logs(): break
    time.sleep(0.05)
assert ctr.logs() == b"started\\n", ctr.logs()
ctr.stop(timeout=2)
assert ctr.wait()["StatusCode"] == 143, ctr.wait()
ctr.remove()
try:
    c.containers.get("pyc")
    sys.exit("pyc still there")
except docker.errors.NotFound:
    pass
# Not here, so docker-py pulls it: from a registry that is not there (loopback only).
try:
    c.containers.run("127.0.0.1:5999/nosuch:1", ["true"])
    sys.exit("ran an image that does not exist")
except docker.errors.APIError as e:
    assert "127.0.0.1:5999" in str(e), str(e)
print("ok")
`;
    const r = await run('timeout', ['-k', '5', '120', 'python3', '-c', script], process.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });

  test('dockerode: createContainer, attach, start, wait, exec with its exit code, remove', async () => {
    const docker = new Docker({ socketPath: d.socket });
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo hello; echo oops >&2; exit 5'], name: 'noded' });
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (b: Buffer) => { o += b.toString(); });
    err.on('data', (b: Buffer) => { e += b.toString(); });
    c.modem.demuxStream(stream, out, err);
    const ended = new Promise((r) => stream.on('end', r));
    await c.start();
    assert.deepEqual(await c.wait(), { StatusCode: 5, Error: null });
    await ended;
    assert.equal(o, 'hello\n');
    assert.equal(e, 'oops\n');
    await c.remove();

    const s = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { Init: true } });
    await s.start();
    const ex = await s.exec({ Cmd: ['sh', '-c', 'echo from exec; exit 9'], AttachStdout: true, AttachStderr: true });
    const es = await ex.start({ hijack: true, stdin: false });
    let eo = '';
    const eout = new PassThrough();
    eout.on('data', (b: Buffer) => { eo += b.toString(); });
    s.modem.demuxStream(es, eout, new PassThrough());
    await new Promise((r) => es.on('end', r));
    assert.equal(eo, 'from exec\n');
    assert.equal((await ex.inspect()).ExitCode, 9);
    await s.remove({ force: true });
    assert.deepEqual(await docker.listContainers({ all: true }), []);
  });
});
