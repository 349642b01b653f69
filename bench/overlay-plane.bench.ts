// The overlay data plane alone (no cluster store: the driver is called as
// the cluster code calls it), between two "hosts" (namespaces on an underlay
// bridge, each with its own VTEP):
// 1. cross-host TCP throughput (iperf3, one stream), container to container
//    over the overlay (veth -> br0 -> vxlan0 in each overlay namespace),
//    against a bare VXLAN pair between the same two host namespaces (same
//    MTU, same port). Target >= 0.9x (issue 13).
// 2. the data plane's share of a connect on an overlay network: the
//    driver's join (veth pair into the sandbox, addresses, up) and leave,
//    p50 of BENCH_N cycles. The store's share is the cluster code's.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Netns } from '../src/netlink/index.ts';
import type { DriverContext, NetworkInfo } from '../src/drivers/driver.ts';
import type { EndpointRecord } from '../src/model/records.ts';
import { overlayDriver, setOverlayPeers } from '../src/drivers/overlay/driver.ts';
import { TestNetns } from '../test/helpers/netns.ts';
import { cleanupRunDir } from '../test/helpers/daemon.ts';
import { iperf, median } from './lib/iperf.ts';
import { fmt, p50, p95, table, timed } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const newId = (): string => randomBytes(32).toString('hex');

const net: NetworkInfo = {
  id: newId(), name: 'ovbench', driver: 'overlay', created: '', scope: 'global', internal: false, attachable: true, ingress: false,
  enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamOptions: {}, ipamConfigRequested: [],
  ipv4: { subnet: '10.95.0.0/24', gateway: '10.95.0.1' }, options: {}, labels: {}, predefined: false, driverState: { vni: '5000' },
};
const endpoint = (ip: string, mac: string): EndpointRecord => ({
  id: newId(), name: ip, networkId: net.id, sandboxId: ip, ifName: 'eth0', mac, ipv4: ip, aliases: [], gwPriority: 0, created: 0,
  ports: [], driverOpts: {}, driverState: {}, gateway: { ipv4: null, ipv6: null }, routes: [], dns: true,
});

const runDir = await mkdtemp('/run/cnmt-ovbench-');
const underlay = await TestNetns.create('ovbul');
const made: TestNetns[] = [underlay];
const handles: Netns[] = [];
const results = new Map<string, number>();
const rows: (string | number)[][] = [['op', 'p50 ms', 'p95 ms']];
try {
  await underlay.sh('ip link add ul0 type bridge && ip link set ul0 up');
  const hosts: Array<{ t: TestNetns; ctx: DriverContext; vtep: string }> = [];
  for (const i of [1, 2]) {
    const t = await TestNetns.create(`ovbh${i}`);
    made.push(t);
    const vtep = `192.0.2.${i}`;
    await underlay.sh(`ip link add u${i} type veth peer name eth0 netns ${t.name} && ip link set u${i} master ul0 up`);
    await t.sh(`ip addr add ${vtep}/24 dev eth0 && ip link set eth0 up`);
    const ns = await Netns.open(t.path);
    handles.push(ns);
    hosts.push({ t, vtep, ctx: { hostNs: ns, owner: 'bench', networks: () => [], reap: () => undefined, execRoot: `${runDir}/h${i}`, cluster: { vtep, mtu: 1500 } } });
  }
  const [h1, h2] = hosts as [typeof hosts[0], typeof hosts[0]];

  // 1a. A bare VXLAN pair between the host namespaces.
  await h1.t.sh('ip link add vxb type vxlan id 999 local 192.0.2.1 remote 192.0.2.2 dstport 4789 nolearning && ip link set vxb mtu 1450 && ip addr add 10.96.0.1/24 dev vxb && ip link set vxb up');
  await h2.t.sh('ip link add vxb type vxlan id 999 local 192.0.2.2 remote 192.0.2.1 dstport 4789 nolearning && ip link set vxb mtu 1450 && ip addr add 10.96.0.2/24 dev vxb && ip link set vxb up');
  const tp = async (label: string, server: { path: string }, client: { path: string }, target: string): Promise<void> => {
    const xs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) xs.push(await iperf(server, client, target, { seconds: SECONDS }));
    results.set(label, median(xs));
    console.log(`${label}: ${median(xs).toFixed(2)} Gbit/s (${xs.map((x) => x.toFixed(2)).join(', ')})`);
  };
  await tp('bare VXLAN pair, host to host', { path: h1.t.path }, { path: h2.t.path }, '10.96.0.1');
  await h1.t.sh('ip link del vxb');
  await h2.t.sh('ip link del vxb');

  // 1b. Two containers on the overlay.
  const boxes: Array<{ t: TestNetns; ns: Netns; ep: EndpointRecord; h: typeof h1 }> = [];
  for (const [h, ip, mac] of [[h1, '10.95.0.2/24', '02:42:0a:5f:00:02'], [h2, '10.95.0.3/24', '02:42:0a:5f:00:03']] as const) {
    await overlayDriver.createNetwork(h.ctx, net, { fresh: true });
    const t = await TestNetns.create('ovbsb');
    made.push(t);
    const ns = await Netns.open(t.path);
    handles.push(ns);
    const ep = endpoint(ip, mac);
    ep.driverState = (await overlayDriver.createEndpoint(net, ep, { id: t.name, netnsPath: t.path, ifNames: [] })).driverState;
    await overlayDriver.join(h.ctx, net, ep, { id: t.name, netnsPath: t.path, ifNames: [], ns }, { fresh: true });
    boxes.push({ t, ns, ep, h });
  }
  const peers = boxes.map((b) => ({ ip: b.ep.ipv4!, mac: b.ep.mac, vtep: b.h.vtep }));
  for (const h of hosts) await setOverlayPeers(h.ctx, net, peers);
  await boxes[1]!.t.sh('ping -c 2 -W 2 10.95.0.2');
  await tp('overlay, container to container', { path: boxes[0]!.t.path }, { path: boxes[1]!.t.path }, '10.95.0.2');

  // 2. join + leave of a third container on host 1.
  const t = await TestNetns.create('ovbj');
  made.push(t);
  const ns = await Netns.open(t.path);
  handles.push(ns);
  const join: number[] = [];
  const leave: number[] = [];
  for (let i = 0; i < N + 5; i++) {
    const ep = endpoint('10.95.0.9/24', '02:42:0a:5f:00:09');
    ep.driverState = (await overlayDriver.createEndpoint(net, ep, { id: t.name, netnsPath: t.path, ifNames: [] })).driverState;
    const [j] = await timed(() => overlayDriver.join(h1.ctx, net, ep, { id: t.name, netnsPath: t.path, ifNames: [], ns }, { fresh: true }));
    const [l] = await timed(() => overlayDriver.leave(h1.ctx, net, ep, ns));
    if (i >= 5) { join.push(j); leave.push(l); } // the first ones warm caches up
  }
  rows.push(['driver join (data plane of a connect)', fmt(p50(join)), fmt(p95(join))], ['driver leave', fmt(p50(leave)), fmt(p95(leave))]);
  for (const h of hosts) await overlayDriver.deleteNetwork(h.ctx, net);
} finally {
  for (const h of handles) h.close();
  for (const t of made.reverse()) await t.destroy();
  for (const i of [1, 2]) await cleanupRunDir(`${runDir}/h${i}`);
  await rm(runDir, { recursive: true, force: true });
}

console.log(`\n${table(rows)}\n`);
console.log(`throughput overlay/bare VXLAN: ${(results.get('overlay, container to container')! / results.get('bare VXLAN pair, host to host')!).toFixed(2)}x (target >= 0.9x)`);
