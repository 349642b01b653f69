// CNI networks, side by side in one run:
// 1. connect and disconnect of a running container to a cni network running
//    Debian's bridge + host-local chain (through the Engine API: store,
//    chain, DNS), with the bridge plugin's ipMasq off and on (on: iptables
//    NAT rules, as netavark writes them);
// 2. netavark's setup and teardown of the same topology (a bridge, a veth,
//    an address, a default route; its iptables rules), Debian's
//    /usr/lib/podman/netavark run under `nsenter --net=/run/netns/anchor-host`
//    as ../shared/bench/anchors.sh describes, a second container keeping the
//    bridge up as the first cnm connect leaves the CNI bridge up;
// 3. cnm's own time per plugin call: a chain's time minus the time its
//    plugin processes ran (spawn to exit), from the daemon's debug log.
//    Target: <= 1 ms per plugin call.
// p50 of BENCH_N cycles.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestDaemon } from '../test/helpers/daemon.ts';
import { TestNetns } from '../test/helpers/netns.ts';
import { fmt, p50, p95, table, timed } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 40);
const NETAVARK = '/usr/lib/podman/netavark';
const ANCHOR_NS = '/run/netns/anchor-host';
const execFileP = promisify(execFile);

const rows: (string | number)[][] = [['peer', 'op', 'p50 ms', 'p95 ms']];
const res = new Map<string, number>();
const dir = mkdtempSync(join(tmpdir(), 'cnmt-cni-bench-'));
const d = await startTestDaemon({ args: ['--log-level', 'debug'] });

/** The daemon's `cni chain` debug lines since `from` (log offset): per-call cnm time and plugin time. */
function chainFigures(from: number): { add: number[]; del: number[]; plugin: number[] } {
  const out = { add: [] as number[], del: [] as number[], plugin: [] as number[] };
  for (const line of d.logs().slice(from).split('\n')) {
    const m = /cni chain .*what=(ADD|DEL) .*calls=(\d+) plugin_ms=([\d.]+) cnm_ms=([\d.]+)/.exec(line);
    if (!m) continue;
    const calls = Number(m[2]);
    if (!calls) continue;
    (m[1] === 'ADD' ? out.add : out.del).push(Number(m[4]) / calls);
    out.plugin.push(Number(m[3]) / calls);
  }
  return out;
}

try {
  const { Id } = await d.client.containerCreate('cnitarget', { Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'bridge' } });
  await d.client.containerStart(Id);
  const overhead: number[] = [];
  for (const masq of [false, true]) {
    const name = masq ? 'cnimasq' : 'cnibr';
    const path = join(dir, `${name}.conflist`);
    writeFileSync(path, JSON.stringify({
      cniVersion: '1.0.0', name,
      plugins: [{ type: 'bridge', bridge: `${name}0`, isGateway: true, ipMasq: masq, ipam: { type: 'host-local', subnet: masq ? '10.232.0.0/24' : '10.233.0.0/24', routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') } }],
    }));
    await d.client.networkCreate({ Name: name, Driver: 'cni', Options: { 'cni.conflist': path } });
    const cycle = async (): Promise<{ connect: number[]; disconnect: number[] }> => {
      const out = { connect: [] as number[], disconnect: [] as number[] };
      for (let i = 0; i < N; i++) {
        out.connect.push((await timed(() => d.client.networkConnect(name, Id)))[0]);
        out.disconnect.push((await timed(() => d.client.networkDisconnect(name, Id)))[0]);
      }
      return out;
    };
    await cycle(); // warm-up: the first ADD makes the bridge
    const from = d.logs().length;
    const s = await cycle();
    const f = chainFigures(from);
    const label = `cnm cni bridge+host-local${masq ? ' (ipMasq)' : ''}`;
    rows.push([label, 'connect', fmt(p50(s.connect)), fmt(p95(s.connect))], [label, 'disconnect', fmt(p50(s.disconnect)), fmt(p95(s.disconnect))]);
    rows.push([label, 'plugin process per call', fmt(p50(f.plugin)), fmt(p95(f.plugin))]);
    rows.push([label, 'cnm per plugin call (ADD)', fmt(p50(f.add)), fmt(p95(f.add))], [label, 'cnm per plugin call (DEL)', fmt(p50(f.del)), fmt(p95(f.del))]);
    res.set(`${name}/connect`, p50(s.connect));
    overhead.push(...f.add, ...f.del);
  }
  res.set('overhead', p50(overhead));
  res.set('overhead95', p95(overhead));

  // netavark in the anchor namespace (made as anchors.sh makes it when missing).
  if (existsSync(NETAVARK) && process.env.BENCH_NO_NETAVARK !== '1') {
    if (!existsSync(ANCHOR_NS)) execFileSync('sh', ['-c', 'ip netns add anchor-host && ip -n anchor-host link set lo up']);
    const keeper = await TestNetns.create('nvkeep');
    const box = await TestNetns.create('nvbox');
    const opts = (ip: string, cid: string): string => JSON.stringify({
      container_id: cid.repeat(64), container_name: `nv${cid}`,
      networks: { cnmbench: { static_ips: [ip], interface_name: 'eth0' } },
      network_info: { cnmbench: {
        name: 'cnmbench', id: 'b'.repeat(64), driver: 'bridge', network_interface: 'cnmnvbr0',
        subnets: [{ subnet: '10.234.0.0/24', gateway: '10.234.0.1' }],
        ipv6_enabled: false, internal: false, dns_enabled: false, ipam_options: { driver: 'host-local' },
      } },
    });
    const nv = async (cmd: 'setup' | 'teardown', ns: TestNetns, json: string): Promise<number> => {
      const f = join(dir, `${cmd}-${ns.name}.json`);
      writeFileSync(f, json);
      return (await timed(() => execFileP('nsenter', [`--net=${ANCHOR_NS}`, NETAVARK, '--config', join(dir, 'aardvark'), '-f', f, cmd, ns.path])))[0];
    };
    try {
      await nv('setup', keeper, opts('10.234.0.250', 'k'));
      const cycle = async (): Promise<{ setup: number[]; teardown: number[] }> => {
        const out = { setup: [] as number[], teardown: [] as number[] };
        for (let i = 0; i < N; i++) {
          out.setup.push(await nv('setup', box, opts('10.234.0.2', 'c')));
          out.teardown.push(await nv('teardown', box, opts('10.234.0.2', 'c')));
        }
        return out;
      };
      await cycle();
      const s = await cycle();
      rows.push(['netavark bridge (static IP)', 'setup', fmt(p50(s.setup)), fmt(p95(s.setup))], ['netavark bridge (static IP)', 'teardown', fmt(p50(s.teardown)), fmt(p95(s.teardown))]);
      res.set('netavark/setup', p50(s.setup));
      await nv('teardown', keeper, opts('10.234.0.250', 'k')).catch(() => undefined);
    } finally {
      await box.destroy();
      await keeper.destroy();
    }
  } else {
    console.log('netavark: not measured (missing, or BENCH_NO_NETAVARK=1)');
  }
} finally {
  await d.destroy();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${table(rows)}\n`);
console.log(`cnm per plugin call: p50 ${fmt(res.get('overhead')!)} ms, p95 ${fmt(res.get('overhead95')!)} ms (target: <= 1 ms)`);
if (res.has('netavark/setup')) {
  console.log(`connect vs netavark setup, p50: ${(res.get('netavark/setup')! / res.get('cnibr/connect')!).toFixed(2)}x (ipMasq off), ${(res.get('netavark/setup')! / res.get('cnimasq/connect')!).toFixed(2)}x (ipMasq on, comparable firewall work)`);
}
