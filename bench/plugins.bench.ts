// Remote network plugins, in one run:
// 1. connect and disconnect of a running container through a remote
//    network driver (test/plugins/plugin.py: a bridge and a veth per
//    endpoint, made with ip(8) in the daemon's namespace) against the
//    built-in bridge driver. p50 of BENCH_N cycles.
// 2. cnm's overhead per plugin call during those cycles: the time cnm
//    waited for each call (CnmStats.Plugins of /info) minus the time the
//    plugin spent handling it (its own log). What is left is cnm's client,
//    the socket and Python's HTTP parsing: an upper bound of cnm's part.
// 3. the round trip of one call to an empty plugin (a Node HTTP server
//    that answers {} at once), from cnm's plugin client.
// Target: cnm adds <= 1 ms per plugin call beyond the plugin's own time.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { callPlugin } from '../src/drivers/remote/client.ts';
import type { Client } from '../src/client/client.ts';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { startPlugin } from '../test/helpers/plugins.ts';
import { fmt, p50, p95, table, timed } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 40);
const CALLS = Number(process.env.BENCH_CALLS ?? 1000);

async function cycle(client: Client, net: string, target: string): Promise<{ connect: number[]; disconnect: number[] }> {
  const out = { connect: [] as number[], disconnect: [] as number[] };
  for (let i = 0; i < N; i++) {
    out.connect.push((await timed(() => client.networkConnect(net, target)))[0]);
    out.disconnect.push((await timed(() => client.networkDisconnect(net, target)))[0]);
  }
  return out;
}

const info = (socket: string): Promise<{ CnmStats: { Plugins: Record<string, { calls: number; ms: number }> } }> =>
  new Promise((resolve, reject) => {
    get({ socketPath: socket, path: '/info' }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => { s += c.toString(); });
      res.on('end', () => resolve(JSON.parse(s) as { CnmStats: { Plugins: Record<string, { calls: number; ms: number }> } }));
    }).on('error', reject);
  });

const EMPTY = `
const { createServer } = require('node:http');
createServer((req, res) => { req.resume(); req.on('end', () => res.end('{}')); }).listen(process.argv[1], () => console.log('listening'));
`;

const rows: (string | number)[][] = [['driver', 'op', 'p50 ms', 'p95 ms']];
const dir = mkdtempSync('/tmp/cnmt-plugbench-');
const d = await startTestDaemon({ args: ['--log-level', 'warn', '--plugin-dir', dir] });
const plugin = await startPlugin({ dir, name: 'bnet', kind: 'network', netns: d.ns.path });
const empty = spawn(process.execPath, ['-e', EMPTY, join(dir, 'empty.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  await new Promise((r) => empty.stdout?.once('data', r));
  await d.client.networkCreate({ Name: 'bb', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.203.0.0/24' }] } });
  await d.client.networkCreate({ Name: 'br', Driver: 'bnet', IPAM: { Config: [{ Subnet: '10.204.0.0/24' }] } });
  const { Id } = await d.client.containerCreate('plugtarget', { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'bridge' } });
  await d.client.containerStart(Id);
  const res = new Map<string, number>();
  for (const [label, net] of [['bridge (built-in)', 'bb'], ['remote (plugin)', 'br']] as const) {
    await cycle(d.client, net, Id); // warm-up
    const s0 = (await info(d.socket)).CnmStats.Plugins.bnet ?? { calls: 0, ms: 0 };
    const from = plugin.calls().length;
    const s = await cycle(d.client, net, Id);
    rows.push([label, 'connect', fmt(p50(s.connect)), fmt(p95(s.connect))], [label, 'disconnect', fmt(p50(s.disconnect)), fmt(p95(s.disconnect))]);
    res.set(`${net}/connect`, p50(s.connect));
    res.set(`${net}/disconnect`, p50(s.disconnect));
    if (net === 'br') {
      const s1 = (await info(d.socket)).CnmStats.Plugins.bnet ?? { calls: 0, ms: 0 };
      const own = plugin.calls().slice(from);
      const calls = s1.calls - s0.calls;
      const waited = s1.ms - s0.ms;
      const handled = own.reduce((a, c) => a + c.ms, 0);
      console.log(`plugin calls per connect+disconnect: ${(calls / N).toFixed(1)} (${[...new Set(own.map((c) => c.method))].join(', ')})`);
      console.log(`per call: cnm waited ${fmt(waited / calls)} ms, the plugin handled it in ${fmt(handled / own.length)} ms`);
      res.set('overhead', (waited - handled) / calls);
    }
  }
  // 2b. the same plugin called directly by cnm's client, call by call: the
  // i-th answer against the i-th line of the plugin's log.
  const direct: number[] = [];
  const paddr = { socket: plugin.socket };
  const body = { NetworkID: 'x', EndpointID: 'y' };
  const first = plugin.calls().length;
  for (let i = 0; i < CALLS; i++) direct.push((await timed(() => callPlugin('bnet', paddr, 'NetworkDriver.EndpointOperInfo', body, { timeoutMs: 5000, retryMs: 0 })))[0]);
  const own = plugin.calls().slice(first).map((c) => c.ms);
  const beyond = direct.map((ms, i) => ms - (own[i] ?? 0));
  rows.push(['remote (plugin)', 'one call, beyond the plugin', fmt(p50(beyond)), fmt(p95(beyond))]);
  // 3. an empty plugin's round trip from cnm's client
  const rtt: number[] = [];
  const addr = { socket: join(dir, 'empty.sock') };
  for (let i = 0; i < 100; i++) await callPlugin('empty', addr, 'NetworkDriver.Leave', { NetworkID: 'x', EndpointID: 'y' }, { timeoutMs: 5000, retryMs: 0 });
  for (let i = 0; i < CALLS; i++) rtt.push((await timed(() => callPlugin('empty', addr, 'NetworkDriver.Leave', { NetworkID: 'x', EndpointID: 'y' }, { timeoutMs: 5000, retryMs: 0 })))[0]);
  rows.push(['empty plugin', 'one call', fmt(p50(rtt)), fmt(p95(rtt))]);
  console.log(`\n${table(rows)}\n`);
  console.log(`remote/bridge connect p50: ${(res.get('br/connect')! / res.get('bb/connect')!).toFixed(2)}x, disconnect ${(res.get('br/disconnect')! / res.get('bb/disconnect')!).toFixed(2)}x`);
  console.log(`during connect/disconnect, mean per plugin call, cnm's wait minus the plugin's own time: ${fmt(res.get('overhead')!)} ms`);
  console.log(`per plugin call, p50 of cnm's round trip minus the plugin's own time: ${fmt(p50(beyond))} ms (target <= 1 ms)`);
  console.log(`empty plugin round trip p50: ${fmt(p50(rtt))} ms (target <= 1 ms)`);
} finally {
  empty.kill('SIGKILL');
  await d.destroy();
  await plugin.kill();
  rmSync(dir, { recursive: true, force: true });
}
