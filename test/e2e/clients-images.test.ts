// docker-py (Debian's python3-docker) and dockerode (npm) image calls
// against cnm: load, list, inspect, tag, save, pull with progress from a
// loopback registry, import and remove, as those libraries make them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { run, startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { startRegistry, stopRegistries } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';
import { makeBusyboxImage } from '../../scripts/make-busybox-image.ts';

const has = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
const hasDockerPy = spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' }).status === 0;
const missing = !hasDockerPy ? 'docker-py (python3-docker)' : ['docker-registry', 'skopeo'].find((t) => !has(t));
const skip = skipUnlessCI('image clients', privilegedSkipReason() ?? (missing ? `needs ${missing} (scripts/setup.sh installs it)` : null));
const REG = '127.0.0.1:5000';

describe(`docker-py and dockerode image calls${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let dir: string;
  let busybox: { tar: Buffer; id: string };
  let tarPath: string;
  const registries: ChildProcess[] = [];

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cnm-img-clients-'));
    busybox = await makeBusyboxImage();
    tarPath = join(dir, 'busybox.tar');
    writeFileSync(tarPath, busybox.tar);
    registries.push(startRegistry(d.ns, dir, 'plain', REG));
    await waitFor(async () => (await d.ns.sh(`skopeo copy --quiet --dest-tls-verify=false docker-archive:${tarPath} docker://${REG}/tools/box:2 && echo ok || true`)).stdout.includes('ok'), { what: 'the image pushed to the registry' });
  });

  after(async () => {
    stopRegistries(registries);
    await d?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('docker-py: load, list, get, tag, save, pull, remove', async () => {
    const script = `
import docker, io, json, sys
c = docker.DockerClient(base_url=${JSON.stringify(d.host)})
with open(${JSON.stringify(tarPath)}, "rb") as f:
    imgs = c.images.load(f.read())
assert [i.id for i in imgs] == [${JSON.stringify(busybox.id)}], imgs
img = c.images.get("busybox")
assert img.tags == ["busybox:latest"], img.tags
assert img.attrs["Config"]["Cmd"] == ["sh"]
assert img.tag("pybox", "v1") is True
assert sorted(t for i in c.images.list() for t in i.tags) == ["busybox:latest", "pybox:v1"]
assert [i.id for i in c.images.list(filters={"reference": "pybox"})] == [img.id]
data = b"".join(img.save(named=True))
assert data[:100].strip(b"\\0"), "empty save"
c.images.remove("pybox:v1")
try:
    c.images.get("pybox:v1")
    sys.exit("pybox:v1 still there")
except docker.errors.ImageNotFound:
    pass
pulled = c.images.pull(${JSON.stringify(`${REG}/tools/box`)}, tag="2")
assert pulled.id == ${JSON.stringify(busybox.id)}, pulled.id
assert ${JSON.stringify(`${REG}/tools/box:2`)} in pulled.tags, pulled.tags
try:
    c.images.pull(${JSON.stringify(`${REG}/tools/none`)}, tag="1")
    sys.exit("pulled an image the registry lacks")
except docker.errors.NotFound as e:
    pass
except docker.errors.APIError as e:
    assert "not found" in str(e) or "unknown" in str(e), str(e)
c.images.remove(${JSON.stringify(`${REG}/tools/box:2`)})
c.images.remove("busybox", force=True)
assert c.images.list() == []
print("ok")
`;
    const r = await run('timeout', ['-k', '5', '120', 'python3', '-c', script], process.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });

  test('dockerode: loadImage, listImages, inspect, tag, pull with followProgress, remove', async () => {
    const docker = new Docker({ socketPath: d.socket });
    const loadStream = await docker.loadImage(tarPath, { quiet: true });
    const lines = await new Promise<unknown[]>((res, rej) => docker.modem.followProgress(loadStream, (e, out) => (e ? rej(e) : res(out))));
    assert.deepEqual(lines, [{ stream: 'Loaded image: busybox:latest\n' }]);
    const list = await docker.listImages();
    assert.deepEqual(list.map((i) => i.Id), [busybox.id]);
    const img = docker.getImage('busybox:latest');
    assert.equal((await img.inspect()).Id, busybox.id);
    await img.tag({ repo: 'nodebox', tag: 'x' });
    assert.deepEqual((await docker.getImage('nodebox:x').inspect()).RepoTags.sort(), ['busybox:latest', 'nodebox:x']);
    const hist = await img.history();
    assert.equal((hist as { Id: string }[])[0]?.Id, busybox.id);

    const pull = await docker.pull(`${REG}/tools/box:2`);
    const events = await new Promise<{ status?: string; error?: string }[]>((res, rej) => docker.modem.followProgress(pull, (e, out) => (e ? rej(e) : res(out))));
    assert.ok(events.some((e) => e.status?.startsWith('Digest: sha256:')), JSON.stringify(events));
    assert.ok(events.some((e) => e.status?.startsWith('Status: ')), JSON.stringify(events));
    assert.equal((await docker.getImage(`${REG}/tools/box:2`).inspect()).Id, busybox.id);

    const removed = await docker.getImage('nodebox:x').remove();
    assert.deepEqual(removed, [{ Untagged: 'nodebox:x' }]);
    const err = await docker.getImage('nodebox:x').inspect().then(() => undefined, (e: { statusCode?: number }) => e);
    assert.equal(err?.statusCode, 404);
    await docker.getImage(`${REG}/tools/box:2`).remove();
    const gone = await docker.getImage(busybox.id).remove({ force: true });
    assert.ok((gone as { Deleted?: string }[]).some((x) => x.Deleted === busybox.id), JSON.stringify(gone));
    assert.deepEqual(await docker.listImages(), []);
  });
});
