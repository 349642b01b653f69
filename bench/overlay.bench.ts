// Overlay networks across hosts (issue 13), on one machine: three "hosts"
// (namespaces on an underlay bridge, a cnm daemon each) and etcd 3.4 in a
// namespace of its own (test/helpers/cluster.ts).
// 1. Convergence: from the connect call on host A to the first ping answered
//    from host C. A prober on C pings the address the container on A will
//    get (a static --ip) every 2 ms from before the connect (its ARP retry
//    interval set to 10 ms: the kernel's 1 s default would quantize the
//    result); the time is connect issued -> the prober's first reply. p50
//    and p99 of BENCH_N.
// 2. Connect on an overlay network (the API call on A): p50, for the record.
// 3. Cross-host TCP throughput (iperf3, one stream) between containers on
//    A and C against a bare VXLAN pair made by hand between the same two
//    host namespaces.
// Docker's own classic overlay needs a dockerd <= 20.10 with --cluster-store
// (removed in 23.0; Debian 12 ships docker.io 20.10 but the anchors run one
// daemon in one namespace, not three), so no Docker column here.
import { spawn } from 'node:child_process';
import { startCluster, hostIp } from '../test/helpers/cluster.ts';
import { runSandbox } from '../test/helpers/sandbox.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { iperf, median } from './lib/iperf.ts';
import { fmt, p50, percentile, table, timed } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

const c = await startCluster(3);
const [A, , C] = c.hosts;
const rows: (string | number)[][] = [['what', 'p50 ms', 'p99 ms', 'n']];
try {
  await A!.client.networkCreate({ Name: 'bench', Driver: 'overlay', Attachable: true, IPAM: { Config: [{ Subnet: '10.250.0.0/24' }] } } as never);
  await waitFor(async () => (await C!.client.networkList()).some((n) => n.Name === 'bench'), { what: 'the network on C' });
  await runSandbox(C!, 'prober', { network: 'bench' });
  const proberPid = (await C!.client.containerInspect('prober')).State.Pid;
  // The prober asks ARP for an address that does not answer yet; the kernel
  // retries every retrans_time (1 s by default). The new endpoint's
  // gratuitous ARP (arp_notify, set by the overlay driver) resolves the
  // waiting entry at once, so the prober keeps the kernel's defaults unless
  // BENCH_ARP_RETRY_MS says otherwise (an earlier round measured with 10).
  if (process.env.BENCH_ARP_RETRY_MS) {
    await C!.ns.sh(`nsenter -t ${proberPid} -n sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=${Number(process.env.BENCH_ARP_RETRY_MS)} net.ipv4.neigh.eth0.mcast_solicit=100 net.ipv4.neigh.eth0.ucast_solicit=100`);
  }
  const { Id: target } = await A!.client.containerCreate('target', { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'bridge' } });
  await A!.client.containerStart(target);

  const converge: number[] = [];
  const connect: number[] = [];
  for (let i = 0; i < N + 2; i++) {
    const ip = `10.250.0.${100 + (i % 100)}`;
    // The prober runs before the connect: its first reply is the moment C can reach the new endpoint.
    const prober = spawn('nsenter', ['-t', String(proberPid), '-n', 'ping', '-n', '-q', '-i', '0.002', '-c', '1', '-w', '10', ip], { stdio: 'ignore' });
    const replied = new Promise<number>((res, rej) => prober.once('exit', (code) => (code === 0 ? res(performance.now()) : rej(new Error(`no reply from ${ip}`)))));
    await new Promise((r) => setTimeout(r, 30));
    const t0 = performance.now();
    const [ms] = await timed(() => A!.client.networkConnect('bench', target, { IPAMConfig: { IPv4Address: ip } } as never));
    const t1 = await replied;
    if (i >= 2) { converge.push(t1 - t0); connect.push(ms); } // the first two warm caches up
    await A!.client.networkDisconnect('bench', target);
  }
  rows.push(['convergence: connect on A -> first ping answered from C', fmt(p50(converge)), fmt(percentile(converge, 99)), converge.length]);
  rows.push(['connect on an overlay network (API call on A)', fmt(p50(connect)), fmt(percentile(connect, 99)), connect.length]);
  console.log(`convergence p50 ${fmt(p50(converge))} ms (target <= 100 ms)`);

  // 3. throughput: containers on A and C against a bare VXLAN pair between the same host namespaces.
  await runSandbox(A!, 'tpa', { network: 'bench' });
  const tpIp = (await A!.client.containerInspect('tpa')).NetworkSettings.Networks.bench!.IPAddress ?? '';
  const tpPid = (await A!.client.containerInspect('tpa')).State.Pid;
  const xs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(await iperf({ pid: tpPid }, { pid: proberPid }, tpIp, { seconds: SECONDS }));
  const bare: number[] = [];
  const [ha, hc] = [c.hostNs[0]!, c.hostNs[2]!];
  await ha.sh(`ip link add bvx type vxlan id 4000 dstport 4790 local ${hostIp(0)} remote ${hostIp(2)} nolearning && ip link set bvx mtu 1450 up && ip addr add 10.251.0.1/24 dev bvx`);
  await hc.sh(`ip link add bvx type vxlan id 4000 dstport 4790 local ${hostIp(2)} remote ${hostIp(0)} nolearning && ip link set bvx mtu 1450 up && ip addr add 10.251.0.2/24 dev bvx`);
  for (let i = 0; i < ROUNDS; i++) bare.push(await iperf({ path: ha.path }, { path: hc.path }, '10.251.0.1', { seconds: SECONDS }));
  console.log(`cross-host TCP: cnm overlay ${median(xs).toFixed(2)} Gbit/s (${xs.map((x) => x.toFixed(2)).join(', ')}), bare VXLAN ${median(bare).toFixed(2)} Gbit/s (${bare.map((x) => x.toFixed(2)).join(', ')}): ${(median(xs) / median(bare)).toFixed(2)}x (target >= 0.9x)`);
} finally {
  await c.destroy();
}
console.log(`\n${table(rows)}\n`);
