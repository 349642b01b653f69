// docker top, stats, pause/unpause, rename and container prune against cnm
// with the real docker CLI: top lists the sandbox's own processes, stats
// shows the --memory limit, a paused sandbox's process makes no progress
// until unpaused, a renamed sandbox answers in the embedded DNS by its new
// name only, and prune removes stopped sandboxes only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox, ipOf, runSandbox } from '../helpers/sandbox.ts';
import { elapse, waitFor } from '../helpers/wait.ts';

const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('container ops', privilegedSkipReason() ?? (hasDocker ? null : 'needs the docker CLI'));

describe(`docker top, stats, pause, rename, prune${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  const docker = (args: string[]) => run('timeout', ['-k', '5', '60', 'docker', ...args], { ...process.env, DOCKER_HOST: d.host });
  const ok = async (args: string[]): Promise<string> => {
    const r = await docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test('docker top lists the sandbox\'s processes, and only them; ps_args reach ps', async () => {
    await runSandbox(d, 'topbox', { cmd: ['sleep', '4242'] });
    const out = await ok(['top', 'topbox']);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.ok(lines.some((l) => /sleep 4242$/.test(l)), out);
    // The init (cnm's monitor as PID 1) and the command: nothing of the host.
    assert.ok(lines.length - 1 <= 2, out);
    const custom = await ok(['top', 'topbox', '-o', 'pid,comm']);
    assert.match(custom, /^\s*PID\s+COMMAND\n(?:.*\n)*\s*\d+\s+sleep\n?/m);
    const stopped = await docker(['top', 'no-such-box']);
    assert.match(stopped.stderr, /No such container: no-such-box/);
  });

  test('docker stats --no-stream shows the memory limit set with --memory, pids and network I/O', async () => {
    await runSandbox(d, 'statbox', { extra: { HostConfig: { NetworkMode: 'bridge', Memory: 64 * 1024 * 1024 } } });
    const out = await ok(['stats', '--no-stream', '--format', '{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.NetIO}}|{{.CPUPerc}}', 'statbox']);
    const [name, mem, pids, net, cpu] = out.trim().split('|');
    assert.equal(name, 'statbox');
    assert.match(mem!, /^\d+(\.\d+)?[KMG]?i?B \/ 64MiB$/);
    assert.ok(Number(pids) >= 1, out);
    assert.match(net!, /^\d+(\.\d+)?[kMG]?B \/ \d+(\.\d+)?[kMG]?B$/);
    assert.match(cpu!, /^\d+\.\d\d%$/);
    // Without a limit, the host's memory is the limit, as in Docker.
    await runSandbox(d, 'statfree');
    const free = await ok(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'statfree']);
    assert.doesNotMatch(free, /\/ 8EiB|\/ 0B/);
  });

  test('a paused sandbox makes no progress and cannot exec; unpause resumes it; a paused sandbox still stops', async () => {
    await runSandbox(d, 'counter', { cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done'] });
    const count = async (): Promise<number> => (await ok(['logs', 'counter'])).trim().split('\n').length;
    await waitFor(async () => (await count()) > 3, { what: 'the counter to count' });
    await ok(['pause', 'counter']);
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', 'counter'])).trim(), 'paused true true');
    assert.match(await ok(['ps', '--filter', 'name=counter', '--format', '{{.Status}}']), /^Up .* \(Paused\)$/m);
    assert.equal((await ok(['ps', '-q', '--filter', 'status=paused'])).trim().split('\n').length, 1);
    const frozen = await count();
    await elapse(1000);
    assert.equal(await count(), frozen, 'no line while paused');
    const exec = await docker(['exec', 'counter', 'true']);
    assert.match(exec.stderr, /Error response from daemon: Container counter is paused, unpause the container before exec/);
    assert.match((await docker(['pause', 'counter'])).stderr, /is already paused/);
    await ok(['unpause', 'counter']);
    await waitFor(async () => (await count()) > frozen + 3, { what: 'the counter to count again' });
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'counter'])).trim(), 'running');
    assert.match((await docker(['unpause', 'counter'])).stderr, /is not paused/);
    await ok(['pause', 'counter']);
    await ok(['stop', '-t', '5', 'counter']);
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'counter'])).trim(), 'exited false');
  });

  test('docker kill -s delivers the signal and leaves the sandbox running; a plain kill ends it; a second is a 409', async () => {
    await runSandbox(d, 'hupper', { network: 'none', cmd: ['sh', '-c', 'trap "echo got-hup" HUP; echo ready; while true; do sleep 0.1; done'] });
    await waitFor(async () => (await ok(['logs', 'hupper'])).includes('ready'), { what: 'the trap to be set' });
    await ok(['kill', '-s', 'HUP', 'hupper']);
    await waitFor(async () => (await ok(['logs', 'hupper'])).includes('got-hup'), { what: 'the HUP to arrive' });
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'hupper'])).trim(), 'running');
    assert.match((await docker(['kill', '-s', 'NOPE', 'hupper'])).stderr, /Invalid signal: NOPE/);
    await ok(['kill', 'hupper']);
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'hupper'])).trim(), 'exited 137');
    const again = await docker(['kill', 'hupper']);
    assert.match(again.stderr, /Error response from daemon: cannot kill container: hupper: container [0-9a-f]{64} is not running/);
  });

  test('docker rename: the embedded DNS answers the new name, not the old; a taken name is a 409', async () => {
    await d.client.networkCreate({ Name: 'rn-net' });
    await runSandbox(d, 'old-name', { network: 'rn-net' });
    await runSandbox(d, 'asker', { network: 'rn-net' });
    const ip = await ipOf(d, 'old-name', 'rn-net');
    const resolve = async (name: string): Promise<string> => (await inSandbox(d, 'asker', `getent ahostsv4 ${name} | awk '{print $1}' | sort -u`)).stdout.trim();
    assert.equal(await resolve('old-name'), ip);
    await ok(['rename', 'old-name', 'new-name']);
    assert.equal(await resolve('new-name'), ip);
    assert.equal(await resolve('old-name'), '');
    assert.equal((await ok(['ps', '--filter', 'name=new-name', '--format', '{{.Names}}'])).trim(), 'new-name');
    assert.match(await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', 'rn-net']), /\bnew-name\b/);
    const clash = await docker(['rename', 'new-name', 'asker']);
    assert.match(clash.stderr, /Error response from daemon: Conflict\. The container name "\/asker" is already in use by container "[0-9a-f]{64}"/);
    const raw = await d.client.raw('POST', '/containers/new-name/rename?name=asker');
    assert.equal(raw.status, 409);
    const bad = await d.client.raw('POST', '/containers/new-name/rename?name=bad%20name');
    assert.equal(bad.status, 400);
  });

  test('docker container prune removes stopped and created sandboxes only, with label filters', async () => {
    const created = (await d.client.containerCreate('never-started', { Cmd: ['sleep', '1'], HostConfig: { NetworkMode: 'none' } })).Id;
    await runSandbox(d, 'keep-me', { network: 'none', extra: { Labels: { keep: 'yes' } } });
    await ok(['stop', '-t', '1', 'keep-me']);
    await runSandbox(d, 'stop-me', { network: 'none' });
    await ok(['stop', '-t', '1', 'stop-me']);
    const running = (await ok(['ps', '-q', '--no-trunc'])).trim().split('\n').sort();
    const out = await ok(['container', 'prune', '-f', '--filter', 'label!=keep']);
    assert.match(out, new RegExp(`^Deleted Containers:\\n(?:[0-9a-f]{64}\\n)+\\nTotal reclaimed space: 0B\\n$`));
    assert.ok(out.includes(created));
    const left = (await ok(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).trim().split('\n');
    assert.ok(left.includes('keep-me exited'), left.join(','));
    assert.ok(left.every((l) => l === 'keep-me exited' || l.endsWith(' running')), left.join(','));
    assert.deepEqual((await ok(['ps', '-q', '--no-trunc'])).trim().split('\n').sort(), running, 'running sandboxes stay');
    await ok(['container', 'prune', '-f']);
    assert.deepEqual((await ok(['ps', '-a', '-q', '--no-trunc'])).trim().split('\n').sort(), running);
  });

  test('from an image: docker run -d busybox, top, pause, cp, events name the image, prune frees what the container wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnm-ctr-ops-'));
    try {
      writeFileSync(join(dir, 'busybox.tar'), (await makeBusyboxImage()).tar);
      await ok(['load', '-i', join(dir, 'busybox.tar')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const t0 = Date.now() - 1;
    const id = (await ok(['run', '-d', '--name', 'imgbox', '--label', 'img-prune=1', 'busybox', 'sh', '-c', 'head -c 200000 /dev/zero > /written; exec sleep 4343'])).trim();
    assert.ok((await ok(['top', 'imgbox'])).split('\n').some((l) => /sleep 4343$/.test(l)));
    await ok(['pause', 'imgbox']);
    await ok(['unpause', 'imgbox']);
    const cpDir = mkdtempSync(join(tmpdir(), 'cnm-ctr-cp-'));
    try {
      writeFileSync(join(cpDir, 'in.txt'), 'copied\n');
      await ok(['cp', join(cpDir, 'in.txt'), 'imgbox:/in.txt']);
      await ok(['cp', 'imgbox:/in.txt', join(cpDir, 'out.txt')]);
    } finally {
      rmSync(cpDir, { recursive: true, force: true });
    }
    await waitFor(async () => (await docker(['exec', 'imgbox', 'test', '-s', '/written'])).code === 0, { what: 'the file to be written' });
    await ok(['stop', '-t', '1', 'imgbox']);
    const events = (await ok(['events', '--since', String(t0 / 1000), '--until', String((Date.now() + 1) / 1000), '--filter', 'container=imgbox', '--format', '{{.Action}} {{.From}} {{index .Actor.Attributes "img-prune"}}'])).trim().split('\n');
    // sleep as PID 1 ignores SIGTERM: a second kill (SIGKILL) follows the timeout, as in Docker.
    const life = events.filter((e, i) => !e.startsWith('exec_') && !(e.startsWith('kill') && events[i - 1]?.startsWith('kill')));
    assert.deepEqual(life, ['create busybox 1', 'start busybox 1', 'top busybox 1', 'pause busybox 1', 'unpause busybox 1', 'extract-to-dir busybox 1', 'archive-path busybox 1', 'kill busybox 1', 'die busybox 1', 'stop busybox 1']);
    const r = await d.client.raw('POST', `/containers/prune?filters=${encodeURIComponent('{"label":["img-prune=1"]}')}`);
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body.toString()) as { ContainersDeleted: string[]; SpaceReclaimed: number };
    assert.deepEqual(body.ContainersDeleted, [id]);
    assert.ok(body.SpaceReclaimed >= 200000, `SpaceReclaimed ${body.SpaceReclaimed}`);
  });
});
