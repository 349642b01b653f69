// Volumes and mounts against a real daemon: docker volume create/ls/inspect/
// rm/prune with the docker CLI, and containers (host-filesystem sandboxes,
// through the API) that write into a named volume, read it from another,
// mount a host path read-only, get a tmpfs, and lose their anonymous volumes
// with rm -v. Nothing is mounted on the host: every mount is runc's, inside
// the container's own mount namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipTest, skipUnlessCI } from '../helpers/ci.ts';
import Docker from 'dockerode';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import type { ContainerCreateWire } from '../../src/api/wire.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';

const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = skipUnlessCI('volumes', privilegedSkipReason() ?? (hasDocker ? null : 'needs the docker CLI'));

describe(`volumes and mounts${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  const volumesDir = (): string => join(d.dir, 'data', 'volumes');

  /** Creates (through the API, no image: host binaries) and optionally runs a container to its end. */
  async function container(name: string, cmd: string, hc: NonNullable<ContainerCreateWire['HostConfig']>, wait = true): Promise<{ id: string; out: string; code: number }> {
    const { Id } = await d.client.containerCreate(name, { Cmd: ['sh', '-c', cmd], HostConfig: { NetworkMode: 'none', ...hc } });
    await d.client.containerStart(Id);
    if (!wait) return { id: Id, out: '', code: 0 };
    const { StatusCode } = await d.client.containerWait(Id);
    const logs = await d.docker(['logs', Id], { allowFail: true });
    return { id: Id, out: logs.stdout + logs.stderr, code: StatusCode };
  }

  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test('docker volume create, ls, inspect and rm, in Docker\'s layout', async () => {
    assert.equal((await d.docker(['volume', 'create', '--label', 'team=blue', 'data1'])).stdout, 'data1\n');
    // Creating it again returns the same volume, as Docker does.
    assert.equal((await d.docker(['volume', 'create', 'data1'])).stdout, 'data1\n');
    const info = JSON.parse((await d.docker(['volume', 'inspect', 'data1'])).stdout) as Record<string, unknown>[];
    assert.equal(info.length, 1);
    const v = info[0] ?? {};
    assert.equal(v.Name, 'data1');
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.equal(v.Mountpoint, join(volumesDir(), 'data1', '_data'));
    assert.deepEqual(v.Labels, { team: 'blue' });
    assert.match(String(v.CreatedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(existsSync(join(volumesDir(), 'data1', '_data')));
    assert.match((await d.docker(['volume', 'ls'])).stdout, /local\s+data1\n/);
    assert.equal((await d.docker(['volume', 'ls', '-q', '-f', 'label=team=blue'])).stdout, 'data1\n');
    assert.equal((await d.docker(['volume', 'ls', '-q', '-f', 'label=team=red'])).stdout, '');
    assert.equal((await d.docker(['volume', 'ls', '-q', '-f', 'dangling=true', '-f', 'name=data'])).stdout, 'data1\n');
    assert.equal((await d.docker(['volume', 'rm', 'data1'])).stdout, 'data1\n');
    assert.ok(!existsSync(join(volumesDir(), 'data1')));
    const gone = await d.docker(['volume', 'inspect', 'data1'], { allowFail: true });
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no such volume/);
    // rm -f of a missing volume is quiet, as in Docker.
    assert.equal((await d.docker(['volume', 'rm', '-f', 'data1'])).code, 0);
  });

  test('cnm volume: the same commands, flags and output as docker volume', async () => {
    assert.equal((await d.cli(['volume', 'create', '--label', 'k=v', 'cli-vol'])).stdout, 'cli-vol\n');
    const anon = (await d.cli(['volume', 'create'])).stdout.trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    for (const args of [['volume', 'ls'], ['volume', 'ls', '-q'], ['volume', 'ls', '-f', 'label=k=v', '--format', '{{.Name}} {{.Labels}}'],
      ['volume', 'inspect', '-f', '{{.Mountpoint}} {{.Scope}}', 'cli-vol']]) {
      assert.equal((await d.cli(args)).stdout, (await d.docker(args)).stdout, args.join(' '));
    }
    const pruned = await d.cli(['volume', 'prune', '-f']);
    assert.equal(pruned.stdout, `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 0B\n`);
    assert.equal((await d.cli(['volume', 'rm', 'cli-vol'])).stdout, 'cli-vol\n');
    const gone = await d.cli(['volume', 'rm', 'cli-vol'], { allowFail: true });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no such volume/);
  });

  test('a volume with something mounted in it on the host is not removed through that mount', async () => {
    await d.docker(['volume', 'create', 'hosted']);
    const data = join(volumesDir(), 'hosted', '_data');
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'cnmt-vol', data]).status, 0);
    try {
      writeFileSync(join(data, 'precious'), 'x');
      const r = await d.docker(['volume', 'rm', 'hosted'], { allowFail: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /is a mount point on the host: unmount it first/);
      assert.ok(existsSync(join(data, 'precious')));
    } finally {
      spawnSync('umount', [data]);
    }
    await d.docker(['volume', 'rm', 'hosted']);
  });

  test('docker-py and dockerode volume calls', async (t) => {
    if (spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' }).status !== 0) return skipTest(t, 'needs docker-py (python3-docker)');
    const script = `
import docker, sys
c = docker.from_env()
v = c.volumes.create(name="pyvol", driver="local", labels={"a": "b"})
assert v.name == "pyvol" and v.attrs["Mountpoint"].endswith("/volumes/pyvol/_data"), v.attrs
assert [x.name for x in c.volumes.list(filters={"label": "a=b"})] == ["pyvol"]
assert c.volumes.get("pyvol").attrs["Labels"] == {"a": "b"}
anon = c.volumes.create()
r = c.volumes.prune()
assert r["VolumesDeleted"] == [anon.name], r
v.remove(force=True)
try:
    c.volumes.get("pyvol")
    sys.exit("pyvol still there")
except docker.errors.NotFound:
    pass
print("ok")
`;
    const r = await run('timeout', ['-k', '5', '60', 'python3', '-c', script], { ...process.env, DOCKER_HOST: d.host });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
    const docker = new Docker({ socketPath: d.socket });
    await docker.createVolume({ Name: 'nodevol', Labels: { k: 'v' } });
    const { Volumes } = await docker.listVolumes({ filters: { name: ['nodevol'] } });
    assert.deepEqual(Volumes.map((x) => x.Name), ['nodevol']);
    const info = await docker.getVolume('nodevol').inspect();
    assert.deepEqual([info.Name, info.Scope, info.Labels], ['nodevol', 'local', { k: 'v' }]);
    await docker.getVolume('nodevol').remove();
    const err = await docker.getVolume('nodevol').inspect().then(() => undefined, (e: { statusCode?: number }) => e);
    assert.equal(err?.statusCode, 404);
  });

  test('bad volume requests are refused with the value named, and nothing is made', async () => {
    const cases: [string[], RegExp][] = [
      // Docker's words, checked against Docker 20.10.
      [['--opt', 'foo=bar', 'v-bad1'], /Error response from daemon: create v-bad1: invalid option: "foo"/],
      [['--opt', 'type=tmpfs', 'v-bad2'], /create v-bad2: missing required option: "device"/],
      [['--opt', 'type=nfs', '--opt', 'device=:/x', 'v-bad3'], /volume type "nfs" needs a mount on the host/],
      [['--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=lots', 'v-bad4'], /invalid tmpfs option "size=lots"/],
      [['-d', 'nosuchdriver', 'v-bad5'], /create v-bad5: error looking up volume plugin nosuchdriver: plugin "nosuchdriver" not found/],
      [['a/b'], /create a\/b: "a\/b" includes invalid characters for a local volume name/],
      [['x'], /create x: volume name is too short, names should be at least two alphanumeric characters/],
    ];
    for (const [args, re] of cases) {
      const r = await d.docker(['volume', 'create', ...args], { allowFail: true });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, re);
    }
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, '');
    assert.ok(!existsSync(volumesDir()) || readdir(volumesDir()).length === 0);
    const put = await d.client.raw('PUT', '/volumes/x?version=1', {});
    assert.equal(put.status, 503);
  });

  test('docker volume prune removes unused anonymous volumes; -a named ones too', async () => {
    const anon = (await d.docker(['volume', 'create'])).stdout.trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    const labels = (await d.docker(['volume', 'inspect', '-f', '{{json .Labels}}', anon])).stdout.trim();
    assert.equal(labels, '{"com.docker.volume.anonymous":""}');
    await d.docker(['volume', 'create', 'keepme']);
    writeFileSync(join(volumesDir(), anon, '_data', 'f'), 'x'.repeat(1000));
    const p1 = await d.docker(['volume', 'prune', '-f']);
    assert.match(p1.stdout, new RegExp(anon));
    assert.match(p1.stdout, /Total reclaimed space: 1(\.0)?kB/);
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, 'keepme\n');
    const p2 = await d.docker(['volume', 'prune', '-af']);
    assert.match(p2.stdout, /keepme/);
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, '');
  });

  test('a container writes into a named volume (created on first use) and another reads it', async () => {
    const w = await container('writer', 'echo hello > /data/greeting', { Binds: ['shared:/data'] });
    assert.equal(w.code, 0, w.out);
    assert.equal(readFileSync(join(volumesDir(), 'shared', '_data', 'greeting'), 'utf8'), 'hello\n');
    const r = await container('reader', 'cat /in/greeting; touch /in/x', {
      Mounts: [{ Type: 'volume', Source: 'shared', Target: '/in', ReadOnly: true }],
    });
    assert.match(r.out, /^hello\n/);
    assert.match(r.out, /Read-only file system/);
    assert.notEqual(r.code, 0);
    const insp = await d.client.containerInspect('reader');
    assert.deepEqual(insp.Mounts, [{
      Type: 'volume', Name: 'shared', Source: join(volumesDir(), 'shared', '_data'), Destination: '/in', Driver: 'local', Mode: 'z', RW: false, Propagation: '',
    }]);
    assert.deepEqual(insp.HostConfig.Mounts, [{ Type: 'volume', Source: 'shared', Target: '/in', ReadOnly: true }]);
    // Named volumes are not anonymous: plain prune leaves them.
    assert.equal((await d.docker(['volume', 'inspect', '-f', '{{json .Labels}}', 'shared'])).stdout.trim(), 'null');
    // In use (by stopped containers too): 409 naming them.
    const busy = await d.client.raw('DELETE', '/volumes/shared');
    assert.equal(busy.status, 409);
    assert.match(busy.body.toString(), /remove shared: volume is in use - \[/);
    assert.match(busy.body.toString(), new RegExp(w.id));
    assert.equal((await d.docker(['ps', '-a', '--format', '{{.Names}}', '-f', 'volume=shared'])).stdout, 'reader\nwriter\n');
    assert.equal((await d.docker(['ps', '-a', '--format', '{{.Names}}', '-f', 'volume=/in'])).stdout, 'reader\n');
    const psArgs = ['ps', '-a', '--format', '{{.Names}} {{.Mounts}} {{.LocalVolumes}}', '-f', 'volume=shared'];
    assert.equal((await d.docker(psArgs)).stdout, 'reader shared 1\nwriter shared 1\n');
    assert.equal((await d.cli(psArgs)).stdout, 'reader shared 1\nwriter shared 1\n');
    const cli = await d.docker(['volume', 'rm', 'shared'], { allowFail: true });
    assert.match(cli.stderr, /volume is in use/);
    assert.match((await d.docker(['volume', 'prune', '-af'])).stdout, /Total reclaimed space: 0B/);
    assert.match((await d.docker(['system', 'df'])).stdout, /Local Volumes\s+1\s+1\s+6B/);
    // rm -v keeps named volumes.
    await d.docker(['rm', '-v', 'writer', 'reader']);
    assert.ok(existsSync(join(volumesDir(), 'shared', '_data', 'greeting')));
    await d.docker(['volume', 'rm', 'shared']);
  });

  test('a host path bound read-only refuses writes; rw works; -v creates a missing host directory', async () => {
    const host = mkdtempSync('/var/tmp/cnmt-vol-');
    try {
      writeFileSync(join(host, 'in'), 'from host\n');
      const ro = await container('ro-bind', 'cat /h/in; echo no > /h/out', { Binds: [`${host}:/h:ro`] });
      assert.match(ro.out, /from host/);
      assert.match(ro.out, /Read-only file system/);
      assert.ok(!existsSync(join(host, 'out')));
      const missing = join(host, 'made', 'here');
      const rw = await container('rw-bind', 'echo yes > /h/out', { Binds: [`${missing}:/h`] });
      assert.equal(rw.code, 0, rw.out);
      assert.equal(readFileSync(join(missing, 'out'), 'utf8'), 'yes\n');
      const insp = await d.client.containerInspect('ro-bind');
      assert.deepEqual(insp.Mounts, [{ Type: 'bind', Source: host, Destination: '/h', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
      assert.deepEqual(insp.HostConfig.Binds, [`${host}:/h:ro`]);
      await d.docker(['rm', 'ro-bind', 'rw-bind']);
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  test('--tmpfs and --mount type=tmpfs give the container a tmpfs with its options', async () => {
    const t = await container('tmpfs-box', 'grep -E " /(x|y) " /proc/self/mounts; echo ok > /x/f && cat /x/f', {
      Tmpfs: { '/x': 'size=64m,mode=1770' },
      Mounts: [{ Type: 'tmpfs', Target: '/y', TmpfsOptions: { SizeBytes: 1024 * 1024, Mode: 0o700 } }],
    });
    assert.equal(t.code, 0, t.out);
    assert.match(t.out, /^tmpfs \/x tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k,mode=1770/m);
    assert.match(t.out, /^tmpfs \/y tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700/m);
    assert.match(t.out, /^ok$/m);
    const insp = await d.client.containerInspect('tmpfs-box');
    assert.deepEqual(insp.HostConfig.Tmpfs, { '/x': 'size=64m,mode=1770' });
    assert.deepEqual(insp.HostConfig.Mounts, [{ Type: 'tmpfs', Target: '/y', TmpfsOptions: { SizeBytes: 1024 * 1024, Mode: 0o700 } }]);
    // Docker lists --mount tmpfs under Mounts, --tmpfs only under HostConfig.
    assert.deepEqual(insp.Mounts.map((m) => [m.Type, m.Destination]), [['tmpfs', '/y']]);
    await d.docker(['rm', 'tmpfs-box']);
  });

  test('rm -v removes the anonymous volumes of a container and keeps named ones', async () => {
    const c = await container('anon-box', 'echo a > /anon/f; echo n > /named/f', { Binds: ['/anon', 'keep-named:/named'] });
    assert.equal(c.code, 0, c.out);
    const insp = await d.client.containerInspect('anon-box');
    const anon = insp.Mounts.find((m) => m.Destination === '/anon');
    assert.match(anon?.Name ?? '', /^[0-9a-f]{64}$/);
    assert.equal(readFileSync(join(anon?.Source ?? '', 'f'), 'utf8'), 'a\n');
    await d.docker(['rm', '-v', 'anon-box']);
    assert.ok(!existsSync(join(volumesDir(), anon?.Name ?? '')));
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, 'keep-named\n');
    // Without -v the anonymous volume stays (and plain prune then removes it).
    await container('anon-box2', 'true', { Binds: ['/anon'] });
    const name = (await d.client.containerInspect('anon-box2')).Mounts[0]?.Name ?? '';
    await d.docker(['rm', 'anon-box2']);
    assert.ok(existsSync(join(volumesDir(), name)));
    assert.match((await d.docker(['volume', 'prune', '-f'])).stdout, new RegExp(name));
    // --rm (AutoRemove) takes the anonymous volumes along too, as in Docker.
    // Config.Volumes (compose's `- /path`) gets an anonymous volume as an image's VOLUME does.
    const auto = await d.client.containerCreate('auto-box', {
      Cmd: ['true'], Volumes: { '/cv': {}, '/n': {} }, HostConfig: { NetworkMode: 'none', AutoRemove: true, Binds: ['/anon', 'keep-named:/n'] },
    });
    const autoInsp = await d.client.containerInspect(auto.Id);
    assert.deepEqual(autoInsp.Config.Volumes, { '/cv': {}, '/n': {} });
    // Mode as Docker 20.10 shows it: "z" for volumes of Binds, "" for those of Config.Volumes.
    assert.deepEqual(autoInsp.Mounts.map((m) => [m.Destination, m.Mode]), [['/anon', 'z'], ['/n', 'z'], ['/cv', '']]);
    const autoVols = autoInsp.Mounts.filter((m) => m.Name !== 'keep-named').map((m) => m.Name ?? '');
    assert.equal(autoVols.length, 2);
    await d.client.containerStart(auto.Id);
    await waitFor(async () => (await d.client.containerList(true)).length === 0, { what: () => 'auto-box to be removed' });
    await waitFor(() => autoVols.every((v) => !existsSync(join(volumesDir(), v))), { what: () => `volumes ${autoVols.join(', ')} to be removed` });
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, 'keep-named\n');
    await d.docker(['volume', 'rm', 'keep-named']);
  });

  test('a running container\'s volume cannot be removed (409); it can once the container is gone', async () => {
    const c = await container('runner', 'sleep infinity', { Binds: ['busy:/b'] }, false);
    const r = await d.docker(['volume', 'rm', 'busy'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`remove busy: volume is in use - \\[${c.id}\\]`));
    await d.docker(['rm', '-f', 'runner']);
    await d.docker(['volume', 'rm', 'busy']);
    // No mount of any volume is left on the host: runc mounted them in the containers' namespaces.
    assert.doesNotMatch(readFileSync('/proc/self/mounts', 'utf8'), new RegExp(volumesDir()));
  });

  test("the local driver's tmpfs and bind volumes; volumes and mounts survive a daemon restart", async () => {
    const host = mkdtempSync('/var/tmp/cnmt-vol-');
    try {
      await d.docker(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=2m,uid=1000', 'scratch']);
      await d.docker(['volume', 'create', '--opt', 'type=none', '--opt', 'device=' + host, '--opt', 'o=bind', 'hostdir']);
      assert.equal((await d.docker(['volume', 'inspect', '-f', '{{json .Options}}', 'scratch'])).stdout.trim(), '{"device":"tmpfs","o":"size=2m,uid=1000","type":"tmpfs"}');
      const c = await container('typed', 'grep " /s " /proc/self/mounts; echo via-volume > /h/f', { Binds: ['scratch:/s', 'hostdir:/h'] });
      assert.equal(c.code, 0, c.out);
      assert.match(c.out, /^tmpfs \/s tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,uid=1000/m);
      assert.equal(readFileSync(join(host, 'f'), 'utf8'), 'via-volume\n');
      await d.stop();
      await d.restart();
      assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, 'hostdir\nscratch\n');
      const again = await d.client.containerInspect('typed');
      assert.deepEqual(again.Mounts.map((m) => m.Name), ['scratch', 'hostdir']);
      assert.match((await d.docker(['volume', 'rm', 'scratch'], { allowFail: true })).stderr, /volume is in use/);
      await d.docker(['rm', 'typed']);
      await d.docker(['volume', 'rm', 'scratch', 'hostdir']);
      // The bound directory is the user's: removing the volume leaves it.
      assert.equal(readFileSync(join(host, 'f'), 'utf8'), 'via-volume\n');
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  test('bad mounts are a 400 naming the value, and nothing is created', async () => {
    const cases: [NonNullable<ContainerCreateWire['HostConfig']>, RegExp][] = [
      [{ Binds: ['/tmp:rel'] }, /invalid volume specification: '\/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute/],
      [{ Binds: ['/tmp:/x:rox'] }, /invalid mode: rox/],
      [{ Binds: ['named:/x:rw,ro'] }, /invalid mode: rw,ro/],
      [{ Mounts: [{ Type: 'nfs', Target: '/x' }] }, /invalid mount config for type "nfs": mount type unknown/],
      [{ Mounts: [{ Type: 'bind', Source: '/no/such/dir', Target: '/x' }] }, /bind source path does not exist: \/no\/such\/dir/],
      [{ Tmpfs: { '/x': 'size=big' } }, /invalid tmpfs option "size=big"/],
      [{ Tmpfs: { rel: '' } }, /invalid mount path: 'rel' mount path must be absolute/],
      [{ Binds: ['v1:/x'], Tmpfs: { '/x': '' } }, /Duplicate mount point: \/x/],
    ];
    for (const [hc, re] of cases) {
      const r = await d.client.raw('POST', '/containers/create?name=badmount', { Cmd: ['true'], HostConfig: { NetworkMode: 'none', ...hc } });
      assert.equal(r.status, 400, JSON.stringify(hc));
      assert.match((JSON.parse(r.body.toString()) as { message: string }).message, re);
    }
    assert.equal((await d.client.containerList(true)).length, 0);
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, '');
  });
});

function readdir(dir: string): string[] {
  return spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}

describe(`volumes of containers from images${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  const docker = (args: string[], allowFail = false): ReturnType<DaemonHandle['docker']> => d.docker(args, { allowFail });
  const volumesDir = (): string => join(d.dir, 'data', 'volumes');

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cnm-vol-img-'));
    const busybox = await makeBusyboxImage();
    writeFileSync(join(dir, 'busybox.tar'), busybox.tar);
    await docker(['load', '-i', join(dir, 'busybox.tar')]);
    // volimg:1 = busybox's layer plus /data (owned 1000:1000, mode 750, a file) and VOLUME /data.
    const manifest = JSON.parse(spawnSync('tar', ['-xOf', join(dir, 'busybox.tar'), 'manifest.json'], { encoding: 'utf8' }).stdout) as { Layers: string[] }[];
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, spawnSync('tar', ['-xOf', join(dir, 'busybox.tar'), manifest[0]?.Layers[0] ?? ''], { maxBuffer: 64 << 20 }).stdout);
    mkdirSync(join(dir, 'tree', 'data'), { recursive: true });
    writeFileSync(join(dir, 'tree', 'data', 'seed'), 'from the image\n');
    chmodSync(join(dir, 'tree', 'data'), 0o750);
    const data = spawnSync('tar', ['--owner=1000', '--group=1000', '--numeric-owner', '-cf', join(dir, 'data.tar'), '-C', join(dir, 'tree'), 'data']);
    assert.equal(data.status, 0, data.stderr.toString());
    assert.equal(spawnSync('tar', ['-Af', layer, join(dir, 'data.tar')]).status, 0);
    await docker(['import', '--change', 'VOLUME /data', '--change', 'CMD ["sh"]', layer, 'volimg:1']);
  });

  after(async () => {
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('docker run -v: one container writes a named volume, another reads it; :ro refuses writes', async () => {
    assert.equal((await docker(['run', '--rm', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo hello > /data/greeting'])).code, 0);
    const r = await docker(['run', '--rm', '-v', 'shared:/in:ro', 'busybox', 'sh', '-c', 'cat /in/greeting; touch /in/x'], true);
    assert.equal(r.stdout, 'hello\n');
    assert.match(r.stderr, /Read-only file system/);
    assert.notEqual(r.code, 0);
    const host = mkdtempSync('/var/tmp/cnmt-vol-');
    try {
      const ro = await docker(['run', '--rm', '-v', `${host}:/h:ro`, 'busybox', 'sh', '-c', 'echo no > /h/f'], true);
      assert.match(ro.stderr, /Read-only file system/);
      assert.ok(!existsSync(join(host, 'f')));
      assert.equal((await docker(['run', '--rm', '--mount', `type=bind,src=${host},dst=/h`, 'busybox', 'sh', '-c', 'echo yes > /h/f'])).code, 0);
      assert.equal(readFileSync(join(host, 'f'), 'utf8'), 'yes\n');
    } finally {
      await rm(host, { recursive: true, force: true });
    }
    const t = await docker(['run', '--rm', '--tmpfs', '/x:size=1m', 'busybox', 'sh', '-c', 'grep " /x " /proc/mounts; echo ok > /x/f && cat /x/f']);
    assert.match(t.stdout, /^tmpfs \/x tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/m);
    assert.match(t.stdout, /^ok$/m);
    await docker(['volume', 'rm', 'shared']);
  });

  test('mounts go parents first: a volume inside another, and a volume on /etc keeps the sandbox files', async () => {
    assert.equal((await docker(['run', '--rm', '-v', 'inner:/x/y', '-v', 'outer:/x', 'busybox', 'sh', '-c', 'echo i > /x/y/f'])).code, 0);
    assert.equal(readFileSync(join(volumesDir(), 'inner', '_data', 'f'), 'utf8'), 'i\n');
    const etc = await docker(['run', '--rm', '-v', 'etcvol:/etc', '--add-host', 'pinned:192.0.2.7', 'busybox', 'sh', '-c', 'grep pinned /etc/hosts; cat /etc/passwd | head -1']);
    assert.equal(etc.stdout, '192.0.2.7\tpinned\nroot:x:0:0:root:/root:/bin/sh\n');
    await docker(['volume', 'rm', 'inner', 'outer', 'etcvol']);
  });

  test("an image's VOLUME gets a fresh anonymous volume with the image's content; rm -v removes it", async () => {
    const r = await docker(['run', '--name', 'vc', 'volimg:1', 'sh', '-c', 'cat /data/seed; stat -c "%u:%g %a" /data; echo mine > /data/new']);
    assert.equal(r.stdout, 'from the image\n1000:1000 750\n');
    const [m] = JSON.parse((await docker(['inspect', '-f', '{{json .Mounts}}', 'vc'])).stdout) as { Name: string; Destination: string; Mode: string; Source: string }[];
    assert.equal(m?.Destination, '/data');
    assert.match(m?.Name ?? '', /^[0-9a-f]{64}$/);
    assert.equal(m?.Mode, '');
    assert.equal(readFileSync(join(m?.Source ?? '', 'new'), 'utf8'), 'mine\n');
    assert.equal((await docker(['inspect', '-f', '{{json .Config.Volumes}}', 'vc'])).stdout.trim(), '{"/data":{}}');
    // A second container gets a volume of its own.
    const other = await docker(['run', '--rm', 'volimg:1', 'ls', '/data']);
    assert.equal(other.stdout, 'seed\n');
    await docker(['rm', '-v', 'vc']);
    assert.ok(!existsSync(join(volumesDir(), m?.Name ?? '')));
    // docker run --rm took its anonymous volume along too.
    assert.equal((await docker(['volume', 'ls', '-q'])).stdout, '');
  });

  test('docker-compose 1.29: named, anonymous, bind and tmpfs volumes kept across stop and start; down -v removes them', async (t) => {
    if (spawnSync('docker-compose', ['--version'], { stdio: 'ignore' }).status !== 0) return skipTest(t, 'needs docker-compose');
    const proj = join(dir, 'compose');
    mkdirSync(join(proj, 'host'), { recursive: true });
    writeFileSync(join(proj, 'host', 'in'), 'from host\n');
    writeFileSync(join(proj, 'docker-compose.yml'), [
      'version: "3.8"',
      'services:',
      '  app:',
      '    image: busybox:latest',
      '    init: true',
      '    command: sleep 300',
      '    volumes: ["data:/data", "/cache", "./host:/host:ro"]',
      '    tmpfs: ["/scratch:size=1m"]',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'));
    const compose = (...args: string[]) => run('timeout', ['-k', '5', '120', 'docker-compose', '-p', 'vp', '-f', join(proj, 'docker-compose.yml'), ...args], { ...process.env, DOCKER_HOST: d.host });
    assert.equal((await compose('up', '-d')).code, 0);
    const inApp = await compose('exec', '-T', 'app', 'sh', '-c', 'echo d > /data/f; echo c > /cache/f; cat /host/in; grep -c " /scratch tmpfs" /proc/mounts; touch /host/x 2>&1');
    assert.match(inApp.stdout, /^from host\n1\n.*Read-only file system/s);
    const labels = (await docker(['volume', 'inspect', '-f', '{{index .Labels "com.docker.compose.project"}}', 'vp_data'])).stdout.trim();
    assert.equal(labels, 'vp');
    // A second up recreates nothing; a stop and start keep every volume's content.
    assert.match((await compose('up', '-d')).stderr, /vp_app_1 is up-to-date/);
    assert.equal((await compose('stop')).code, 0);
    assert.equal((await compose('start')).code, 0);
    assert.equal((await compose('exec', '-T', 'app', 'cat', '/data/f', '/cache/f')).stdout, 'd\nc\n');
    const down = await compose('down', '-v');
    assert.equal(down.code, 0, down.stderr);
    assert.equal((await docker(['volume', 'ls', '-q'])).stdout, '');
  });

  test('copy-up fills an empty named volume once; nocopy and a bind leave the image content out', async () => {
    assert.equal((await docker(['run', '--rm', '-v', 'seeded:/data', 'volimg:1', 'sh', '-c', 'echo more >> /data/seed'])).code, 0);
    assert.equal(readFileSync(join(volumesDir(), 'seeded', '_data', 'seed'), 'utf8'), 'from the image\nmore\n');
    // Not empty any more: a second container sees the volume as it is.
    assert.equal((await docker(['run', '--rm', '-v', 'seeded:/data', 'volimg:1', 'cat', '/data/seed'])).stdout, 'from the image\nmore\n');
    const nocopy = await docker(['run', '--rm', '--mount', 'type=volume,src=bare,dst=/data,volume-nocopy', 'volimg:1', 'ls', '-A', '/data']);
    assert.equal(nocopy.stdout, '');
    const host = mkdtempSync('/var/tmp/cnmt-vol-');
    try {
      assert.equal((await docker(['run', '--rm', '-v', `${host}:/data`, 'volimg:1', 'ls', '-A', '/data'])).stdout, '');
    } finally {
      await rm(host, { recursive: true, force: true });
    }
    await docker(['volume', 'rm', 'seeded', 'bare']);
    // Nothing of the volumes is mounted on the host.
    assert.doesNotMatch(readFileSync('/proc/self/mounts', 'utf8'), new RegExp(volumesDir()));
  });
});
