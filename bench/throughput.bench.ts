// iperf3 in one run: a bare veth pair; two sandboxes on a cnm bridge; a port
// published by cnm (from 127.0.0.1, the host address and a remote host)
// against reaching the sandbox directly; the same over Docker's bridge and
// through docker-proxy.

import { Client } from '../src/client/client.ts';
import { TestNetns } from '../test/helpers/netns.ts';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { DOCKER_SOCK, anchorsUp } from './lib/anchors.ts';
import { iperfStats, median } from './lib/iperf.ts';
import type { NsRef } from './lib/iperf.ts';
import { table } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const results = new Map<string, number>();
// Gbit/s per busy core (iperf3's own CPU figures, both ends): on a shared
// machine it varies far less than Gbit/s, which follows whatever else runs.
const perCore = new Map<string, number>();

async function measure(label: string, server: NsRef, client: NsRef, target: string, port?: { port: number; serverPort: number }): Promise<void> {
  const xs: number[] = [];
  const cs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await iperfStats(server, client, target, { seconds: SECONDS, ...(port ?? {}) });
    xs.push(r.gbps);
    cs.push(r.gbps / (r.cpuPct / 100));
  }
  results.set(label, median(xs));
  perCore.set(label, median(cs));
  console.log(`${label}: ${median(xs).toFixed(2)} Gbit/s (${xs.map((x) => x.toFixed(2)).join(', ')}); per busy core ${median(cs).toFixed(2)} (${cs.map((x) => x.toFixed(2)).join(', ')})`);
}

// 1. A bare veth pair between two namespaces.
const a = await TestNetns.create('bare-a');
const b = await TestNetns.create('bare-b');
const d = await startTestDaemon({ args: ['--log-level', 'warn'] });
const remote = await TestNetns.create('remote');
try {
  await a.sh(`ip link add va type veth peer name vb netns ${b.name} && ip addr add 10.99.0.1/24 dev va && ip link set va up`);
  await b.sh('ip addr add 10.99.0.2/24 dev vb && ip link set vb up');
  await measure('bare veth pair', { path: a.path }, { path: b.path }, '10.99.0.1');

  // 2. Two sandboxes on a cnm bridge.
  await d.client.networkCreate({ Name: 'bench', IPAM: { Config: [{ Subnet: '10.97.0.0/24' }] } });
  const run = async (name: string, ports?: Record<string, { HostIp?: string; HostPort?: string }[]>) => {
    const { Id } = await d.client.containerCreate(name, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'bench', ...(ports ? { PortBindings: ports } : {}) } });
    await d.client.containerStart(Id);
    const info = await d.client.containerInspect(Id);
    return { pid: info.State.Pid, ip: info.NetworkSettings.Networks.bench?.IPAddress ?? '' };
  };
  const s1 = await run('s1', { '5201/tcp': [{ HostPort: '15201' }] });
  const s2 = await run('s2');
  await measure('cnm bridge, sandbox to sandbox', { pid: s1.pid }, { pid: s2.pid }, s1.ip);

  // 3. Published port vs direct, from the host, 127.0.0.1 and a remote host.
  await d.ns.sh(`ip link add rh0 type veth peer name rh1 netns ${remote.name} && ip addr add 10.96.0.1/24 dev rh0 && ip link set rh0 up`);
  await remote.sh('ip addr add 10.96.0.2/24 dev rh1 && ip link set rh1 up && ip route add default via 10.96.0.1');
  await measure('cnm direct to sandbox (from host)', { pid: s1.pid }, { path: d.ns.path }, s1.ip);
  const pub = { port: 15201, serverPort: 5201 };
  try {
    await measure('cnm published, via 127.0.0.1', { pid: s1.pid }, { path: d.ns.path }, '127.0.0.1', pub);
    await measure('cnm published, via host address', { pid: s1.pid }, { path: d.ns.path }, '10.96.0.1', pub);
    await measure('cnm published, from remote host', { pid: s1.pid }, { path: remote.path }, '10.96.0.1', pub);
  } catch (e) {
    console.log(`cnm published ports: not measured: ${(e as Error).message}`);
  }
} finally {
  await d.destroy();
  for (const ns of [a, b, remote]) await ns.destroy();
}

// 4. Docker: its bridge, and docker-proxy for a published port.
if (process.env.BENCH_NO_DOCKER !== '1' && anchorsUp()) {
  const c = new Client(`unix://${DOCKER_SOCK}`, '1.41');
  const ids: string[] = [];
  try {
    await c.networkRemove('cnm-bench').catch(() => undefined);
    await c.networkCreate({ Name: 'cnm-bench' });
    const run = async (name: string, ports?: Record<string, { HostIp?: string; HostPort?: string }[]>) => {
      await c.containerRemove(name, true).catch(() => undefined);
      const { Id } = await c.containerCreate(name, { Image: 'busybox:latest', Cmd: ['sleep', '1000000'], ExposedPorts: ports ? Object.fromEntries(Object.keys(ports).map((k) => [k, {}])) : {}, HostConfig: { NetworkMode: 'cnm-bench', ...(ports ? { PortBindings: ports } : {}) } });
      ids.push(Id);
      await c.containerStart(Id);
      const info = await c.containerInspect(Id);
      return { pid: info.State.Pid, ip: info.NetworkSettings.Networks['cnm-bench']?.IPAddress ?? '' };
    };
    const d1 = await run('cnm-bench-1', { '5201/tcp': [{ HostPort: '25201' }] });
    const d2 = await run('cnm-bench-2');
    const host: NsRef = { path: '/run/netns/anchor-host' };
    await measure('docker bridge, container to container', { pid: d1.pid }, { pid: d2.pid }, d1.ip);
    await measure('docker direct to container (from host)', { pid: d1.pid }, host, d1.ip);
    await measure('docker published, via 127.0.0.1 (docker-proxy)', { pid: d1.pid }, host, '127.0.0.1', { port: 25201, serverPort: 5201 });
  } finally {
    for (const id of ids) await c.containerRemove(id, true).catch(() => undefined);
    await c.networkRemove('cnm-bench').catch(() => undefined);
  }
} else {
  console.log('docker: not measured');
}

const r = (x: string, y: string) => (results.get(x) ?? NaN) / (results.get(y) ?? NaN);
const rc = (x: string, y: string) => (perCore.get(x) ?? NaN) / (perCore.get(y) ?? NaN);
console.log(`\n${table([
  ['comparison', 'ratio', 'target'],
  ['cnm bridge / bare veth', r('cnm bridge, sandbox to sandbox', 'bare veth pair').toFixed(2), '>= 0.95'],
  ['cnm bridge / bare veth, per busy core', rc('cnm bridge, sandbox to sandbox', 'bare veth pair').toFixed(2), ''],
  ['cnm published 127.0.0.1 / direct', r('cnm published, via 127.0.0.1', 'cnm direct to sandbox (from host)').toFixed(2), '>= 0.95'],
  ['cnm published host addr / direct', r('cnm published, via host address', 'cnm direct to sandbox (from host)').toFixed(2), '>= 0.95'],
  ['cnm published remote / direct', r('cnm published, from remote host', 'cnm direct to sandbox (from host)').toFixed(2), '>= 0.95'],
  ['docker bridge / bare veth', r('docker bridge, container to container', 'bare veth pair').toFixed(2), ''],
  ['docker-proxy / docker direct', r('docker published, via 127.0.0.1 (docker-proxy)', 'docker direct to container (from host)').toFixed(2), ''],
])}`);
