// Mount requests as Docker parses them (Binds, Mounts, Tmpfs), the local
// driver's options, the image's VOLUMEs as anonymous volumes, the mounts
// written into config.json, and volume records in the store.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ctx } from '../../src/core/context.ts';
import { anonymousMounts, planMounts } from '../../src/core/mount-plan.ts';
import { parseBind, parseMounts, parseMountSpec, parseTmpfs, tmpfsOptions } from '../../src/core/mount-parse.ts';
import { checkLocalOptions, sweepVolumeDirs, volumeSource } from '../../src/core/volume-ops.ts';
import { State } from '../../src/core/state.ts';
import { CnmError } from '../../src/model/errors.ts';
import type { MountConfig, MountSpec, VolumeRecord } from '../../src/model/records.ts';
import { buildOciConfig, byDepth } from '../../src/runtime/oci-spec.ts';
import type { OciMount } from '../../src/runtime/oci-types.ts';
import type { ProcessSpec } from '../../src/runtime/types.ts';
import { MemoryStore } from '../../src/store/index.ts';

/** Asserts a 400 (INVALID) whose message matches. */
function refused(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CnmError && e.code === 'INVALID' && re.test(e.message));
}

describe('HostConfig.Binds', () => {
  test('host paths are binds, names are volumes, a lone path is an anonymous volume', () => {
    assert.deepEqual(parseBind('/srv/data:/data:ro'), {
      type: 'bind', source: '/srv/data', destination: '/data', readonly: true, propagation: 'rprivate', mode: 'ro', noCopy: false, options: [], origin: 'binds',
    });
    const named = parseBind('cache:/var/cache:nocopy,rshared');
    assert.deepEqual([named.type, named.source, named.readonly, named.noCopy, named.propagation], ['volume', 'cache', false, true, 'rshared']);
    const anon = parseBind('/data/');
    assert.deepEqual([anon.type, anon.source, anon.destination], ['volume', '', '/data']);
    assert.equal(parseBind('/a:/b:z,rw').readonly, false);
  });

  test('bad specs are a 400 naming the value', () => {
    refused(() => parseBind('/tmp:rel'), /invalid volume specification: '\/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute/);
    refused(() => parseBind('/tmp:/x:rox'), /invalid mode: rox \(in volume specification '\/tmp:\/x:rox'\)/);
    refused(() => parseBind('/tmp:/x:ro,rw'), /invalid mode: ro,rw/);
    refused(() => parseBind('/x:rw'), /invalid volume specification: '\/x:rw'/);
    refused(() => parseBind('a:b:c:d'), /invalid volume specification: 'a:b:c:d'/);
    refused(() => parseBind('/tmp::/x'), /invalid volume specification/);
    refused(() => parseBind('/tmp:/'), /destination can't be '\/'/);
    refused(() => parseBind('my/vol:/x'), /create my\/vol: "my\/vol" includes invalid characters for a local volume name/);
    refused(() => parseBind('x:/y'), /volume name is too short/);
    refused(() => parseBind('/tmp:/x:nocopy'), /field VolumeOptions must not be specified/);
  });
});

describe('HostConfig.Mounts', () => {
  const m = (o: Partial<MountSpec>): MountSpec => ({ type: 'bind', source: '', target: '', readOnly: false, ...o });

  test('bind, volume and tmpfs', () => {
    const b = parseMountSpec(m({ type: 'bind', source: '/srv', target: '/s', readOnly: true, propagation: 'rslave' }));
    assert.deepEqual([b.type, b.source, b.readonly, b.propagation, b.origin], ['bind', '/srv', true, 'rslave', 'mounts']);
    const v = parseMountSpec(m({ type: 'volume', source: 'db', target: '/db', noCopy: true, volumeLabels: { a: 'b' } }));
    assert.deepEqual([v.type, v.source, v.noCopy, v.create?.labels], ['volume', 'db', true, { a: 'b' }]);
    const t = parseMountSpec(m({ type: 'tmpfs', target: '/t', sizeBytes: 1048576, mode: 0o700, readOnly: true }));
    assert.deepEqual(t.options, ['noexec', 'nosuid', 'nodev', 'ro', 'mode=700', 'size=1048576']);
  });

  test('bad ones are a 400 naming the value', () => {
    refused(() => parseMountSpec(m({ type: 'nfs' as MountSpec['type'], target: '/x' })), /invalid mount config for type "nfs": mount type unknown/);
    refused(() => parseMountSpec(m({ type: 'bind', source: '/a', target: 'rel' })), /invalid mount path: 'rel' mount path must be absolute/);
    refused(() => parseMountSpec(m({ type: 'bind', target: '/x' })), /field Source must not be empty/);
    refused(() => parseMountSpec(m({ type: 'bind', source: 'rel', target: '/x' })), /invalid mount path: 'rel'/);
    refused(() => parseMountSpec(m({ type: 'bind', source: '/a', target: '/x', propagation: 'sideways' })), /invalid propagation mode: sideways/);
    refused(() => parseMountSpec(m({ type: 'bind', source: '/a', target: '/x', noCopy: true })), /field VolumeOptions must not be specified/);
    refused(() => parseMountSpec(m({ type: 'tmpfs', source: 'x', target: '/x' })), /field Source must not be specified/);
    refused(() => parseMountSpec(m({ type: 'tmpfs', target: '/x', sizeBytes: -1 })), /invalid tmpfs size -1/);
    refused(() => parseMountSpec(m({ type: 'volume', target: '' })), /field Target must not be empty/);
  });
});

describe('HostConfig.Tmpfs and tmpfs options', () => {
  test("Docker's defaults, with the given options merged over them", () => {
    assert.deepEqual(parseTmpfs('/run', '').options, ['noexec', 'nosuid', 'nodev']);
    assert.deepEqual(parseTmpfs('/run', 'exec,size=64m,size=32m').options, ['nosuid', 'nodev', 'exec', 'size=32m']);
    assert.equal(parseTmpfs('/x', 'ro').readonly, true);
    assert.equal(parseTmpfs('/x', 'ro,rw').readonly, false);
    assert.deepEqual(tmpfsOptions(['rshared', 'rprivate']), ['noexec', 'nosuid', 'nodev', 'rprivate']);
  });

  test('bad ones are a 400 naming the value', () => {
    refused(() => parseTmpfs('/x', 'size=big'), /invalid Tmpfs "\/x:size=big": invalid tmpfs option "size=big": expected a size/);
    refused(() => parseTmpfs('/x', 'mode=999'), /invalid tmpfs option "mode=999"/);
    refused(() => parseTmpfs('/x', 'bogus'), /unknown tmpfs option "bogus"/);
    refused(() => parseTmpfs('x', ''), /invalid mount path: 'x' mount path must be absolute/);
  });

  test('two mounts on one path are refused', () => {
    refused(() => parseMounts(['/a:/x'], [], { '/x/': '' }), /Duplicate mount point: \/x/);
  });
});

describe("the image's VOLUMEs", () => {
  test('each path no mount covers becomes a fresh anonymous volume', () => {
    const taken = [parseBind('named:/data')] as MountConfig[];
    const out = anonymousMounts(['/data', '/var/lib/x/', '/logs', '/logs', 'relative'], taken);
    assert.deepEqual(out.map((x) => [x.type, x.source, x.destination, x.origin]), [
      ['volume', '', '/var/lib/x', 'image'], ['volume', '', '/logs', 'image'],
    ]);
    assert.deepEqual(anonymousMounts([], taken), []);
  });
});

describe("the local driver's options", () => {
  test('tmpfs and bind (type=none o=bind) are accepted', () => {
    checkLocalOptions({});
    checkLocalOptions({ type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000' });
    checkLocalOptions({ type: 'none', device: '/srv/x', o: 'bind,ro' });
  });

  test('others are a 400 naming the option', () => {
    refused(() => checkLocalOptions({ foo: 'bar' }), /invalid option: "foo"/);
    refused(() => checkLocalOptions({ type: 'tmpfs' }), /missing required option: "device"/);
    refused(() => checkLocalOptions({ o: 'size=1m', device: 'tmpfs' }), /missing required option: "type"/);
    refused(() => checkLocalOptions({ type: 'nfs', device: ':/x', o: 'addr=1.2.3.4' }), /volume type "nfs" needs a mount on the host/);
    refused(() => checkLocalOptions({ type: 'none', device: 'rel', o: 'bind' }), /device="rel": expected an absolute host path/);
    refused(() => checkLocalOptions({ type: 'none', device: '/x', o: 'bind,uid=1' }), /"uid=1" is not a bind mount option/);
    refused(() => checkLocalOptions({ type: 'tmpfs', device: 'tmpfs', o: 'size=x' }), /invalid tmpfs option "size=x"/);
  });

  test('a volume is its data dir, its device, or a tmpfs of its own', () => {
    const v = (options: Record<string, string>): VolumeRecord => ({ name: 'v1', driver: 'local', created: '', mountpoint: '/d/v1/_data', labels: {}, options });
    assert.deepEqual(volumeSource(v({})), { kind: 'bind', source: '/d/v1/_data', readonly: false, propagation: null });
    assert.deepEqual(volumeSource(v({ type: 'none', device: '/srv', o: 'bind,ro' })), { kind: 'bind', source: '/srv', readonly: true, propagation: null });
    assert.deepEqual(volumeSource(v({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' })), { kind: 'tmpfs', options: ['size=1m'] });
  });
});

describe('config.json', () => {
  test("the container's mounts come after the system mounts of their depth, in order", () => {
    const spec: ProcessSpec = {
      id: 'x', hostname: 'h', args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, netnsPath: null,
      files: { hosts: '/r/hosts', resolvConf: '/r/resolv.conf', hostname: '/r/hostname' },
      mounts: [
        { type: 'bind', source: '/srv', destination: '/srv', readonly: true, propagation: 'rprivate' },
        { type: 'tmpfs', destination: '/t', readonly: false, options: ['noexec', 'nosuid', 'nodev', 'size=1m'] },
      ],
      resources: { memory: 0, nanoCpus: 0, pidsLimit: 0 }, privileged: false, init: false, hidden: [],
      log: { path: '/l', maxSize: 0, maxFile: 1 },
      tty: false, openStdin: false, stdinOnce: false, consoleSize: [0, 0], linger: false,
    };
    const cfg = buildOciConfig(spec, { dirs: ['usr'], links: [], hasEtcHostname: false, boundingCaps: [] }, '/init');
    const dests = cfg.mounts.map((m) => m.destination);
    // Sorted by depth, stable: after the system mounts of their depth.
    assert.ok(dests.indexOf('/srv') > dests.indexOf('/root'));
    assert.ok(dests.indexOf('/t') === dests.indexOf('/srv') + 1);
    assert.deepEqual(cfg.mounts.filter((m) => m.destination === '/srv' || m.destination === '/t'), [
      { destination: '/srv', type: 'bind', source: '/srv', options: ['rbind', 'rprivate', 'rro'] },
      { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'size=1m'] },
    ]);
  });
});

describe('volume records in the store', () => {
  test('are kept by name, survive a reload and are removed by name', async () => {
    const store = new MemoryStore();
    const s = new State(store);
    const v: VolumeRecord = { name: 'data', driver: 'local', created: '2025-01-01T00:00:00Z', mountpoint: '/d/data/_data', labels: { a: 'b' }, options: {} };
    const [stored] = await s.commit([{ kind: 'volume', put: v }]);
    assert.deepEqual(stored, v);
    const again = new State(store);
    await again.load();
    assert.deepEqual(again.volumes.get('data'), v);
    await again.commit([{ kind: 'volume', del: 'data' }]);
    assert.equal(again.volumes.size, 0);
    // Writing a volume another writer removed is a conflict, not a blind overwrite.
    await assert.rejects(s.commit([{ kind: 'volume', put: v }]), (e: unknown) => e instanceof CnmError && e.code === 'CONFLICT');
  });
});

describe('volume directories at start', () => {
  test('empty ones without a record are removed; ones with data or a record are left', async () => {
    const dataRoot = mkdtempSync(join(tmpdir(), 'cnm-vol-sweep-'));
    try {
      for (const n of ['orphan', 'kept', 'full']) mkdirSync(join(dataRoot, 'volumes', n, '_data'), { recursive: true });
      writeFileSync(join(dataRoot, 'volumes', 'full', '_data', 'f'), 'x');
      const state = new State(new MemoryStore());
      await state.commit([{ kind: 'volume', put: { name: 'kept', driver: 'local', created: '', mountpoint: '', labels: {}, options: {} } }]);
      const warned: string[] = [];
      const log = { debug: () => undefined, info: () => undefined, warn: (m: string) => warned.push(m), error: () => undefined };
      const ctx = { state, dataRoot, log } as unknown as Ctx;
      assert.deepEqual(await sweepVolumeDirs(ctx), ['orphan']);
      assert.deepEqual(readdirSync(join(dataRoot, 'volumes')).sort(), ['full', 'kept']);
      assert.match(warned.join('\n'), /full has no record but holds data/);
    } finally {
      rmSync(dataRoot, { recursive: true, force: true });
    }
  });
});

describe('planning the mounts of a create', () => {
  test('volumes are found, made or made anonymous; nothing is written', async () => {
    const state = new State(new MemoryStore());
    await state.commit([{ kind: 'volume', put: { name: 'have', driver: 'local', created: '', mountpoint: '/d/volumes/have/_data', labels: {}, options: {} } }]);
    const ctx = { state, dataRoot: '/d' } as unknown as Ctx;
    const plan = planMounts(ctx, {
      binds: ['have:/a', 'new-one:/b:ro', '/c', '/no/such/host/dir:/h'],
      mountSpecs: [{ type: 'volume', source: '', target: '/e', readOnly: false, volumeLabels: { x: 'y' } }],
      tmpfs: {}, volumes: ['/f', '/a'],
    }, ['/g']);
    assert.deepEqual(plan.mounts.map((m) => [m.destination, m.type, m.mode, !!m.anonymous]), [
      ['/a', 'volume', 'z', false], ['/b', 'volume', 'ro', false], ['/c', 'volume', 'z', true], ['/h', 'bind', '', false],
      ['/e', 'volume', 'z', true], ['/f', 'volume', '', true], ['/g', 'volume', '', true],
    ]);
    assert.deepEqual(plan.volumes.map((v) => v.name).slice(0, 1), ['new-one']);
    assert.equal(plan.volumes.length, 5);
    for (const v of plan.volumes.slice(1)) {
      assert.match(v.name, /^[0-9a-f]{64}$/);
      assert.ok(Object.hasOwn(v.labels, 'com.docker.volume.anonymous'));
      assert.equal(v.mountpoint, `/d/volumes/${v.name}/_data`);
    }
    assert.deepEqual(plan.volumes[2]?.labels, { x: 'y', 'com.docker.volume.anonymous': '' });
    assert.deepEqual(plan.bindDirs, ['/no/such/host/dir']);
    assert.equal(state.volumes.size, 1);
    refused(() => planMounts(ctx, { binds: [], mountSpecs: [{ type: 'bind', source: '/no/such/host/dir', target: '/x', readOnly: false }], tmpfs: {}, volumes: [] }, []),
      /bind source path does not exist: \/no\/such\/host\/dir/);
    refused(() => planMounts(ctx, { binds: [], mountSpecs: [], tmpfs: {}, volumes: ['rel'] }, []), /invalid Volumes entry "rel"/);
  });
});

describe('mount order', () => {
  test('parents before children, else as given, as Docker sorts them', () => {
    const m = (destination: string, source = destination): OciMount => ({ destination, type: 'bind', source, options: [] });
    assert.deepEqual(byDepth([m('/dev'), m('/x/y'), m('/etc/hosts'), m('/x'), m('/etc'), m('/dev/pts'), m('/x', 'again')]).map((x) => `${x.destination}:${x.source}`),
      ['/dev:/dev', '/x:/x', '/etc:/etc', '/x:again', '/x/y:/x/y', '/etc/hosts:/etc/hosts', '/dev/pts:/dev/pts']);
  });
});

describe('records stored before mounts were resolved', () => {
  test('get their mounts from their binds when loaded, even ones the old rules let through', async () => {
    const store = new MemoryStore();
    const old = { id: 'a'.repeat(64), name: 'old', run: { binds: ['/srv:/srv:ro', '/tmp:/t:ro,rw'] } };
    await store.put(`sandboxes/${old.id}`, JSON.stringify(old));
    const s = new State(store);
    await s.load();
    assert.deepEqual(s.sandboxes.get(old.id)?.run.mounts.map((m) => [m.type, m.source, m.destination, m.readonly]), [
      ['bind', '/srv', '/srv', true], ['bind', '/tmp', '/t', true],
    ]);
  });
});
