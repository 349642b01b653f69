// Where the anti-spoofing checks cost least: the same per-port checks on the
// bridge family's prerouting hook (cnm's design), on a netdev ingress chain
// per port, or on one netdev ingress chain for many devices (and two ways
// around the inet hooks: no conntrack within a bridge, no br_netfilter);
// against a bare veth pair and a bridge without rules, in one run with the
// variants interleaved round by round (the machine's noise hits them all
// alike). Then what each costs per connect: one add + one remove transaction
// with 200 other endpoints present, through libnftables in-process.
import { performance } from 'node:perf_hooks';
import { baseTables } from '../src/firewall/base-tables.ts';
import * as B from '../src/firewall/base-tables.ts';
import { endpointFragment } from '../src/firewall/endpoint-rules.ts';
import { elementText } from '../src/firewall/model.ts';
import type { ChainDef, ElementDef } from '../src/firewall/model.ts';
import { openRunner } from '../src/firewall/nft-runner.ts';
import { buildFullScript } from '../src/firewall/ruleset.ts';
import type { EndpointFw, NetworkFw } from '../src/firewall/types.ts';
import { TestNetns } from '../test/helpers/netns.ts';
import { iperfStats, median } from './lib/iperf.ts';
import type { NsRef } from './lib/iperf.ts';
import { table } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 30);

const GUARD_SETS = new Set([B.GUARDED, B.PORT_MAC, B.PORT_IP4, B.PORT_IP6, B.PORT_ND6]);
const net = (antiSpoof: boolean): NetworkFw => ({ id: 'n1', bridge: 'br0', v4: { subnet: '10.98.0.0/24', gateway: '10.98.0.1' }, icc: true, masquerade: true, internal: false, gatewayModeV4: 'nat', gatewayModeV6: 'nat', antiSpoof });
const ep = (i: number, dev = `h${i}`): EndpointFw => ({ id: `e${i}`, networkId: 'n1', hostIface: dev, mac: `02:42:0a:62:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, ipv4: `10.98.${i >> 8}.${(i & 255) + 1}`, ports: [] });

// The bridge table's guard chains and sets, moved to the netdev family.
const guardChains = (): ChainDef[] => baseTables().chains.filter((c) => c.family === 'bridge' && (c.name === 'port-guard' || c.name.startsWith('guard-')));
const guardEntry = (): string[] => baseTables().chains.find((c) => c.family === 'bridge' && c.name === 'prerouting')?.rules ?? [];
function netdevTable(): string {
  const sets = baseTables().sets.filter((s) => s.family === 'bridge' && GUARD_SETS.has(s.name)).map((s) => `\tset ${s.name} {\n\t\t${s.decl}\n\t}`);
  const chains = guardChains().map((c) => `\tchain ${c.name} {\n${c.rules.map((r) => `\t\t${r}`).join('\n')}\n\t}`);
  return `add table netdev cnm\ndelete table netdev cnm\ntable netdev cnm {\n${[...sets, ...chains].join('\n')}\n}\n`;
}
const guardElements = (e: EndpointFw): ElementDef[] => endpointFragment(net(true), e).elements.filter((x) => GUARD_SETS.has(x.set));
const elementLines = (verb: string, els: ElementDef[]): string => els.map((x) => `${verb} element netdev cnm ${x.set} { ${elementText(x)} }\n`).join('');
const perPortChain = (dev: string): string => `add chain netdev cnm in-${dev} { type filter hook ingress device "${dev}" priority filter; policy accept; }\n`
  + guardEntry().map((r) => `add rule netdev cnm in-${dev} ${r}\n`).join('');
const sharedChain = (devs: string[]): string => `add chain netdev cnm ingress { type filter hook ingress devices = { ${devs.map((d) => `"${d}"`).join(', ')} } priority filter; policy accept; }\n`
  + guardEntry().map((r) => `add rule netdev cnm ingress ${r}\n`).join('');
// A chain per port whose rules carry the port's own values: no set lookups.
function constChain(e: EndpointFw): string {
  const c = `netdev cnm in-${e.hostIface}`;
  return `add chain ${c} { type filter hook ingress device "${e.hostIface}" priority filter; policy drop; }\n`
    + [`ip protocol tcp ether saddr ${e.mac} ip saddr ${e.ipv4} accept`, `ether saddr != ${e.mac} drop`,
      'ether type arp jump guard-arp', 'ether type ip jump guard-ip4', 'ether type ip6 jump guard-ip6'].map((r) => `add rule ${c} ${r}\n`).join('');
}

type Variant = { name: string; apply: (ns: TestNetns, eps: EndpointFw[]) => Promise<void> };
const nft = async (ns: TestNetns, script: string): Promise<void> => { await ns.sh(`nft -f - <<'EOF'\n${script}EOF`); };
const dropBridgeHooks = 'flush chain bridge cnm prerouting\ndelete chain bridge cnm prerouting\n';
const variants: Variant[] = [
  { name: 'bridge, no rules', apply: async (ns) => { await nft(ns, 'flush ruleset\n'); } },
  { name: 'bridge, inet cnm only', apply: async (ns, eps) => { await nft(ns, `flush ruleset\n${buildFullScript({ networks: [net(false)], endpoints: eps })}${dropBridgeHooks}flush chain bridge cnm forward\ndelete chain bridge cnm forward\n`); } },
  { name: '(a) bridge prerouting (today)', apply: async (ns, eps) => { await nft(ns, `flush ruleset\n${buildFullScript({ networks: [net(true)], endpoints: eps })}`); } },
  // Frames switched between two ports of one bridge skip conntrack: with
  // br_netfilter they pass the inet hooks with iif = oif = the bridge.
  { name: '(d) (a) + no conntrack within a bridge', apply: async (ns, eps) => { await nft(ns, `flush ruleset\n${buildFullScript({ networks: [net(true)], endpoints: eps })}insert rule inet cnm raw-prerouting iifname @${B.BRIDGES} fib daddr . iif oif exists counter notrack\n`); } },
  // The host loads br_netfilter for Docker, and new namespaces inherit
  // bridge-nf-call-iptables=1: every bridged frame then also walks the inet
  // hooks. cnm's checks do not need that (ICC is in the bridge table).
  { name: '(e) (a) without br_netfilter', apply: async (ns, eps) => { await nft(ns, `flush ruleset\n${buildFullScript({ networks: [net(true)], endpoints: eps })}`); await ns.sh('sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0'); } },
  { name: '(b) netdev chain per port', apply: async (ns, eps) => { await nft(ns, `flush ruleset\n${buildFullScript({ networks: [net(false)], endpoints: eps })}${dropBridgeHooks}${netdevTable()}${eps.map((e) => perPortChain(e.hostIface) + elementLines('add', guardElements(e))).join('')}`); } },
  { name: '(b2) netdev per port, own values', apply: async (ns, eps) => { await nft(ns, `flush ruleset\n${buildFullScript({ networks: [net(false)], endpoints: eps })}${dropBridgeHooks}${netdevTable()}${eps.map((e) => constChain(e) + elementLines('add', guardElements(e))).join('')}`); } },
  { name: '(c) one netdev chain, devices list', apply: async (ns, eps) => { await nft(ns, `flush ruleset\n${buildFullScript({ networks: [net(false)], endpoints: eps })}${dropBridgeHooks}${netdevTable()}${sharedChain(eps.map((e) => e.hostIface))}${eps.map((e) => elementLines('add', guardElements(e))).join('')}`); } },
];

// BENCH_VARIANTS=a,d (letters) or "none": a subset, for more rounds in the same time.
const only = process.env.BENCH_VARIANTS?.split(',');
const chosen = variants.filter((v) => !only || !v.name.startsWith('(') || only.includes(/^\((\w+)\)/.exec(v.name)?.[1] ?? ''));
const results = new Map<string, number[]>();
const perCore = new Map<string, number[]>();
const push = (m: Map<string, number[]>, k: string, v: number): void => { m.set(k, [...(m.get(k) ?? []), v]); };
/** Throughput, and Gbit/s per busy core (less sensitive to other load). */
async function add(k: string, server: NsRef, client: NsRef, target: string): Promise<void> {
  const r = await iperfStats(server, client, target, { seconds: SECONDS });
  push(results, k, r.gbps);
  push(perCore, k, r.gbps / (r.cpuPct / 100));
}
const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

const host = await TestNetns.create('asp-host');
const s = [await TestNetns.create('asp-s1'), await TestNetns.create('asp-s2')];
const bare = [await TestNetns.create('asp-a'), await TestNetns.create('asp-b')];
try {
  await bare[0]?.sh(`ip link add va type veth peer name vb netns ${bare[1]?.name} && ip addr add 10.99.0.1/24 dev va && ip link set va up`);
  await bare[1]?.sh('ip addr add 10.99.0.2/24 dev vb && ip link set vb up');
  await host.sh('ip link add br0 type bridge && ip addr add 10.98.0.1/24 dev br0 && ip link set br0 up');
  const eps = [ep(1), ep(2)];
  for (const [i, e] of eps.entries()) {
    const sb = s[i];
    if (!sb) continue;
    await host.sh(`ip link add ${e.hostIface} type veth peer name eth0 netns ${sb.name} && ip link set ${e.hostIface} master br0 up`);
    await sb.sh(`sysctl -qw net.ipv6.conf.eth0.addr_gen_mode=0; ip link set eth0 address ${e.mac} && ip addr add ${e.ipv4}/24 dev eth0 && ip link set eth0 up`);
  }
  const server = { path: s[0]?.path ?? '' };
  const client = { path: s[1]?.path ?? '' };
  for (let r = 0; r < ROUNDS; r++) {
    await add('bare veth pair', { path: bare[0]?.path ?? '' }, { path: bare[1]?.path ?? '' }, '10.99.0.1');
    for (const v of chosen) {
      await host.sh('sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1');
      await v.apply(host, eps);
      // The checks must hold in every variant: a foreign source is dropped.
      if (v.name.startsWith('(') && (await s[1]?.sh('ping -c 1 -W 1 -I 10.98.0.99 10.98.0.2', { allowFail: true }))?.code === 0) throw new Error(`${v.name}: a spoofed source got through`);
      await add(v.name, server, client, eps[0]?.ipv4 ?? '');
    }
    console.log(`round ${r + 1}: ${[...results].map(([k, xs]) => `${k} ${xs.at(-1)?.toFixed(2)} (${perCore.get(k)?.at(-1)?.toFixed(2)}/core)`).join('; ')}`);
  }

  // Connect cost: add and remove one endpoint's firewall state with 200
  // others present (their devices need not exist: since Linux 6.16 a netdev
  // hook is kept by name).
  const others = CONNECTS === 0 ? [] : Array.from({ length: 200 }, (_, i) => ep(300 + i, `hx${i}`));
  const rn = openRunner(host.path);
  const cost = new Map<string, number[]>();
  const timeIt = async (name: string, setup: string, addS: string, delS: string): Promise<void> => {
    if (CONNECTS === 0) return;
    await rn.run(setup);
    const xs: number[] = [];
    for (let i = 0; i < CONNECTS; i++) {
      const t0 = performance.now();
      await rn.run(addS);
      await rn.run(delS);
      xs.push(performance.now() - t0);
    }
    cost.set(name, xs);
  };
  const e = ep(9, 'hnew');
  const inet = buildFullScript({ networks: [net(false)], endpoints: others });
  await timeIt('(a) bridge prerouting (today)', `flush ruleset\n${buildFullScript({ networks: [net(true)], endpoints: others })}`,
    elementLines('add', guardElements(e)).replaceAll('netdev', 'bridge'), elementLines('delete', guardElements(e)).replaceAll('netdev', 'bridge'));
  await timeIt('(b) netdev chain per port', `flush ruleset\n${inet}${netdevTable()}${others.map((o) => perPortChain(o.hostIface) + elementLines('add', guardElements(o))).join('')}`,
    perPortChain(e.hostIface) + elementLines('add', guardElements(e)),
    `${elementLines('delete', guardElements(e))}flush chain netdev cnm in-${e.hostIface}\ndelete chain netdev cnm in-${e.hostIface}\n`);
  await timeIt('(b2) netdev per port, own values', `flush ruleset\n${inet}${netdevTable()}${others.map((o) => constChain(o)).join('')}`,
    constChain(e), `flush chain netdev cnm in-${e.hostIface}\ndelete chain netdev cnm in-${e.hostIface}\n`);
  // nft 1.0.6 cannot take one device out of a chain: removal rebuilds it.
  const devs = others.map((o) => o.hostIface);
  await timeIt('(c) one netdev chain, devices list', `flush ruleset\n${inet}${netdevTable()}${sharedChain(devs)}${others.map((o) => elementLines('add', guardElements(o))).join('')}`,
    `add chain netdev cnm ingress { type filter hook ingress devices = { "${e.hostIface}" } priority filter; }\n${elementLines('add', guardElements(e))}`,
    `${elementLines('delete', guardElements(e))}flush chain netdev cnm ingress\ndelete chain netdev cnm ingress\n${sharedChain(devs)}`);
  await rn.close();

  const bareM = median(results.get('bare veth pair') ?? []);
  const bareC = median(perCore.get('bare veth pair') ?? []);
  const rows: string[][] = [['path', 'Gbit/s median (runs)', 'ratio to bare', 'Gbit/s per core (runs)', 'ratio to bare', 'connect add+remove ms p50 (min-max)']];
  for (const [k, xs] of results) {
    const ys = perCore.get(k) ?? [];
    const c = cost.get(k);
    rows.push([k, `${median(xs).toFixed(2)} (${xs.map((x) => x.toFixed(2)).join(', ')})`, (median(xs) / bareM).toFixed(2),
      `${median(ys).toFixed(2)} (${ys.map((x) => x.toFixed(2)).join(', ')})`, (median(ys) / bareC).toFixed(2), c ? `${median(c).toFixed(2)} (${spread(c)})` : '']);
  }
  console.log(`\n${table(rows)}`);
} finally {
  for (const ns of [host, ...s, ...bare]) await ns.destroy();
}
