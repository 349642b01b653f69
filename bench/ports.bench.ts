// Published ports must not make calls slower: sandbox start with 100
// published ports against none, and connect latency while 5000 published
// ports exist against none (the firewall keeps them as set elements, so no
// rule list grows).
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { fmt, p50, p95, table, timed } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 30);
const HOLDERS = Number(process.env.BENCH_HOLDERS ?? 50);
const d = await startTestDaemon({ args: ['--log-level', 'warn'] });
const ports = (base: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${1000 + i}/tcp`, [{ HostPort: String(base + i) }]]));
const rows: (string | number)[][] = [['case', 'p50 ms', 'p95 ms']];
try {
  await d.client.networkCreate({ Name: 'p' });
  const startCase = async (label: string, n: number) => {
    const xs: number[] = [];
    for (let i = 0; i < N; i++) {
      const { Id } = await d.client.containerCreate(`${label}-${i}`, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'p', PortBindings: ports(20000, n) } });
      xs.push((await timed(() => d.client.containerStart(Id)))[0]);
      await d.client.containerRemove(Id, true);
    }
    rows.push([`start, ${n} published ports`, fmt(p50(xs)), fmt(p95(xs))]);
    return p50(xs);
  };
  const connectCase = async (label: string) => {
    const tag = label.replace(/\W+/g, '-');
    const { Id } = await d.client.containerCreate(`c-${tag}`, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'p' } });
    await d.client.containerStart(Id);
    const xs: number[] = [];
    for (let i = 0; i < N; i++) {
      const net = await d.client.networkCreate({ Name: `x-${tag}-${i}` });
      xs.push((await timed(() => d.client.networkConnect(net.Id, Id)))[0]);
      await d.client.networkDisconnect(net.Id, Id);
      await d.client.networkRemove(net.Id);
    }
    await d.client.containerRemove(Id, true);
    rows.push([`connect, ${label}`, fmt(p50(xs)), fmt(p95(xs))]);
    return p50(xs);
  };
  const s0 = await startCase('none', 0);
  const s100 = await startCase('hundred', 100);
  const c0 = await connectCase('no published ports');
  for (let h = 0; h < HOLDERS; h++) {
    const { Id } = await d.client.containerCreate(`holder-${h}`, { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'p', PortBindings: ports(30000 + h * 100, 100) } });
    await d.client.containerStart(Id);
  }
  const cN = await connectCase(`${HOLDERS * 100} published ports held`);
  console.log(`\n${table(rows)}\n`);
  console.log(`start with 100 ports / none: ${(s100 / s0).toFixed(2)}x; connect with ${HOLDERS * 100} ports held / none: ${(cN / c0).toFixed(2)}x (target <= 1.5x)`);
} finally {
  await d.destroy();
}
