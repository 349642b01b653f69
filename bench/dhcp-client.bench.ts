// DHCP client benchmark: DORA completion (acquire(): DISCOVER, OFFER,
// REQUEST, ACK) against Debian's dnsmasq, for the record (issue 12 names no
// peer). A "LAN" namespace holds a bridge and dnsmasq (--no-ping: its ICMP
// probe of a new address adds a fixed ~3 s that measures dnsmasq, not the
// client); the sandbox's eth0 is a macvlan child of a veth into it.
// Each sample is a new client (a fresh client id), released after, so dnsmasq
// allocates every time; then returning clients (same id: the address it had).
// Run: node bench/dhcp-client.bench.ts   (or: npm run bench dhcp-client)
import { acquire, releaseLease } from '../src/dhcp/client.ts';
import { clientIdFor, leaseCidr } from '../src/dhcp/messages.ts';
import { Netns } from '../src/netlink/index.ts';
import { TestNetns, privilegedSkipReason } from '../test/helpers/netns.ts';
import { DhcpLan, dnsmasqSkipReason, macvlanSandbox } from '../test/helpers/dhcp-lan.ts';
import { fmt, p50, p95, table } from './lib/stats.ts';

const RUNS = Number(process.env.DHCP_BENCH_RUNS ?? 5);
const PER_RUN = Number(process.env.DHCP_BENCH_N ?? 40);

const skip = privilegedSkipReason() ?? dnsmasqSkipReason();
if (skip) {
  console.log(`dhcp-client: skipped (${skip})`);
  process.exit(0);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

const lan = await DhcpLan.create();
const host = await TestNetns.create('dhbh');
const sbx = await TestNetns.create('dhbs');
let ns: Netns | null = null;
try {
  await lan.plug(host);
  const mac = await macvlanSandbox(host, sbx);
  ns = await Netns.open(sbx.path);
  await lan.start({ lease: '1h' });
  const fresh: number[][] = [];
  const back: number[][] = [];
  for (let r = 0; r < RUNS; r++) {
    const f: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < PER_RUN; i++) {
      const who = { mac, clientId: clientIdFor(`bench-${r}-${i}`, 'n') };
      const t0 = performance.now();
      const lease = await acquire(ns, 'eth0', who);
      f.push(performance.now() - t0);
      const t1 = performance.now();
      await acquire(ns, 'eth0', who);
      b.push(performance.now() - t1);
      // RELEASE goes unicast from the leased address: put it on for the send.
      await ns.rtnl.addrAdd('eth0', leaseCidr(lease));
      await releaseLease(ns, 'eth0', who, lease);
      await ns.rtnl.addrDel('eth0', leaseCidr(lease));
    }
    fresh.push(f);
    back.push(b);
  }
  const row = (name: string, runs: number[][]): string[] =>
    [name, fmt(median(runs.map(p50))), fmt(median(runs.map(p95))), runs.map((x) => fmt(p50(x))).join(' ')];
  console.log(`DORA against dnsmasq ${(lan.log.match(/started, version (\S+)/) ?? [])[1] ?? ''}: ${RUNS} runs x ${PER_RUN} acquisitions (ms)`);
  console.log(table([
    ['client', 'p50 (median of runs)', 'p95 (median of runs)', 'p50 per run'],
    row('new client id', fresh),
    row('returning client id', back),
  ]));
} finally {
  ns?.close();
  await lan.destroy();
  await sbx.destroy();
  await host.destroy();
}
