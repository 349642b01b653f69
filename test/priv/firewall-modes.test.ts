// Gateway modes, SNAT options and IPv6 anti-spoofing on the real kernel.
// A "host" namespace runs the firewall; a "remote" namespace is another host
// on a veth link; sandboxes hang off bridges in the host namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { NftFirewall } from '../../src/firewall/nft-firewall.ts';
import { NativeNftRunner, SpawnNftRunner, loadNative } from '../../src/firewall/nft-runner.ts';
import type { NftRunner } from '../../src/firewall/nft-runner.ts';
import { FirewallError } from '../../src/firewall/errors.ts';
import type { EndpointFw, NetworkFw } from '../../src/firewall/types.ts';
import { elapse, waitFor } from '../helpers/wait.ts';

const NODE = process.execPath;
const HOST_IP = '10.98.0.1';
const SNAT_IP = '10.98.0.5';
const REMOTE_IP = '10.98.0.2';

// TCP servers on 7000 and 7001 answering with the address they see the client as.
const SERVER = `const net=require('net');for(const p of [7000,7001])net.createServer(s=>{s.on('error',()=>{});s.end(String(s.remoteAddress).replace('::ffff:',''))}).listen(p,'::');`;
// Connects, prints what the server said or "FAIL".
const CLIENT = `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});let d='';const t=setTimeout(()=>{console.log('FAIL');process.exit(0)},1500);
s.on('data',x=>d+=x);s.on('end',()=>{clearTimeout(t);console.log(d||'FAIL');process.exit(0)});s.on('error',()=>{clearTimeout(t);console.log('FAIL');process.exit(0)});`;

async function tcp(from: TestNetns, ip: string, port: number): Promise<string> {
  const r = await from.sh(`${NODE} -e "$CNM_MODES_CLIENT" ${ip} ${port}`);
  return r.stdout.trim();
}

const skip = skipUnlessCI('firewall-modes', privilegedSkipReason());

describe(`gateway modes, SNAT, IPv6 anti-spoofing${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let host: TestNetns;
  let remote: TestNetns;
  const made: TestNetns[] = [];
  let fw: NftFirewall;
  const sbs = new Map<string, { ns: TestNetns; ep: EndpointFw }>();

  const base = { icc: true, masquerade: true, internal: false, gatewayModeV6: 'nat', antiSpoof: true } as const;
  const nets: Record<string, NetworkFw> = {
    r: { ...base, id: 'routed', bridge: 'br-r', v4: { subnet: '172.31.1.0/24', gateway: '172.31.1.1' }, gatewayModeV4: 'routed' },
    u: { ...base, id: 'unprot', bridge: 'br-u', v4: { subnet: '172.31.2.0/24', gateway: '172.31.2.1' }, gatewayModeV4: 'nat-unprotected' },
    x: { ...base, id: 'isol', bridge: 'br-x', v4: { subnet: '172.31.3.0/24' }, internal: true, gatewayModeV4: 'isolated' },
    s: { ...base, id: 'snat', bridge: 'br-s', v4: { subnet: '172.31.4.0/24', gateway: '172.31.4.1' }, gatewayModeV4: 'nat', hostIpv4: SNAT_IP },
    m: { ...base, id: 'nomasq', bridge: 'br-m', v4: { subnet: '172.31.5.0/24', gateway: '172.31.5.1' }, gatewayModeV4: 'nat', masquerade: false },
    six: { ...base, id: 'six', bridge: 'br-6', v4: { subnet: '172.31.6.0/24', gateway: '172.31.6.1' }, v6: { subnet: 'fd00:6::/64', gateway: 'fd00:6::1' }, gatewayModeV4: 'nat' },
  };

  async function addSandbox(name: string, n: NetworkFw, idx: number, opts: { ports?: EndpointFw['ports']; v6dad?: boolean } = {}): Promise<void> {
    const ns = await TestNetns.create(`m${name}`);
    made.push(ns);
    const ip = n.v4?.subnet.replace(/\.0\/24$/, `.${idx}`) ?? '';
    const mac = `02:00:00:01:${made.length.toString(16).padStart(2, '0')}:${idx.toString(16).padStart(2, '0')}`;
    const veth = `vm${name}`;
    await host.sh(`ip link add ${veth} type veth peer name eth0 netns ${ns.name} && ip link set ${veth} master ${n.bridge} up`);
    await ns.sh(`ip link set eth0 address ${mac} && ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`);
    if (n.v4?.gateway) await ns.sh(`ip route add default via ${n.v4.gateway}`);
    const ep: EndpointFw = { id: name, networkId: n.id, hostIface: veth, mac, ipv4: ip, ports: opts.ports ?? [] };
    if (n.v6) ep.ipv6 = `fd00:6::${idx}`;
    await fw.addEndpoint(ep);
    if (n.v6) await ns.sh(`ip -6 addr add ${ep.ipv6}/64 dev eth0 ${opts.v6dad ? '' : 'nodad'}`);
    ns.spawn(NODE, ['-e', SERVER], { stdio: 'ignore' }).unref();
    sbs.set(name, { ns, ep });
  }
  const sb = (n: string): { ns: TestNetns; ep: EndpointFw } => { const s = sbs.get(n); assert.ok(s); return s; };

  before(async () => {
    process.env.CNM_MODES_CLIENT = CLIENT;
    host = await TestNetns.create('mhost');
    remote = await TestNetns.create('mremote');
    made.push(host, remote);
    await host.sh(`ip link add hx type veth peer name rx netns ${remote.name} && ip addr add ${HOST_IP}/24 dev hx && ip addr add ${SNAT_IP}/24 dev hx && ip link set hx up`);
    // The remote host routes the container subnets via the host (as a LAN
    // router would for routed mode).
    await remote.sh(`ip addr add ${REMOTE_IP}/24 dev rx && ip link set rx up && ip route add 172.31.0.0/16 via ${HOST_IP}`);
    remote.spawn(NODE, ['-e', SERVER], { stdio: 'ignore' }).unref();
    for (const n of Object.values(nets)) {
      await host.sh(`ip link add ${n.bridge} type bridge && ip link set ${n.bridge} up`);
      if (n.v4?.gateway) await host.sh(`ip addr add ${n.v4.gateway}/24 dev ${n.bridge}`);
      if (n.v6?.gateway) await host.sh(`ip -6 addr add ${n.v6.gateway}/64 dev ${n.bridge} nodad`);
    }
    fw = new NftFirewall({ nsPath: host.path, watch: false });
    await fw.init();
    for (const n of Object.values(nets)) await fw.addNetwork(n);
    await addSandbox('r1', nets.r as NetworkFw, 2, { ports: [{ hostIp: '', hostPort: 8080, containerPort: 7000, proto: 'tcp' }] });
    await addSandbox('u1', nets.u as NetworkFw, 2);
    await addSandbox('x1', nets.x as NetworkFw, 2);
    await addSandbox('x2', nets.x as NetworkFw, 3);
    await addSandbox('s1', nets.s as NetworkFw, 2);
    await addSandbox('m1', nets.m as NetworkFw, 2);
    await addSandbox('a1', nets.six as NetworkFw, 2);
    await addSandbox('a2', nets.six as NetworkFw, 3);
    await addSandbox('a3', nets.six as NetworkFw, 4, { v6dad: true });
    await waitFor(async () => (await tcp(host, '172.31.2.2', 7000)) !== 'FAIL', { what: 'the server at 172.31.2.2:7000 to answer the host' });
  });

  after(async () => {
    await fw?.close();
    for (const ns of made.reverse()) await ns.destroy();
  });

  test('routed: published container port and ICMP open to direct routing, other ports closed, no NAT either way', async () => {
    assert.equal(await tcp(remote, '172.31.1.2', 7000), REMOTE_IP, 'published port, client address preserved');
    assert.equal(await tcp(remote, '172.31.1.2', 7001), 'FAIL', 'unpublished port');
    assert.equal(await remote.ping('172.31.1.2'), true, 'ICMP');
    assert.equal(await tcp(remote, HOST_IP, 8080), 'FAIL', 'no host-port DNAT in routed mode');
    assert.equal(await tcp(sb('r1').ns, REMOTE_IP, 7000), '172.31.1.2', 'outbound not masqueraded');
  });

  test('nat-unprotected: every port reachable by direct routing, outbound masqueraded', async () => {
    assert.equal(await tcp(remote, '172.31.2.2', 7001), REMOTE_IP);
    assert.equal(await tcp(sb('u1').ns, REMOTE_IP, 7000), HOST_IP);
  });

  test('host_ipv4: outbound SNAT to the given address; masquerade off: container address kept', async () => {
    assert.equal(await tcp(sb('s1').ns, REMOTE_IP, 7000), SNAT_IP);
    assert.equal(await tcp(sb('m1').ns, REMOTE_IP, 7000), '172.31.5.2');
  });

  test('isolated: members talk, the host is unreachable even on-link', async () => {
    assert.equal(await tcp(sb('x1').ns, '172.31.3.3', 7000), '172.31.3.2');
    // The host would answer ARP for its addresses on any link; only the
    // firewall stops an on-link route to it.
    await sb('x1').ns.sh(`ip route add ${HOST_IP}/32 dev eth0`);
    assert.equal(await sb('x1').ns.ping(HOST_IP), false);
    assert.equal(await tcp(sb('x1').ns, REMOTE_IP, 7000), 'FAIL');
  });

  test('IPv6: DAD works with anti-spoofing; a forged neighbour advertisement does not take over an address', async () => {
    const a1 = sb('a1');
    const a2 = sb('a2');
    const a3 = sb('a3');
    await waitFor(async () => !(await a3.ns.sh('ip -6 addr show dev eth0 tentative')).stdout.includes('fd00:6::4'), { what: 'duplicate address detection of fd00:6::4 on a3 to end' });
    assert.doesNotMatch((await a3.ns.sh('ip -6 addr show dev eth0')).stdout, /dadfailed/);
    assert.equal(await a3.ns.ping('fd00:6::1'), true, 'after DAD');
    assert.equal(await host.ping('fd00:6::3'), true);
    const before = (await host.sh('ip -6 neigh show fd00:6::3 dev br-6')).stdout;
    assert.match(before, new RegExp(a2.ep.mac));
    // a1 claims a2's address: with ndisc_notify the kernel sends an
    // unsolicited override advertisement for it.
    await a1.ns.sh(`sysctl -qw net.ipv6.conf.eth0.ndisc_notify=1 && ip -6 addr add ${a2.ep.ipv6}/128 dev eth0 nodad`);
    // Proving an absence (the host's neighbour entry does not change): no
    // event says the forged advertisement was dropped, so time has to pass.
    await elapse(300);
    const afterNa = (await host.sh('ip -6 neigh show fd00:6::3 dev br-6')).stdout;
    assert.doesNotMatch(afterNa, new RegExp(a1.ep.mac), afterNa);
    assert.equal(await host.ping('fd00:6::3'), true);
  });

  test('drift after all of this is empty', async () => {
    assert.equal((await fw.drift()).ok, true);
  });
});

describe(`NftRunner contract: libnftables binding and nsenter nft${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  const kinds: [string, (p: string) => NftRunner, string | false][] = [
    ['native', (p) => NativeNftRunner.open(p), skipUnlessCI('NftRunner native', loadNative() ? null : 'build/nft.node not built (node scripts/build-native.mjs)')],
    ['spawn', (p) => new SpawnNftRunner(p), false],
  ];
  for (const [name, open, why] of kinds) {
    test(`${name}${why ? ` (skipped: ${why})` : ''}`, { skip: why }, async () => {
      const ns = await TestNetns.create('runner');
      const r = open(ns.path);
      try {
        await r.run('add table inet t\nadd set inet t s { type ipv4_addr; }\nadd element inet t s { 10.0.0.1 }\n');
        const j = JSON.parse(await r.runJson('list table inet t')) as { nftables: unknown[] };
        assert.ok(JSON.stringify(j).includes('10.0.0.1'));
        await assert.rejects(r.run('add element inet t s { nonsense }'), (e: unknown) => e instanceof FirewallError && e.code === 'NFT_FAILED');
        // A failed transaction applies nothing of itself.
        await assert.rejects(r.run('add element inet t s { 10.0.0.2 }\nadd element inet t nope { 1 }\n'));
        assert.doesNotMatch(await r.runJson('list set inet t s'), /10\.0\.0\.2/);
        await r.writeFile('/proc/sys/net/ipv4/ip_forward', '1');
        assert.equal((await ns.sh('cat /proc/sys/net/ipv4/ip_forward')).stdout.trim(), '1');
        assert.match(await r.readFile('/proc/thread-self/net/fib_trie'), /127\.0\.0\.1/);
        await assert.rejects(r.writeFile('/proc/sys/net/ipv4/nope', '1'), (e: unknown) => e instanceof FirewallError && e.code === 'SYSCTL_FAILED');
      } finally {
        await r.close();
        await ns.destroy();
      }
    });
  }
});

describe(`without br_netfilter (bridge-nf-call-iptables=0)${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  // Frames switched inside a bridge then never reach the inet hooks: ICC off
  // rests on the bridge-family table alone, hairpin traffic is routed.
  let host: TestNetns;
  const made: TestNetns[] = [];
  let fw: NftFirewall;
  const ns = new Map<string, TestNetns>();
  const base = { masquerade: true, internal: false, gatewayModeV4: 'nat', gatewayModeV6: 'nat', antiSpoof: true } as const;
  const p: NetworkFw = { ...base, id: 'p', bridge: 'br-p', v4: { subnet: '172.28.1.0/24', gateway: '172.28.1.1' }, icc: true };
  const q: NetworkFw = { ...base, id: 'q', bridge: 'br-q', v4: { subnet: '172.28.2.0/24', gateway: '172.28.2.1' }, icc: false };

  before(async () => {
    process.env.CNM_MODES_CLIENT = CLIENT;
    host = await TestNetns.create('nbrhost');
    made.push(host);
    // Per-namespace sysctls; absent when br_netfilter is not there at all.
    await host.sh('sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0', { allowFail: true });
    for (const n of [p, q]) await host.sh(`ip link add ${n.bridge} type bridge && ip addr add ${n.v4?.gateway}/24 dev ${n.bridge} && ip link set ${n.bridge} up`);
    fw = new NftFirewall({ nsPath: host.path, watch: false });
    await fw.init();
    await fw.addNetwork(p);
    await fw.addNetwork(q);
    let i = 0;
    for (const [name, n, idx, port] of [['p1', p, 2, 8080], ['p2', p, 3, 0], ['q1', q, 2, 8081], ['q2', q, 3, 0]] as const) {
      const s = await TestNetns.create(`nbr${name}`);
      made.push(s);
      ns.set(name, s);
      const ip = `${n.v4?.subnet.replace(/\.0\/24$/, '')}.${idx}`;
      const mac = `02:00:00:02:00:${(++i).toString(16).padStart(2, '0')}`;
      await host.sh(`ip link add vn${name} type veth peer name eth0 netns ${s.name} && ip link set vn${name} master ${n.bridge} up && ip link set vn${name} type bridge_slave hairpin on`);
      await s.sh(`ip link set eth0 address ${mac} && ip addr add ${ip}/24 dev eth0 && ip link set eth0 up && ip route add default via ${n.v4?.gateway}`);
      s.spawn(NODE, ['-e', SERVER], { stdio: 'ignore' }).unref();
      await fw.addEndpoint({ id: name, networkId: n.id, hostIface: `vn${name}`, mac, ipv4: ip, ports: port ? [{ hostIp: '', hostPort: port, containerPort: 7000, proto: 'tcp' }] : [] });
    }
    await waitFor(async () => (await tcp(host, '172.28.1.2', 7000)) !== 'FAIL', { what: 'the server at 172.28.1.2:7000 to answer the host' });
  });

  after(async () => {
    await fw?.close();
    for (const m of made.reverse()) await m.destroy();
  });

  test('ICC, hairpin and published ports behave the same', async (t) => {
    const brnf = await host.sh('cat /proc/sys/net/bridge/bridge-nf-call-iptables', { allowFail: true });
    if (brnf.code === 0 && brnf.stdout.trim() !== '0') { t.skip('cannot turn bridge-nf-call-iptables off in this namespace'); return; }
    const n = (k: string): TestNetns => { const s = ns.get(k); assert.ok(s); return s; };
    assert.equal(await tcp(n('p2'), '172.28.1.2', 7000), '172.28.1.3', 'ICC on: members talk');
    assert.equal(await tcp(n('q2'), '172.28.2.2', 7000), 'FAIL', 'ICC off: members do not');
    assert.equal(await n('q2').ping('172.28.2.2'), false);
    assert.equal(await tcp(n('p2'), '172.28.1.1', 8080), '172.28.1.1', 'hairpin, masqueraded');
    assert.equal(await tcp(n('p1'), '172.28.1.1', 8080), '172.28.1.1', 'own published port');
    assert.equal(await tcp(n('q2'), '172.28.2.1', 8081), 'FAIL', 'ICC off: not via a host address either');
    assert.equal(await tcp(n('p2'), '172.28.2.1', 8081), '172.28.2.1', 'another network via a host address (masqueraded)');
    assert.equal(await tcp(n('p1'), '172.28.2.2', 7000), 'FAIL', 'no direct access across networks');
    assert.equal(await tcp(host, '127.0.0.1', 8081), '172.28.2.1', 'from the host via 127.0.0.1');
  });
});
