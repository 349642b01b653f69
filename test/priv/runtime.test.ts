// The OCI runtimes behind the Runtime seam, driven as the daemon drives them
// (RuncRuntime + cnm-monitor) with an image-style root: runc, and crun,
// which refuses this machine's hybrid cgroup layout and therefore runs in
// the VM suite (test/vm), on a pure cgroup v2 host. Each runs a container
// from a busybox root with a memory and pids limit, in the host's network
// namespace of the test (none of its own), and its output and exit status
// come back through the monitor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RuncRuntime } from '../../src/runtime/runc.ts';
import type { ProcessSpec } from '../../src/runtime/types.ts';
import { readExitCode } from '../../src/runtime/proc.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MONITOR = join(ROOT, 'build', 'cnm-monitor');
const has = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
/** crun 1.8 runs only where cgroup v2 is the whole hierarchy. */
const pureV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

function why(runtime: string): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!has(runtime)) return `needs ${runtime} (scripts/setup.sh installs it)`;
  return null;
}

for (const runtime of ['runc', 'crun']) {
  // crun's skip on a hybrid host is a fact of the host, not a missing tool:
  // it is skipped by name here and must pass in the VM suite (cgroup v2).
  const skip = runtime === 'crun' && !pureV2
    ? 'crun refuses this host\'s hybrid cgroup layout; the VM suite runs it on cgroup v2'
    : skipUnlessCI(`runtime ${runtime}`, why(runtime));
  test(`${runtime}: a container from an image root, with limits, output and exit status through the monitor${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, async () => {
    const dir = mkdtempSync(`/tmp/cnmt-rt-${runtime}-`);
    const id = `rt-${runtime}-${process.pid}`;
    const rt = new RuncRuntime({ binary: spawnSync('sh', ['-c', `command -v ${runtime}`], { encoding: 'utf8' }).stdout.trim(), root: join(dir, 'state'), monitor: MONITOR });
    try {
      const rootfs = join(dir, 'rootfs');
      mkdirSync(join(rootfs, 'bin'), { recursive: true });
      mkdirSync(join(rootfs, 'etc'));
      copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
      for (const a of ['sh', 'cat', 'echo']) symlinkSync('busybox', join(rootfs, 'bin', a));
      writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      const files = { hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf'), hostname: join(dir, 'hostname') };
      writeFileSync(files.hosts, '127.0.0.1 localhost\n');
      writeFileSync(files.resolvConf, '');
      writeFileSync(files.hostname, 'rt\n');
      const runDir = join(dir, 'run');
      mkdirSync(runDir);
      const spec: ProcessSpec = {
        id,
        hostname: 'rt',
        args: ['/bin/sh', '-c', 'echo hello from $(cat /etc/hostname); cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exit 7'],
        env: [],
        cwd: '/',
        user: { uid: 0, gid: 0, additionalGids: [] },
        netnsPath: null,
        rootfs,
        files,
        mounts: [],
        resources: { memory: 64 * 1024 * 1024, nanoCpus: 0, pidsLimit: 50 },
        privileged: false,
        init: false,
        hidden: [],
        log: { path: join(dir, 'log.json'), maxSize: 0, maxFile: 1 },
        tty: false, openStdin: false, stdinOnce: false, consoleSize: [0, 0], linger: false,
      };
      let exited = false;
      await rt.start(spec, runDir, () => { exited = true; });
      await waitFor(() => exited || existsSync(join(runDir, 'exit')), { what: 'the container to exit', timeoutMs: 60_000 });
      await waitFor(() => existsSync(join(runDir, 'exit')), { what: 'the exit status', timeoutMs: 30_000 });
      assert.equal(await readExitCode(runDir), 7);
      const lines = readFileSync(spec.log.path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { log: string }).log);
      assert.deepEqual(lines, ['hello from rt\n', `${64 * 1024 * 1024}\n`]);
    } finally {
      await rt.remove(id).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
