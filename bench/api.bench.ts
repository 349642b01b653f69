// Network create / connect / disconnect / remove through the Engine API, with
// the same HTTP client against cnm and against Docker's daemon (Debian's
// docker.io 20.10, from ../shared/bench/anchors.sh), in the same run: empty,
// then with 1000 endpoints across 100 networks. Also cnm's RSS and restart
// (reconcile) time at that size.
import { Client } from '../src/client/client.ts';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { DOCKER_SOCK, anchorsUp, dockerdPid, rssMb } from './lib/anchors.ts';
import { bareAttach } from './lib/bare-attach.ts';
import { fmt, p50, p95, table, timed } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 40);
const NETS = Number(process.env.BENCH_NETS ?? 100);
const PER = Number(process.env.BENCH_SANDBOXES ?? 100); // sandboxes, each on 10 networks
const LINKS = Math.min(10, NETS); // endpoints per sandbox, each on its own network

interface Sample { create: number[]; connect: number[]; disconnect: number[]; rm: number[] }

interface Peer {
  name: string;
  client: Client;
  /** Makes a running container/sandbox; returns its id. */
  run(name: string, network: string): Promise<string>;
}

/** The bare kernel attach of a bridge endpoint (lib/bare-attach.ts), timed between cnm's cycles so both see the same machine. */
const bare = await bareAttach();
const bareMs: number[] = [];

async function cycle(p: Peer, target: string, tag: string): Promise<Sample> {
  const s: Sample = { create: [], connect: [], disconnect: [], rm: [] };
  for (let i = 0; i < N; i++) {
    if (p.name === 'cnm') bareMs.push(await bare.once());
    const name = `bench-${tag}-${i}`;
    const [tc, r] = await timed(() => p.client.networkCreate({ Name: name }));
    s.create.push(tc);
    s.connect.push((await timed(() => p.client.networkConnect(r.Id, target)))[0]);
    s.disconnect.push((await timed(() => p.client.networkDisconnect(r.Id, target)))[0]);
    s.rm.push((await timed(() => p.client.networkRemove(r.Id)))[0]);
  }
  return s;
}

async function load(p: Peer): Promise<{ nets: string[]; boxes: string[] }> {
  const nets: string[] = [];
  for (let i = 0; i < NETS; i++) nets.push((await p.client.networkCreate({ Name: `load-${i}` })).Id);
  const boxes: string[] = [];
  for (let i = 0; i < PER; i++) {
    const id = await p.run(`load-c${i}`, nets[i % nets.length] ?? 'bridge');
    boxes.push(id);
    for (let k = 1; k < LINKS; k++) await p.client.networkConnect(nets[(i + k) % nets.length] ?? '', id);
  }
  return { nets, boxes };
}

async function unload(p: Peer, l: { nets: string[]; boxes: string[] }): Promise<void> {
  for (const b of l.boxes) await p.client.containerRemove(b, true).catch(() => undefined);
  for (const n of l.nets) await p.client.networkRemove(n).catch(() => undefined);
}

const rows: (string | number)[][] = [['peer', 'state', 'op', 'p50 ms', 'p95 ms']];
const results = new Map<string, Sample>();
function record(peer: string, state: string, s: Sample): void {
  results.set(`${peer}/${state}`, s);
  for (const op of ['create', 'connect', 'disconnect', 'rm'] as const) rows.push([peer, state, op, fmt(p50(s[op])), fmt(p95(s[op]))]);
}

const d = await startTestDaemon({ args: ['--log-level', 'info'] });
const cnm: Peer = {
  name: 'cnm',
  client: d.client,
  async run(name, network) {
    const { Id } = await d.client.containerCreate(name, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: network } });
    await d.client.containerStart(Id);
    return Id;
  },
};
let docker: Peer | null = null;
if (process.env.BENCH_NO_DOCKER !== '1' && anchorsUp()) {
  const client = new Client(`unix://${DOCKER_SOCK}`, '1.41');
  docker = {
    name: 'docker',
    client,
    async run(name, network) {
      await client.containerRemove(name, true).catch(() => undefined);
      const { Id } = await client.containerCreate(name, { Image: 'busybox:latest', Cmd: ['sleep', '1000000'], HostConfig: { NetworkMode: network } });
      await client.containerStart(Id);
      return Id;
    },
  };
} else {
  console.log('docker: not measured (anchors unavailable or BENCH_NO_DOCKER=1)');
}

try {
  for (const p of [cnm, docker].filter((x): x is Peer => !!x)) {
    const target = await p.run('bench-target', 'bridge');
    record(p.name, 'empty', await cycle(p, target, 'e'));
    const t0 = performance.now();
    const l = await load(p);
    console.log(`${p.name}: loaded ${NETS} networks, ${PER * LINKS} endpoints in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    record(p.name, `${PER * LINKS} eps`, await cycle(p, target, 'l'));
    if (p.name === 'cnm') {
      const rss = rssMb(d.proc.pid ?? 0);
      console.log(`cnm: daemon RSS at ${PER * LINKS} endpoints: ${rss.toFixed(1)} MB`);
      const restarts: number[] = [];
      for (let i = 0; i < 3; i++) {
        await d.stop(i === 0 ? 'SIGKILL' : 'SIGTERM');
        const [ms] = await timed(() => d.restart());
        restarts.push(ms);
      }
      const logLine = /startup_ms=(\d+)/g;
      const inner = [...d.logs().matchAll(logLine)].map((m) => Number(m[1]));
      console.log(`cnm: restart with ${PER * LINKS} endpoints (process start to API ready, incl. reconcile): p50 ${fmt(p50(restarts))} ms; in-daemon load+reconcile ${inner.slice(-3).join('/')} ms; after kill -9 first`);
      console.log(`cnm: daemon RSS after restart: ${rssMb(d.proc.pid ?? 0).toFixed(1)} MB`);
    } else {
      console.log(`docker: dockerd RSS at ${PER * LINKS} endpoints: ${rssMb(dockerdPid()).toFixed(1)} MB`);
    }
    await unload(p, l);
    await p.client.containerRemove(target, true).catch(() => undefined);
  }
} finally {
  await d.destroy();
  await bare.close();
}

console.log(`\n${table(rows)}\n`);
if (docker) {
  const ratio = (op: keyof Sample, state: string) => p50(results.get(`docker/${state}`)?.[op] ?? []) / p50(results.get(`cnm/${state}`)?.[op] ?? []);
  for (const state of ['empty', `${PER * LINKS} eps`]) {
    console.log(`ratio docker/cnm p50 (${state}): ${(['create', 'connect', 'disconnect', 'rm'] as const).map((op) => `${op} ${ratio(op, state).toFixed(1)}x`).join(', ')}`);
  }
}
const connect = p50(results.get('cnm/empty')?.connect ?? []);
console.log(`bare kernel attach of a bridge endpoint (bench/lib/bare-attach.ts): p50 ${fmt(p50(bareMs))} ms; cnm connect p50 ${fmt(connect)} ms = ${(connect / p50(bareMs)).toFixed(2)}x of it (target <= 1.5x)`);
const flat = (op: keyof Sample) => p50(results.get(`cnm/${PER * LINKS} eps`)?.[op] ?? []) / p50(results.get('cnm/empty')?.[op] ?? []);
console.log(`cnm loaded/empty p50: ${(['create', 'connect', 'disconnect', 'rm'] as const).map((op) => `${op} ${flat(op).toFixed(2)}x`).join(', ')}`);
