// macvlan, side by side in one run:
// 1. connect and disconnect of a running container to a macvlan network
//    (parent: a veth in the daemon's namespace), cnm against Docker's daemon
//    (Debian's docker.io, from ../shared/bench/anchors.sh, its parent a veth
//    in the anchor namespace). p50 of BENCH_N cycles.
// 2. container-to-LAN throughput (iperf3, one TCP stream) from a cnm
//    container on a macvlan network against a bare macvlan child made by
//    hand on the same parent, to a host on the "LAN" switch.
import { execFileSync } from 'node:child_process';
import { Client } from '../src/client/client.ts';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { TestNetns } from '../test/helpers/netns.ts';
import { makeLan } from '../test/helpers/lan.ts';
import { DOCKER_SOCK, anchorsUp } from './lib/anchors.ts';
import { iperf, median } from './lib/iperf.ts';
import { fmt, p50, p95, table, timed } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

interface Peer { name: string; client: Client; target: string }

async function cycle(p: Peer, net: string): Promise<{ connect: number[]; disconnect: number[] }> {
  const out = { connect: [] as number[], disconnect: [] as number[] };
  for (let i = 0; i < N; i++) {
    out.connect.push((await timed(() => p.client.networkConnect(net, p.target)))[0]);
    out.disconnect.push((await timed(() => p.client.networkDisconnect(net, p.target)))[0]);
  }
  return out;
}

const rows: (string | number)[][] = [['peer', 'op', 'p50 ms', 'p95 ms']];
const res = new Map<string, number>();
const d = await startTestDaemon({ args: ['--log-level', 'warn'] });
const lan = await makeLan(d, { prefix: '10.202.0' });
const bare = await TestNetns.create('mvbare');
try {
  // 1. connect / disconnect
  await d.ns.sh('ip link add mvp0 type veth peer name mvp1 && ip link set mvp0 up && ip link set mvp1 up');
  await d.client.networkCreate({ Name: 'mvb', Driver: 'macvlan', Options: { parent: 'mvp0' }, IPAM: { Config: [{ Subnet: '10.201.0.0/24' }] } });
  const { Id } = await d.client.containerCreate('mvtarget', { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'bridge' } });
  await d.client.containerStart(Id);
  const peers: Array<{ p: Peer; net: string }> = [{ p: { name: 'cnm', client: d.client, target: Id }, net: 'mvb' }];
  let docker: Client | null = null;
  if (process.env.BENCH_NO_DOCKER !== '1' && anchorsUp()) {
    docker = new Client(`unix://${DOCKER_SOCK}`, '1.41');
    execFileSync('sh', ['-c', 'ip -n anchor-host link del mvp0 2>/dev/null; ip -n anchor-host link add mvp0 type veth peer name mvp1 && ip -n anchor-host link set mvp0 up && ip -n anchor-host link set mvp1 up']);
    await docker.networkRemove('mvb').catch(() => undefined);
    await docker.networkCreate({ Name: 'mvb', Driver: 'macvlan', Options: { parent: 'mvp0' }, IPAM: { Config: [{ Subnet: '10.201.0.0/24' }] } });
    await docker.containerRemove('mvtarget', true).catch(() => undefined);
    const c = await docker.containerCreate('mvtarget', { Image: 'busybox:latest', Cmd: ['sleep', '1000000'], HostConfig: { NetworkMode: 'bridge' } });
    await docker.containerStart(c.Id);
    peers.push({ p: { name: 'docker', client: docker, target: c.Id }, net: 'mvb' });
  } else {
    console.log('docker: not measured (anchors unavailable or BENCH_NO_DOCKER=1)');
  }
  for (const { p, net } of peers) {
    await cycle(p, net); // warm-up (first connects load modules, fill caches)
    const s = await cycle(p, net);
    rows.push([p.name, 'connect', fmt(p50(s.connect)), fmt(p95(s.connect))], [p.name, 'disconnect', fmt(p50(s.disconnect)), fmt(p95(s.disconnect))]);
    res.set(`${p.name}/connect`, p50(s.connect));
    res.set(`${p.name}/disconnect`, p50(s.disconnect));
  }
  if (docker) {
    await docker.containerRemove('mvtarget', true).catch(() => undefined);
    await docker.networkRemove('mvb').catch(() => undefined);
    execFileSync('sh', ['-c', 'ip -n anchor-host link del mvp0 2>/dev/null || true']);
  }

  // 2. throughput to the LAN host
  await d.client.networkCreate({ Name: 'mvlan', Driver: 'macvlan', Options: { parent: lan.parent }, IPAM: { Config: [{ Subnet: '10.202.0.0/24', IPRange: '10.202.0.128/25', Gateway: '10.202.0.1' }] } });
  const box = await d.client.containerCreate('mvbox', { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'mvlan' } });
  await d.client.containerStart(box.Id);
  const pid = (await d.client.containerInspect(box.Id)).State.Pid;
  await d.ns.sh(`ip link add mvbare link ${lan.parent} netns ${bare.name} type macvlan mode bridge`);
  await bare.sh('ip addr add 10.202.0.50/24 dev mvbare && ip link set mvbare up');
  const tp = async (label: string, client: { pid: number } | { path: string }): Promise<void> => {
    const xs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) xs.push(await iperf({ path: lan.host.path }, client, lan.hostIp, { seconds: SECONDS }));
    res.set(label, median(xs));
    console.log(`${label}: ${median(xs).toFixed(2)} Gbit/s (${xs.map((x) => x.toFixed(2)).join(', ')})`);
  };
  await tp('bare macvlan child to LAN host', { path: bare.path });
  await tp('cnm macvlan container to LAN host', { pid });
} finally {
  await bare.destroy();
  await lan.destroy();
  await d.destroy();
}

console.log(`\n${table(rows)}\n`);
if (res.has('docker/connect')) {
  console.log(`ratio docker/cnm p50: connect ${(res.get('docker/connect')! / res.get('cnm/connect')!).toFixed(1)}x, disconnect ${(res.get('docker/disconnect')! / res.get('cnm/disconnect')!).toFixed(1)}x (target: connect >= 10x)`);
}
console.log(`throughput cnm/bare macvlan: ${(res.get('cnm macvlan container to LAN host')! / res.get('bare macvlan child to LAN host')!).toFixed(2)}x (target >= 0.95x)`);
