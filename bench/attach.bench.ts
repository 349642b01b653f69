// The sandbox attach sequence, through cnm's netlink layer and through
// spawned `ip` commands, in the same run and in throwaway namespaces:
//   create a veth pair, move one end into the sandbox, rename it eth0,
//   address and raise both ends, add the sandbox's default route;
//   teardown = delete the host end (the kernel removes its peer).
// Prints p50/p95 per step group and the ratio of medians.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Netns } from '../src/netlink/index.ts';

const execFileP = promisify(execFile);
const ITER = Number(process.env.BENCH_ITER ?? 200);
const WARMUP = 10;

if (process.getuid?.() !== 0) {
  console.log('attach.bench: skipped (needs root for network namespaces)');
  process.exit(0);
}

const tag = randomBytes(3).toString('hex');
const hostName = `cnmt-bench-host-${tag}`;
const sandName = `cnmt-bench-sbx-${tag}`;
const host = await Netns.create(`/run/netns/${hostName}`);
const sandbox = await Netns.create(`/run/netns/${sandName}`);

// Docker's order (libnetwork): the peer is created in the host namespace
// under a temporary name, moved into the sandbox, then renamed there.
async function cnmAttachMove(): Promise<void> {
  await host.rtnl.linkAdd({ kind: 'veth', name: 'vh-bench', peer: { name: 'vs-bench' } });
  await host.rtnl.linkSet('vs-bench', { netns: sandbox });
  await sandbox.rtnl.linkSet('vs-bench', { name: 'eth0', up: true });
  await sandbox.rtnl.addrAdd('eth0', '10.200.0.2/24');
  await host.rtnl.addrAdd('vh-bench', '10.200.0.1/24');
  await host.rtnl.linkSet('vh-bench', { up: true });
  await sandbox.rtnl.routeAdd({ dst: 'default', gateway: '10.200.0.1' });
}
// cnm's order: the peer is born in the sandbox as eth0 (IFLA_NET_NS_FD in
// the peer's attributes), the host end raised at creation. Same end state,
// without the namespace move the kernel takes ~15 ms for.
async function cnmAttachDirect(): Promise<void> {
  await host.rtnl.linkAdd({ kind: 'veth', name: 'vh-bench', up: true, peer: { name: 'eth0', netns: sandbox } });
  await sandbox.rtnl.linkSet('eth0', { up: true });
  await sandbox.rtnl.addrAdd('eth0', '10.200.0.2/24');
  await host.rtnl.addrAdd('vh-bench', '10.200.0.1/24');
  await sandbox.rtnl.routeAdd({ dst: 'default', gateway: '10.200.0.1' });
}
// The same, with what the layer offers beyond names: linkAdd returns both
// indexes (no lookups after), the sandbox's three changes go in one sendmsg,
// and the host side runs beside it on its own socket.
async function cnmAttachBatched(): Promise<void> {
  const link = await host.rtnl.linkAdd({ kind: 'veth', name: 'vh-bench', up: true, peer: { name: 'eth0', netns: sandbox } });
  const eth0 = link.peerIndex ?? 'eth0';
  await Promise.all([
    sandbox.rtnl.batch((b) => b.linkSet(eth0, { up: true }).addrAdd(eth0, '10.200.0.2/24').routeAdd({ dst: 'default', gateway: '10.200.0.1' })),
    host.rtnl.addrAdd(link.index, '10.200.0.1/24'),
  ]);
}
const cnmTeardown = (): Promise<void> => host.rtnl.linkDel('vh-bench');

const ip = async (...args: string[]): Promise<void> => { await execFileP('ip', args); };
async function ipAttachMove(): Promise<void> {
  await ip('-n', hostName, 'link', 'add', 'vh-bench', 'type', 'veth', 'peer', 'name', 'vs-bench');
  await ip('-n', hostName, 'link', 'set', 'vs-bench', 'netns', sandName);
  await ip('-n', sandName, 'link', 'set', 'vs-bench', 'name', 'eth0', 'up');
  await ip('-n', sandName, 'addr', 'add', '10.200.0.2/24', 'dev', 'eth0');
  await ip('-n', hostName, 'addr', 'add', '10.200.0.1/24', 'dev', 'vh-bench');
  await ip('-n', hostName, 'link', 'set', 'vh-bench', 'up');
  await ip('-n', sandName, 'route', 'add', 'default', 'via', '10.200.0.1');
}
async function ipAttachDirect(): Promise<void> {
  await ip('-n', hostName, 'link', 'add', 'vh-bench', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sandName);
  await ip('-n', sandName, 'link', 'set', 'eth0', 'up');
  await ip('-n', sandName, 'addr', 'add', '10.200.0.2/24', 'dev', 'eth0');
  await ip('-n', hostName, 'addr', 'add', '10.200.0.1/24', 'dev', 'vh-bench');
  await ip('-n', sandName, 'route', 'add', 'default', 'via', '10.200.0.1');
}
const ipTeardown = (): Promise<void> => ip('-n', hostName, 'link', 'del', 'vh-bench');

const cases = {
  'attach, create+move+rename: cnm': cnmAttachMove,
  'attach, create+move+rename: ip': ipAttachMove,
  'attach, peer born in sandbox: cnm': cnmAttachDirect,
  'attach, peer born in sandbox: ip': ipAttachDirect,
  'attach, born in sandbox, by index + batch: cnm': cnmAttachBatched,
};
const samples: Record<string, number[]> = {};

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function check(): Promise<void> {
  const eth0 = await sandbox.rtnl.linkGet('eth0');
  const routes = await sandbox.rtnl.routeList({ family: 4 });
  if (!eth0?.up || !routes.some((r) => r.dst === 'default' && r.gateway === '10.200.0.1')) throw new Error('attach did not take effect');
}

// The kernel holds a veth delete or a namespace move for ~15 ms; the event
// loop must not wait with it. Sampled over a cnm-only phase (a histogram
// toggled around single cases would count the gaps between them).
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const idleDelay = monitorEventLoopDelay({ resolution: 1 });

try {
  // Round robin over the cases so all see the same machine noise.
  for (let i = 0; i < WARMUP + ITER; i++) {
    for (const [label, attach] of Object.entries(cases)) {
      const viaIp = label.endsWith(': ip');
      const a = await time(attach);
      if (i === 0) await check();
      const d = await time(viaIp ? ipTeardown : cnmTeardown);
      if (i < WARMUP) continue;
      (samples[label] ??= []).push(a);
      (samples[`teardown (delete host end): ${viaIp ? 'ip' : 'cnm'}`] ??= []).push(d);
    }
  }
  idleDelay.enable();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  idleDelay.disable();
  loopDelay.enable();
  for (let i = 0; i < Math.min(ITER, 50); i++) {
    await cnmAttachMove();
    await cnmTeardown();
  }
  loopDelay.disable();
} finally {
  host.close();
  sandbox.close();
  await Netns.remove(host.path).catch(() => undefined);
  await Netns.remove(sandbox.path).catch(() => undefined);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (x: number): string => x.toFixed(2).padStart(7);
const p50 = (label: string): number => pct(samples[label] ?? [], 50);
console.log(`${ITER} iterations each, ms`.padEnd(52) + '    p50      p95');
for (const [label, xs] of Object.entries(samples)) console.log(`  ${label.padEnd(50)} ${fmt(pct(xs, 50))}  ${fmt(pct(xs, 95))}`);
const best = Math.min(p50('attach, peer born in sandbox: cnm'), p50('attach, born in sandbox, by index + batch: cnm'));
const ms = (h: typeof loopDelay, p: number): string => (h.percentile(p) / 1e6).toFixed(2);
console.log(`  event-loop delay during cnm create+move+rename+delete (kernel ~35 ms each): p50 ${ms(loopDelay, 50)} ms, p99 ${ms(loopDelay, 99)} ms; idle: p50 ${ms(idleDelay, 50)}, p99 ${ms(idleDelay, 99)}`);
const rMove = p50('attach, create+move+rename: ip') / p50('attach, create+move+rename: cnm');
const rDirect = p50('attach, peer born in sandbox: ip') / p50('attach, peer born in sandbox: cnm');
const rBatched = p50('attach, peer born in sandbox: ip') / p50('attach, born in sandbox, by index + batch: cnm');
const rDown = p50('teardown (delete host end): ip') / p50('teardown (delete host end): cnm');
const rCnmVsDocker = p50('attach, create+move+rename: ip') / best;
console.log(`  ratio ip/cnm (p50): create+move ${rMove.toFixed(1)}x, born in sandbox ${rDirect.toFixed(1)}x (batched ${rBatched.toFixed(1)}x), teardown ${rDown.toFixed(1)}x`);
console.log(`  cnm's attach vs Docker's order through ip: ${rCnmVsDocker.toFixed(1)}x`);
console.log(`  target: attach p50 <= 2 ms: ${best.toFixed(2)} ms (${best <= 2 ? 'met' : 'MISSED'}); >= 5x ip on the same sequence: ${rDirect.toFixed(1)}x (${rDirect >= 5 ? 'met' : 'MISSED'}); the namespace move alone costs the kernel ~15 ms, so Docker's order cannot meet 2 ms by any tool`);
