// Firewall operation latency in a namespace of its own: spawning nft vs the
// in-process libnftables binding, on an empty ruleset and with 100 networks /
// 1000 endpoints (the ruleset must not make operations slower), and how
// fast a `nft flush ruleset` is undone.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { NftFirewall } from '../src/firewall/nft-firewall.ts';
import { openRunner } from '../src/firewall/nft-runner.ts';
import type { EndpointFw, NetworkFw } from '../src/firewall/types.ts';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (xs: number[]): string => `p50 ${pct(xs, 50).toFixed(3)} ms  p95 ${pct(xs, 95).toFixed(3)} ms  (n=${xs.length})`;

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

const net = (i: number): NetworkFw => ({
  id: `bench${i}`, bridge: `br-b${i}`, v4: { subnet: `10.${100 + (i >> 8)}.${i & 255}.0/24`, gateway: `10.${100 + (i >> 8)}.${i & 255}.1` },
  icc: i % 3 !== 0, masquerade: true, internal: i % 10 === 9, gatewayModeV4: 'nat', gatewayModeV6: 'nat', antiSpoof: true,
});
const ep = (i: number, n: NetworkFw, port: number): EndpointFw => {
  const base = n.v4?.subnet.replace(/\.0\/24$/, '') ?? '10.0.0';
  return {
    id: `e${i}`, networkId: n.id, hostIface: `vb${i}`, mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    ipv4: `${base}.${2 + (i % 200)}`, ports: [{ hostIp: '', hostPort: port, containerPort: 80, proto: 'tcp' }],
  };
};

async function scenario(kind: 'native' | 'spawn', ns: Ns, iters: number): Promise<Record<string, number[]>> {
  const fw = new NftFirewall({ nsPath: ns.path, runner: openRunner(ns.path, kind), watch: false });
  await fw.init();
  const r: Record<string, number[]> = {};
  const probeNet = (k: number): NetworkFw => net(250 + k);
  r['network create+rm, empty'] = await time(iters, async (i) => { await fw.addNetwork(probeNet(i % 4)); await fw.removeNetwork(probeNet(i % 4).id); });
  await fw.addNetwork(probeNet(0));
  r['connect, empty'] = await time(iters, (i) => fw.addEndpoint(ep(9000 + i, probeNet(0), 30000 + i)));
  r['disconnect, empty'] = await time(iters, (i) => fw.removeEndpoint(`e${9000 + i}`));
  // Fill: 100 networks, 1000 endpoints with a published port each, in one transaction.
  const nets = Array.from({ length: 100 }, (_, i) => net(i));
  const eps = Array.from({ length: 1000 }, (_, i) => ep(i, nets[i % 100] as NetworkFw, 20000 + i));
  const t = performance.now();
  await fw.restoreAll({ networks: [...nets, probeNet(0)], endpoints: eps });
  r['restoreAll 100 networks / 1000 endpoints'] = [performance.now() - t];
  r['network create+rm, 100 nets'] = await time(iters, async (i) => { await fw.addNetwork(probeNet(1 + (i % 3))); await fw.removeNetwork(probeNet(1 + (i % 3)).id); });
  r['connect, 1000 eps'] = await time(iters, (i) => fw.addEndpoint(ep(9000 + i, probeNet(0), 30000 + i)));
  r['disconnect, 1000 eps'] = await time(iters, (i) => fw.removeEndpoint(`e${9000 + i}`));
  r['drift check, 1000 eps'] = await time(Math.max(3, iters / 10), () => fw.drift());
  await fw.close();
  return r;
}

async function flushRestore(ns: Ns, runs: number): Promise<number[]> {
  const fw = new NftFirewall({ nsPath: ns.path, watch: true });
  await fw.init();
  const nets = Array.from({ length: 100 }, (_, i) => net(i));
  await fw.restoreAll({ networks: nets, endpoints: Array.from({ length: 1000 }, (_, i) => ep(i, nets[i % 100] as NetworkFw, 20000 + i)) });
  await new Promise((r) => setTimeout(r, 200));
  // Polls through a second in-process runner: spawning nft every few ms
  // would load the machine and slow down what is measured.
  const poll = openRunner(ns.path, 'native');
  const out: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    // From another process: the monitor ignores this process's own commits.
    execFileSync('nsenter', [`--net=${ns.path}`, 'nft', 'flush', 'ruleset']);
    for (;;) {
      const ok = await poll.run('list chain bridge cnm forward').then(() => true, () => false);
      if (ok) break;
      if (performance.now() - t > 10_000) throw new Error('not restored within 10 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await fw.drift()).ok) throw new Error('drift after restore');
  await poll.close();
  await fw.close();
  return out;
}

// A namespace of the benchmark's own, not named with the test prefix: the
// test suites' global teardown removes those, also while a benchmark runs.
interface Ns { name: string; path: string }
const name = `cnmbench-fw-${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['netns', 'add', name]);
const ns: Ns = { name, path: `/run/netns/${name}` };
try {
  // Bridges must exist for their route_localnet sysctl.
  const links = Array.from({ length: 260 }, (_, i) => `link add br-b${i} type bridge`).join('\n');
  execFileSync('nsenter', [`--net=${ns.path}`, 'ip', '-b', '-'], { input: links + '\n' });
  const native = await scenario('native', ns, 200);
  const spawned = await scenario('spawn', ns, 40);
  console.log('firewall operation latency (NftFirewall, one nft transaction each)');
  for (const k of Object.keys(native)) {
    const a = native[k] ?? [];
    const b = spawned[k] ?? [];
    console.log(`  ${k.padEnd(42)} libnftables ${fmt(a)} | nsenter nft ${fmt(b)} | ratio p50 ${(pct(b, 50) / pct(a, 50)).toFixed(1)}x`);
  }
  const growth = (k0: string, k1: string): string => (pct(native[k1] ?? [], 50) / pct(native[k0] ?? [], 50)).toFixed(2);
  console.log(`  growth empty -> 100 nets/1000 eps (p50 ratio, native): connect ${growth('connect, empty', 'connect, 1000 eps')}x, disconnect ${growth('disconnect, empty', 'disconnect, 1000 eps')}x, network ${growth('network create+rm, empty', 'network create+rm, 100 nets')}x`);
  const fr = await flushRestore(ns, 10);
  console.log(`  nft flush ruleset -> cnm tables back (nft monitor, 1000 eps): ${fmt(fr)}`);
} finally {
  execFileSync('ip', ['netns', 'del', name]);
}
