// Images, cnm against Debian's dockerd 20.10 (../shared/bench/anchors.sh) in
// the same run, on the big image of scripts/make-big-image.ts (5 layers,
// 103 MB as tar, 62 MB gzip) and the busybox image of
// scripts/make-busybox-image.ts:
//  (a) unpacking: cnm's layer unpacker (its worker thread reading the layer
//      file, as the store gives it) against GNU
//      `tar -x` of the same layer files, both from and into tmpfs
//      (/dev/shm), once for the uncompressed tars and once for the gzip
//      ones (`tar -xzf`, which decompresses in a gzip child process);
//  (b) `docker load -q -i` of both images, the same docker CLI against
//      each daemon, the image removed (rmi) before every run;
//  (c) `docker pull` of the big image from Debian's docker-registry on
//      127.0.0.1:5055 in each daemon's network namespace (two registry
//      processes serving one storage directory on tmpfs).
// Docker's and cnm's stores are on the same disk (/var/lib, /tmp).
// Run: npm run bench images. BENCH_N runs per figure (default 5).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { unpackLayer } from '../src/images/unpack.ts';
import { makeBigImage, saveArchive, writeSkopeoDir } from '../scripts/make-big-image.ts';
import { makeBusyboxImage } from '../scripts/make-busybox-image.ts';
import { run, startTestDaemon } from '../test/helpers/daemon.ts';
import type { DaemonHandle } from '../test/helpers/daemon.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { DOCKER_SOCK, anchorsUp } from './lib/anchors.ts';
import { fmt, p50, table } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 5);
const MB = 1e6;
const ANCHOR_NS = '/run/netns/anchor-host';
const REGISTRY = '127.0.0.1:5055';
const BIG = 'cnm-bench/big:latest';
const BUSYBOX = 'cnm-bench/busybox:latest';
const PULL_REF = `${REGISTRY}/cnm-bench/big:latest`;

interface Out { stdout: string; stderr: string; code: number }

const exec = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Out> => run(cmd, args, env);

async function must(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Out> {
  const r = await exec(cmd, args, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

/** Milliseconds `fn` took. */
async function ms(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const work = mkdtempSync('/dev/shm/cnm-bench-images-');
const children: ChildProcess[] = [];
let daemon: DaemonHandle | undefined;
const dockerEnv = { ...process.env, DOCKER_HOST: `unix://${DOCKER_SOCK}` };

try {
  console.log('building the images...');
  const big = await makeBigImage({ tag: BIG });
  const bigTar = join(work, 'big.tar');
  await pipeline(saveArchive(big), createWriteStream(bigTar));
  const bbTar = join(work, 'busybox.tar');
  const bb = await makeBusyboxImage(undefined, BUSYBOX);
  writeFileSync(bbTar, bb.tar);
  const plainBytes = big.layers.reduce((n, l) => n + l.tar.byteLength, 0);
  const gzBytes = big.layers.reduce((n, l) => n + l.gz.byteLength, 0);
  const entries = big.layers.reduce((n, l) => n + l.entries, 0);
  console.log(`big image ${big.id.slice(7, 19)}: ${big.layers.length} layers, ${entries} entries, ${(plainBytes / MB).toFixed(1)} MB tar, ${(gzBytes / MB).toFixed(1)} MB gzip`);

  // (a) Unpacking, all in tmpfs.
  const layerFiles = big.layers.map((l, i) => {
    const plain = join(work, `layer${i}.tar`);
    const gz = join(work, `layer${i}.tar.gz`);
    writeFileSync(plain, l.tar);
    writeFileSync(gz, l.gz);
    return { plain, gz };
  });
  const unpackRows: (string | number)[][] = [['layers', 'tool', 'p50 s', 'MB/s (uncompressed)', 'µs/entry']];
  const unpackP50 = new Map<string, number>();
  for (const kind of ['plain', 'gz'] as const) {
    const t: Record<'cnm' | 'tar', number[]> = { cnm: [], tar: [] };
    for (let r = 0; r < N; r++) {
      for (const tool of ['cnm', 'tar'] as const) {
        const dest = join(work, `x-${tool}`);
        t[tool].push(await ms(async () => {
          for (const [i, f] of layerFiles.entries()) {
            const d = join(dest, String(i));
            mkdirSync(d, { recursive: true });
            if (tool === 'cnm') await unpackLayer(f[kind], d, `layer ${i}`);
            else await must('tar', [kind === 'gz' ? '-xzf' : '-xf', f[kind], '-C', d]);
          }
        }));
        await rm(dest, { recursive: true, force: true });
      }
    }
    for (const tool of ['cnm', 'tar'] as const) {
      const s = p50(t[tool]) / 1000;
      unpackP50.set(`${kind}/${tool}`, s);
      unpackRows.push([kind === 'gz' ? 'gzip' : 'tar', tool === 'tar' ? (kind === 'gz' ? 'tar -xzf' : 'tar -xf') : 'cnm unpackLayer', s.toFixed(2), (plainBytes / MB / s).toFixed(0), (s * 1e6 / entries).toFixed(0)]);
    }
  }
  console.log(`\n(a) unpack of the ${big.layers.length} layers into tmpfs, p50 of ${N}\n${table(unpackRows)}`);
  for (const kind of ['plain', 'gz'] as const) {
    const ratio = (unpackP50.get(`${kind}/tar`) ?? NaN) / (unpackP50.get(`${kind}/cnm`) ?? NaN);
    console.log(`unpack speed cnm / tar (${kind === 'gz' ? 'gzip layers' : 'uncompressed layers'}): ${ratio.toFixed(2)} (target >= 0.8)`);
  }

  // (b) and (c) need both daemons.
  if (process.env.BENCH_NO_DOCKER === '1' || !anchorsUp()) {
    console.log('\nload, pull: not measured (anchors unavailable or BENCH_NO_DOCKER=1)');
  } else {
    daemon = await startTestDaemon({ args: ['--log-level', 'info'] });
    const cnmEnv = { ...process.env, DOCKER_HOST: daemon.host };
    const peers = [{ name: 'cnm', env: cnmEnv }, { name: 'docker', env: dockerEnv }];
    const docker = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<Out> => exec('docker', args, env);
    // A cnm build that cannot load (before the images API: 501) is left out, not a failed run.
    const probe = await docker(cnmEnv, 'load', '-q', '-i', bbTar);
    const cnmLoads = probe.code === 0;
    if (!cnmLoads) console.log(`cnm: docker load not measured: ${(probe.stderr || probe.stdout).trim()}`);
    const active = peers.filter((p) => p.name !== 'cnm' || cnmLoads);

    const rows: (string | number)[][] = [['op', 'peer', 'p50 s', 'runs (s)']];
    const results = new Map<string, number>();
    const timedRuns = async (op: string, image: string, id: string, args: string[]): Promise<void> => {
      const t = new Map<string, number[]>(active.map((p) => [p.name, []]));
      for (let r = 0; r < N; r++) {
        for (const p of active) {
          // Absent before every run: the whole image is loaded or pulled again.
          await docker(p.env, 'rmi', '-f', image);
          const took = await ms(async () => {
            const o = await docker(p.env, ...args);
            if (o.code !== 0) throw new Error(`${p.name}: docker ${args.join(' ')} failed: ${o.stderr}${o.stdout}`);
          });
          t.get(p.name)?.push(took / 1000);
        }
      }
      for (const p of active) {
        // Like with like: both daemons ended up with the same image.
        const got = (await docker(p.env, 'image', 'inspect', '--format', '{{.Id}}', image)).stdout.trim();
        if (got !== id) throw new Error(`${p.name}: ${op} gave image ${got || '(none)'}, expected ${id}`);
        const xs = t.get(p.name) ?? [];
        results.set(`${op}/${p.name}`, p50(xs));
        rows.push([op, p.name, fmt(p50(xs)), xs.map((x) => x.toFixed(2)).join(' ')]);
        await docker(p.env, 'rmi', '-f', image);
      }
    };

    await timedRuns('load busybox', BUSYBOX, bb.id, ['load', '-q', '-i', bbTar]);
    await timedRuns('load big', BIG, big.id, ['load', '-q', '-i', bigTar]);

    // (c) The registry: one storage directory, a process in each daemon's namespace.
    const regRoot = join(work, 'registry');
    mkdirSync(regRoot);
    const cfg = join(work, 'registry.yml');
    writeFileSync(cfg, ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${regRoot}`,
      '  delete:', '    enabled: true', 'http:', `  addr: ${REGISTRY}`].join('\n'));
    const nets = [ANCHOR_NS, ...(cnmLoads ? [daemon.ns.path] : [])];
    for (const net of nets) {
      children.push(spawn('nsenter', [`--net=${net}`, 'docker-registry', 'serve', cfg], { stdio: 'ignore' }));
      await waitFor(async () => (await exec('nsenter', [`--net=${net}`, 'curl', '-sf', `http://${REGISTRY}/v2/`])).code === 0,
        { what: `docker-registry to answer on ${REGISTRY} in ${net}`, timeoutMs: 15_000 });
    }
    const skopeoDir = join(work, 'skopeo-dir');
    writeSkopeoDir(big, skopeoDir);
    await must('nsenter', [`--net=${ANCHOR_NS}`, 'skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `dir:${skopeoDir}`, `docker://${PULL_REF}`]);
    const probePull = cnmLoads ? await docker(cnmEnv, 'pull', '-q', PULL_REF) : probe;
    if (cnmLoads && probePull.code !== 0) {
      console.log(`cnm: docker pull not measured: ${(probePull.stderr || probePull.stdout).trim()}`);
      active.splice(active.findIndex((p) => p.name === 'cnm'), 1);
    }
    await timedRuns('pull big', PULL_REF, big.id, ['pull', '-q', PULL_REF]);

    console.log(`\n(b), (c) the docker CLI (${(await exec('docker', ['--version'])).stdout.trim()}) against each daemon, image absent before each run, ${N} runs\n${table(rows)}`);
    for (const op of ['load busybox', 'load big', 'pull big']) {
      const c = results.get(`${op}/cnm`);
      const d = results.get(`${op}/docker`);
      if (c !== undefined && d !== undefined) console.log(`${op}: docker/cnm p50 ${(d / c).toFixed(2)}x (>1: cnm faster)`);
    }
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode ? undefined : new Promise((r) => c.once('exit', r)))));
  await exec('docker', ['rmi', '-f', BIG, BUSYBOX, PULL_REF], dockerEnv);
  await daemon?.destroy();
  await rm(work, { recursive: true, force: true });
}
