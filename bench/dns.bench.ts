// Embedded DNS: queries per second and latency of cnm's resolver, run in a
// namespace of its own and queried over a veth pair from another namespace
// with dnsperf (8 clients), like the peers' figures in ROADMAP.md.
//   1. max rate: dnsperf -c 8, repeated, median q/s;
//   2. fixed rate 10,000 q/s: per-query latencies (dnsperf -v), p50/p95/p99;
//   3. memory: server RSS sampled during a long fixed-rate run.
//   4. UDP paths: the batched path (native recvmmsg/sendmmsg, the default when
//      build/udpbatch.node loads) against node:dgram (a second resolver with
//      CNM_DNS_UDP=dgram on port 5354), runs interleaved: max rate and p99 at
//      10,000 q/s.
// Env: CNM_BENCH_DNS_SECONDS (each max-rate run, default 10), CNM_BENCH_DNS_RUNS
// (default 3), CNM_BENCH_DNS_MEM_SECONDS (default 60), CNM_BENCH_DNS_ENDPOINTS
// (table size, default 1000), CNM_BENCH_DNS_UDP_COMPARE=0 (skip 4),
// CNM_BENCH_DNS_DNSPERF_ARGS (extra dnsperf arguments, for diagnosis).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestNetns, privilegedSkipReason } from '../test/helpers/netns.ts';

const SECONDS = Number(process.env.CNM_BENCH_DNS_SECONDS ?? 10);
const RUNS = Number(process.env.CNM_BENCH_DNS_RUNS ?? 3);
const MEM_SECONDS = Number(process.env.CNM_BENCH_DNS_MEM_SECONDS ?? 60);
const ENDPOINTS = Number(process.env.CNM_BENCH_DNS_ENDPOINTS ?? 1000);
const FIXED_QPS = 10_000;
const DOCKER_REFERENCE_QPS = 31_000; // ROADMAP.md: Docker's embedded DNS on this kind of machine (not measured here)
const SERVER = '10.77.0.1', CLIENT = '10.77.0.2';
const execFileP = promisify(execFile);

const skip = privilegedSkipReason();
if (skip) { console.log(`dns bench skipped: ${skip}`); process.exit(0); }
try { execFileSync('dnsperf', ['-h'], { stdio: 'ignore' }); } catch (e) {
  if ((e as { code?: string }).code === 'ENOENT') { console.log('dns bench skipped: dnsperf not installed (apt-get install -y dnsperf)'); process.exit(0); }
}

/** Endpoint i's address and names; web0..web9 are each shared by 3 endpoints (replicas). */
const ipOf = (i: number): string => `10.77.${4 + Math.floor(i / 250)}.${(i % 250) + 1}`;
const namesOf = (i: number): string[] => [`c${i}`, `c${i}-alias`, ...(i < 30 ? [`web${i % 10}`] : [])];
const AARDVARK = process.env.ANCHOR_AARDVARK ?? '/usr/lib/podman/aardvark-dns';
const AARDVARK_PORT = 5353;

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const median = (xs: number[]): number => pct([...xs].sort((a, b) => a - b), 0.5);

async function startServer(ns: TestNetns, port = 53, env: NodeJS.ProcessEnv = process.env): Promise<{ proc: ChildProcess; ctl: (cmd: object) => Promise<string> }> {
  const flags = (process.env.CNM_BENCH_DNS_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const proc = ns.spawn(process.execPath, [...flags, 'src/dns/standalone.ts', JSON.stringify({ port, resolvConfPath: null, addresses: [SERVER] })], { cwd: process.cwd(), env });
  if (process.env.CNM_BENCH_DNS_SERVER_LOG) proc.stderr!.pipe((await import('node:fs')).createWriteStream(process.env.CNM_BENCH_DNS_SERVER_LOG));
  const waiting: ((l: string) => void)[] = [];
  const rl = createInterface({ input: proc.stdout! });
  await new Promise<void>((resolve, reject) => {
    rl.on('line', (l) => { if (l === 'ready') resolve(); else waiting.shift()?.(l); });
    proc.on('exit', (c) => reject(new Error(`resolver exited ${c}`)));
  });
  const ctl = (cmd: object): Promise<string> => new Promise((resolve) => { waiting.push(resolve); proc.stdin!.write(`${JSON.stringify(cmd)}\n`); });
  return { proc, ctl };
}

async function dnsperf(cli: TestNetns, file: string, args: string, port = 53): Promise<string> {
  const argv = ['-s', SERVER, '-p', String(port), '-d', file, '-c', '8', ...args.split(' '), ...(process.env.CNM_BENCH_DNS_DNSPERF_ARGS ?? '').split(' ').filter(Boolean)];
  try {
    const r = await execFileP('nsenter', [`--net=${cli.path}`, 'dnsperf', ...argv], { timeout: (Math.max(SECONDS, MEM_SECONDS) + 60) * 1000, maxBuffer: 256 << 20 });
    return r.stdout;
  } catch (e) {
    const err = e as { code?: unknown; signal?: unknown; stderr?: string };
    throw new Error(`dnsperf ${argv.join(' ')} failed: code ${String(err.code)}, signal ${String(err.signal)}: ${err.stderr ?? ''}`);
  }
}

const qpsOf = (out: string): number => Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
const lostOf = (out: string): string => /Queries lost:\s+(\d+ \([\d.]+%\))/.exec(out)?.[1] ?? '?';

const made: TestNetns[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'cnm-dnsbench-'));
let server: ChildProcess | undefined;
let dgramServer: ChildProcess | undefined;
const DGRAM_PORT = 5354;
const batched = process.env.CNM_DNS_UDP !== 'dgram' && existsSync(join(process.cwd(), 'build', 'udpbatch.node'));
try {
  const srv = await TestNetns.create('dnsb-srv'); made.push(srv);
  const cli = await TestNetns.create('dnsb-cli'); made.push(cli);
  await srv.sh(`ip link add eth0 type veth peer name eth0 netns ${cli.name} && ip addr add ${SERVER}/16 dev eth0 && ip link set eth0 up`);
  await cli.sh(`ip addr add ${CLIENT}/16 dev eth0 && ip link set eth0 up`);
  const s = await startServer(srv);
  server = s.proc;
  // The table: ENDPOINTS endpoints over ENDPOINTS/10 networks; the client on net0 with 9 others.
  const populate = async (ctl: (cmd: object) => Promise<string>): Promise<void> => {
    const add = (i: number, ip: string, names: string[]): Promise<string> => ctl({ op: 'add', endpoint: {
      endpointId: `e${i}`, sandboxId: `s${i}`, networkId: `n${Math.floor(i / 10)}`, networkName: `net${Math.floor(i / 10)}`,
      names, ipv4: ip, internal: false } });
    await add(0, CLIENT, ['client']);
    for (let i = 1; i < ENDPOINTS; i++) await add(i, ipOf(i), namesOf(i));
  };
  await populate(s.ctl);
  // A mix of what containers ask: A of names (with and without .network), a
  // name two sandboxes share, AAAA of a v4-only name (NODATA), PTR.
  const file = join(tmp, 'queries.txt');
  writeFileSync(file, [
    'c1 A', 'c2.net0 A', 'web3 A', 'C4 A', 'c5-alias A', 'c6 AAAA', 'c7.net0 A', 'web1 A',
    '2.0.77.10.in-addr.arpa PTR', 'c9 A',
  ].join('\n') + '\n');

  console.log(`cnm resolver (UDP: ${batched ? 'batched recvmmsg/sendmmsg' : 'node:dgram'}), ${ENDPOINTS} endpoints, dnsperf 8 clients from another namespace`);
  const stats = async (): Promise<{ rss: number; cpuUs: number }> => JSON.parse(await s.ctl({ op: 'stats' })) as { rss: number; cpuUs: number };
  const qps: number[] = [];
  const cpuPerQuery: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const before = await stats();
    const out = await dnsperf(cli, file, `-l ${SECONDS}`);
    const after = await stats();
    const done = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
    qps.push(qpsOf(out));
    // CPU time of the resolver process per answered query: less sensitive to
    // other load on the machine than q/s (the kernel's UDP/veth work done in
    // the resolver's send calls is included).
    cpuPerQuery.push((after.cpuUs - before.cpuUs) / done);
    console.log(`  max rate run ${r + 1}: ${qpsOf(out).toFixed(0)} q/s, lost ${lostOf(out)}, resolver CPU ${(cpuPerQuery.at(-1) ?? NaN).toFixed(1)} us/query, load average ${loadavg()[0]?.toFixed(2)}`);
  }
  const med = median(qps);
  console.log(`max rate: median ${med.toFixed(0)} q/s over ${RUNS} runs of ${SECONDS} s, resolver CPU median ${median(cpuPerQuery).toFixed(1)} us/query; vs Docker's reference ${DOCKER_REFERENCE_QPS} q/s: ${(med / DOCKER_REFERENCE_QPS).toFixed(2)}x (target >= 2x)`);

  const fixed = await dnsperf(cli, file, `-l ${SECONDS} -Q ${FIXED_QPS} -v`);
  const lat = [...fixed.matchAll(/^> \w+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  const p99 = pct(lat, 0.99);
  console.log(`fixed ${FIXED_QPS} q/s for ${SECONDS} s: ${qpsOf(fixed).toFixed(0)} q/s, lost ${lostOf(fixed)}, latency p50 ${pct(lat, 0.5).toFixed(3)} ms, p95 ${pct(lat, 0.95).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (target p99 < 2 ms: ${p99 < 2 ? 'met' : 'NOT met'})`);

  const rss: number[] = [];
  const heap: number[] = [];
  const sample = async (): Promise<void> => { const st = JSON.parse(await s.ctl({ op: 'stats' })) as { rss: number; heapUsed: number }; rss.push(st.rss); heap.push(st.heapUsed); };
  await sample();
  const timer = setInterval(() => { void sample(); }, Math.max(1000, (MEM_SECONDS * 1000) / 12));
  const mem = await dnsperf(cli, file, `-l ${MEM_SECONDS} -Q ${FIXED_QPS}`);
  clearInterval(timer);
  await sample();
  const mb = (b: number | undefined): string => ((b ?? NaN) / 1048576).toFixed(1);
  console.log(`memory over ${MEM_SECONDS} s at ${FIXED_QPS} q/s (${qpsOf(mem).toFixed(0)} q/s done): RSS start ${mb(rss[0])} MB, peak ${mb(Math.max(...rss))} MB, end ${mb(rss[rss.length - 1])} MB; JS heap start ${mb(heap[0])} MB, peak ${mb(Math.max(...heap))} MB (node with type stripping alone is ~58 MB RSS)`);
  console.log(JSON.stringify({ bench: 'dns', udp: batched ? 'batch' : 'dgram', endpoints: ENDPOINTS, qpsMedian: Math.round(med), qpsRuns: qps.map(Math.round), cpuUsPerQuery: Number(median(cpuPerQuery).toFixed(2)), p50ms: pct(lat, 0.5), p95ms: pct(lat, 0.95), p99ms: p99, rssStartMB: Number(mb(rss[0])), rssPeakMB: Number(mb(Math.max(...rss))), rssEndMB: Number(mb(rss[rss.length - 1])) }));

  // The two UDP paths in the same run: this resolver (batched when the addon
  // loads) and a second one forced to node:dgram on another port, same table,
  // runs interleaved so that both see the same background load.
  if (batched && process.env.CNM_BENCH_DNS_UDP_COMPARE !== '0') {
    const d = await startServer(srv, DGRAM_PORT, { ...process.env, CNM_DNS_UDP: 'dgram' });
    dgramServer = d.proc;
    await populate(d.ctl);
    const cmp = { batch: [] as number[], dgram: [] as number[], batchP99: [] as number[], dgramP99: [] as number[] };
    const p99Of = (out: string): number => pct([...out.matchAll(/^> \w+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b), 0.99);
    for (let r = 0; r < RUNS; r++) {
      cmp.batch.push(qpsOf(await dnsperf(cli, file, `-l ${SECONDS}`)));
      cmp.dgram.push(qpsOf(await dnsperf(cli, file, `-l ${SECONDS}`, DGRAM_PORT)));
      cmp.batchP99.push(p99Of(await dnsperf(cli, file, `-l ${SECONDS} -Q ${FIXED_QPS} -v`)));
      cmp.dgramP99.push(p99Of(await dnsperf(cli, file, `-l ${SECONDS} -Q ${FIXED_QPS} -v`, DGRAM_PORT)));
      console.log(`  UDP paths run ${r + 1}: batched ${cmp.batch.at(-1)?.toFixed(0)} q/s, dgram ${cmp.dgram.at(-1)?.toFixed(0)} q/s; p99 at ${FIXED_QPS} q/s: batched ${cmp.batchP99.at(-1)?.toFixed(3)} ms, dgram ${cmp.dgramP99.at(-1)?.toFixed(3)} ms; load average ${loadavg()[0]?.toFixed(2)}`);
    }
    const b = median(cmp.batch), g = median(cmp.dgram);
    console.log(`UDP paths, interleaved, medians of ${RUNS}: batched ${b.toFixed(0)} q/s, dgram ${g.toFixed(0)} q/s (${(b / g).toFixed(2)}x); p99 at ${FIXED_QPS} q/s: batched ${median(cmp.batchP99).toFixed(3)} ms, dgram ${median(cmp.dgramP99).toFixed(3)} ms`);
    console.log(JSON.stringify({ bench: 'dns-udp-paths', batchQps: Math.round(b), dgramQps: Math.round(g), ratio: Number((b / g).toFixed(2)), batchP99ms: median(cmp.batchP99), dgramP99ms: median(cmp.dgramP99), batchRuns: cmp.batch.map(Math.round), dgramRuns: cmp.dgram.map(Math.round) }));
    dgramServer.kill('SIGTERM');
    dgramServer = undefined;
  } else {
    console.log(`UDP path comparison skipped: ${batched ? 'CNM_BENCH_DNS_UDP_COMPARE=0' : 'the batched path is off (CNM_DNS_UDP=dgram or build/udpbatch.node missing)'}`);
  }

  // Peer in the same run: aardvark-dns (Podman's resolver, also scoped by
  // client address), same namespaces, same table, on port 5353 beside cnm.
  // Both are asked the same A queries (aardvark has no <name>.<network> form),
  // runs interleaved so that both see the same background load.
  if (existsSync(AARDVARK) && process.env.CNM_BENCH_DNS_PEERS !== '0') {
    const cfgDir = join(tmp, 'aardvark');
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'net0'), [SERVER, `client0 ${CLIENT}  client`,
      ...Array.from({ length: ENDPOINTS - 1 }, (_, k) => `ctr${k + 1} ${ipOf(k + 1)}  ${namesOf(k + 1).join(',')}`)].join('\n') + '\n');
    // Its upstream: an address inside the bench namespace that nobody answers,
    // so nothing it might forward can leave the namespace.
    const rc = join(tmp, 'aardvark-resolv.conf');
    writeFileSync(rc, 'nameserver 10.77.255.254\n');
    await srv.sh(`unshare -m sh -c 'mount --bind ${rc} /etc/resolv.conf && exec ${AARDVARK} --config ${cfgDir} -p ${AARDVARK_PORT} run' </dev/null >/dev/null 2>&1`);
    const pid = Number(readFileSync(join(cfgDir, 'aardvark.pid'), 'utf8').trim());
    try {
      const common = join(tmp, 'common.txt');
      writeFileSync(common, ['c1 A', 'C4 A', 'c5-alias A', 'web3 A', 'c9 A', 'c7 A', 'c2 A', 'web1 A'].join('\n') + '\n');
      const ticks = (): number => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []; return Number(f[11]) + Number(f[12]); };
      const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      const peer = { cnm: [] as number[], aardvark: [] as number[], cnmCpu: [] as number[], aardvarkCpu: [] as number[] };
      for (let r = 0; r < RUNS; r++) {
        let before = (await stats()).cpuUs;
        let out = await dnsperf(cli, common, `-l ${SECONDS}`);
        peer.cnm.push(qpsOf(out));
        peer.cnmCpu.push(((await stats()).cpuUs - before) / Number(/Queries completed:\s+(\d+)/.exec(out)?.[1]));
        before = ticks();
        out = await dnsperf(cli, common, `-l ${SECONDS}`, AARDVARK_PORT);
        peer.aardvark.push(qpsOf(out));
        peer.aardvarkCpu.push(((ticks() - before) * 1e6 / CLK_TCK) / Number(/Queries completed:\s+(\d+)/.exec(out)?.[1]));
        console.log(`  peer run ${r + 1}: cnm ${peer.cnm.at(-1)?.toFixed(0)} q/s, aardvark-dns ${peer.aardvark.at(-1)?.toFixed(0)} q/s (lost ${lostOf(out)})`);
      }
      const c = median(peer.cnm), a = median(peer.aardvark);
      console.log(`same A queries, interleaved: cnm ${c.toFixed(0)} q/s (${median(peer.cnmCpu).toFixed(1)} us CPU/query), aardvark-dns ${a.toFixed(0)} q/s (${median(peer.aardvarkCpu).toFixed(1)} us CPU/query): ratio ${(c / a).toFixed(2)}x`);
      console.log(JSON.stringify({ bench: 'dns-peers', cnmQps: Math.round(c), aardvarkQps: Math.round(a), ratio: Number((c / a).toFixed(2)), cnmCpuUs: Number(median(peer.cnmCpu).toFixed(2)), aardvarkCpuUs: Number(median(peer.aardvarkCpu).toFixed(2)) }));
    } finally {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    }
  } else {
    console.log(`aardvark-dns comparison skipped: ${existsSync(AARDVARK) ? 'CNM_BENCH_DNS_PEERS=0' : `${AARDVARK} not installed (../bench/anchors.sh up installs it)`}`);
  }
} finally {
  server?.kill('SIGTERM');
  dgramServer?.kill('SIGTERM');
  for (const n of made.reverse()) await n.destroy();
  rmSync(tmp, { recursive: true, force: true });
}
