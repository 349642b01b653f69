// The overlay driver's data plane on the real kernel, without a cluster
// store: three "hosts" (namespaces on an underlay bridge, each with its own
// VTEP address), the driver called directly as the cluster code calls it
// (createNetwork with driverState.vni, join, setOverlayPeers), and sandbox
// namespaces for the containers. Cross-host traffic over VXLAN, broadcast by
// head-end replication, two networks with one subnet kept apart, MTUs,
// idempotent peer programming, rebuild after a loss, and a delete that
// leaves nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Netns } from '../../src/netlink/index.ts';
import type { DriverContext, NetworkInfo } from '../../src/drivers/driver.ts';
import type { EndpointRecord } from '../../src/model/records.ts';
import { checkOverlay, overlayDriver, overlayPeers, setOverlayPeers, sweepOverlayNamespaces } from '../../src/drivers/overlay/driver.ts';
import type { OverlayPeer } from '../../src/drivers/overlay/peers.ts';
import { ovlPath } from '../../src/drivers/overlay/namespace.ts';
import { privilegedSkipReason, TestNetns } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { cleanupRunDir } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { NftFirewall } from '../../src/firewall/index.ts';
import { loadNative } from '../../src/firewall/nft-runner.ts';

const execFileP = promisify(execFile);
const skip = skipUnlessCI('overlay-plane', privilegedSkipReason());

interface Host { t: TestNetns; ns: Netns; ctx: DriverContext; vtep: string }
interface Box { t: TestNetns; ns: Netns; ep: EndpointRecord; host: Host }

const newId = (): string => randomBytes(32).toString('hex');

function network(name: string, subnet: string, vni: number, options: Record<string, string> = {}, subnet6?: string): NetworkInfo {
  const base = subnet.split('/')[0]!.split('.').slice(0, 3).join('.');
  return {
    id: newId(), name, driver: 'overlay', created: '', scope: 'global', internal: false, attachable: true, ingress: false,
    enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamOptions: {}, ipamConfigRequested: [],
    ipv4: { subnet, gateway: `${base}.1` }, ...(subnet6 ? { enableIPv6: true, ipv6: { subnet: subnet6, gateway: subnet6.replace('::/64', '::1') } } : {}), options, labels: {}, predefined: false, driverState: { vni: String(vni) },
  };
}

/** Runs a command inside a namespace file (the overlay namespaces are not in /run/netns). */
async function inNs(path: string, cmd: string): Promise<string> {
  const r = await execFileP('nsenter', [`--net=${path}`, 'sh', '-c', cmd]);
  return r.stdout;
}

/** Pings until one answer (ARP over VXLAN may take the first probe); true when one came. */
const ping = async (b: Box, ip: string): Promise<boolean> =>
  (await b.t.sh(`ping -c 3 -i 0.2 -W 1 ${ip}`, { allowFail: true })).code === 0;

describe('overlay data plane across three hosts', { skip }, () => {
  const hosts: Host[] = [];
  const boxes: Box[] = [];
  const extra: TestNetns[] = [];
  let underlay: TestNetns;
  let runDir = '';
  const net1 = network('ov1', '10.77.0.0/24', 4242, {}, 'fd00:77::/64');
  const net2 = network('ov2', '10.77.0.0/24', 4243);

  async function box(host: Host, net: NetworkInfo, ip: string, ip6?: string): Promise<Box> {
    const t = await TestNetns.create('ovsb');
    extra.push(t);
    const ns = await Netns.open(t.path);
    const ep: EndpointRecord = {
      id: newId(), name: t.name, networkId: net.id, sandboxId: t.name, ifName: '', mac: `02:42:${ip.split('/')[0]!.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join(':')}`,
      ipv4: ip, ...(ip6 ? { ipv6: ip6 } : {}), aliases: [], gwPriority: 0, created: 0, ports: [], driverOpts: {}, driverState: {},
      gateway: { ipv4: null, ipv6: null }, routes: [], dns: true,
    };
    const plan = await overlayDriver.createEndpoint(net, ep, { id: t.name, netnsPath: t.path, ifNames: [] });
    ep.ifName = plan.ifName;
    ep.driverState = plan.driverState;
    const res = await overlayDriver.join(host.ctx, net, ep, { id: t.name, netnsPath: t.path, ifNames: [], ns }, { fresh: true });
    assert.equal(res.iface.name, 'eth0');
    assert.deepEqual(res.gateway, { ipv4: null, ipv6: null }, 'the overlay offers no gateway');
    const b = { t, ns, ep, host };
    boxes.push(b);
    return b;
  }

  const peersOf = (net: NetworkInfo): OverlayPeer[] => boxes.filter((b) => b.ep.networkId === net.id)
    .map((b) => ({ ip: b.ep.ipv4!, ...(b.ep.ipv6 ? { ip6: b.ep.ipv6 } : {}), mac: b.ep.mac, vtep: b.host.vtep }));

  /** What the cluster code does after every change: the full set, to every host. */
  async function publish(net: NetworkInfo): Promise<void> {
    for (const h of hosts) await setOverlayPeers(h.ctx, net, peersOf(net));
  }

  before(async () => {
    runDir = await mkdtemp('/run/cnmt-ovl-');
    underlay = await TestNetns.create('ovul');
    await underlay.sh('ip link add ul0 type bridge && ip link set ul0 up');
    for (let i = 1; i <= 3; i++) {
      const t = await TestNetns.create(`ovh${i}`);
      const vtep = `192.0.2.${i}`;
      await underlay.sh(`ip link add u${i} type veth peer name eth0 netns ${t.name} && ip link set u${i} master ul0 up`);
      await t.sh(`ip addr add ${vtep}/24 dev eth0 && ip link set eth0 up`);
      const ns = await Netns.open(t.path);
      hosts.push({ t, ns, vtep, ctx: { hostNs: ns, owner: 'test', networks: () => [], reap: () => undefined, execRoot: `${runDir}/h${i}`, cluster: { vtep, mtu: 1500 } } });
    }
  });

  after(async () => {
    for (const b of boxes) b.ns.close();
    for (const h of hosts) {
      for (const n of [net1, net2]) await overlayDriver.deleteNetwork(h.ctx, n).catch(() => undefined);
      h.ns.close();
    }
    for (const t of [...extra, ...hosts.map((h) => h.t), underlay]) await t?.destroy();
    for (const h of hosts) await cleanupRunDir(h.ctx.execRoot!);
    if (runDir) await rm(runDir, { recursive: true, force: true });
  });

  it('creates the network on each host: br0 and vxlan0 in ovl-<id>, nothing in the host namespace', async () => {
    for (const h of hosts) await overlayDriver.createNetwork(h.ctx, net1, { fresh: true });
    const path = ovlPath(hosts[0]!.ctx, net1.id);
    assert.match(path, new RegExp(`/overlay/ovl-${net1.id.slice(0, 12)}$`));
    const vx = JSON.parse(await inNs(path, 'ip -d -j link show vxlan0')) as Array<{ mtu: number; master: string; linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean; l2miss?: boolean; l3miss?: boolean } } }>;
    assert.equal(vx[0]!.mtu, 1450, 'underlay 1500 - 50');
    assert.equal(vx[0]!.master, 'br0');
    const d = vx[0]!.linkinfo.info_data;
    assert.equal(d.id, 4242);
    assert.equal(d.port, 4789);
    assert.equal(d.local, '192.0.2.1');
    assert.equal(d.learning, false);
    assert.ok(!d.l2miss && !d.l3miss);
    assert.equal((await inNs(path, 'ip -4 addr show dev br0')).trim(), '', 'br0 has no address');
    // No IP-layer hooks for frames bridged in the overlay namespace (when br_netfilter is there).
    assert.match(await inNs(path, 'cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0'), /^0/);
    const hostLinks = await hosts[0]!.t.sh('ip -o link show');
    assert.doesNotMatch(hostLinks.stdout, /vxlan|br0/, 'no overlay link in the host namespace');
    assert.match((await hosts[0]!.t.sh('ss -ulnH "sport = :4789"')).stdout, /4789/, 'the VXLAN socket is on the underlay');
    // Again (a restart): nothing changes, nothing fails.
    await overlayDriver.createNetwork(hosts[0]!.ctx, net1);
    for (const h of hosts) assert.deepEqual(await checkOverlay(h.ctx, [net1]), [], 'cnm doctor finds nothing amiss');
  });

  it('containers on three hosts ping each other over VXLAN; MTU is underlay - 50 on both veth ends', async () => {
    const a = await box(hosts[0]!, net1, '10.77.0.2/24', 'fd00:77::2/64');
    const b = await box(hosts[1]!, net1, '10.77.0.3/24', 'fd00:77::3/64');
    const c = await box(hosts[2]!, net1, '10.77.0.4/24', 'fd00:77::4/64');
    await publish(net1);
    assert.ok(await ping(a, 'fd00:77::3'), 'IPv6 host 1 -> host 2 (neighbour discovery flooded)');
    assert.ok(await ping(a, '10.77.0.3'), 'host 1 -> host 2');
    assert.ok(await ping(a, '10.77.0.4'), 'host 1 -> host 3');
    assert.ok(await ping(c, '10.77.0.3'), 'host 3 -> host 2');
    assert.ok(await ping(b, '10.77.0.2'), 'host 2 -> host 1');
    assert.match((await a.t.sh('ip -o link show eth0')).stdout, /mtu 1450/);
    const port = a.ep.driverState.ovlPort!;
    assert.match(await inNs(ovlPath(hosts[0]!.ctx, net1.id), `ip -o link show ${port}`), /mtu 1450 .*master br0/);
    assert.match((await a.t.sh('ip -o link show eth0')).stdout, new RegExp(a.ep.mac), 'the endpoint MAC');
    // No route to the overlay subnet in any host namespace.
    for (const h of hosts) assert.doesNotMatch((await h.t.sh('ip route show')).stdout, /10\.77\./);
  });

  it('programs static FDB and neighbour entries for remote endpoints, a flood entry per remote VTEP, none for its own', async () => {
    const path = ovlPath(hosts[0]!.ctx, net1.id);
    const fdb = await inNs(path, 'bridge fdb show dev vxlan0');
    const [, b, c] = boxes;
    assert.match(fdb, new RegExp(`${b!.ep.mac} dst 192\\.0\\.2\\.2 .*self permanent`));
    assert.match(fdb, new RegExp(`${c!.ep.mac} dst 192\\.0\\.2\\.3 .*self permanent`));
    assert.match(fdb, /00:00:00:00:00:00 dst 192\.0\.2\.2.* self permanent/);
    assert.match(fdb, /00:00:00:00:00:00 dst 192\.0\.2\.3.* self permanent/);
    assert.doesNotMatch(fdb, /dst 192\.0\.2\.1\b/, 'own VTEP never listed');
    const neigh = await inNs(path, 'ip neigh show dev vxlan0');
    assert.match(neigh, new RegExp(`10\\.77\\.0\\.3 lladdr ${b!.ep.mac} PERMANENT`));
    assert.match(neigh, new RegExp(`10\\.77\\.0\\.4 lladdr ${c!.ep.mac} PERMANENT`));
    assert.doesNotMatch(neigh, /10\.77\.0\.2 /, 'the local endpoint is not a peer');
    assert.match(neigh, new RegExp(`fd00:77::3 lladdr ${b!.ep.mac} PERMANENT`));
    assert.equal((await inNs(path, 'ip -6 addr show')).includes('br0'), false, 'no IPv6 address on br0 or vxlan0');
  });

  it('ARP crosses hosts by head-end replication: without neighbour entries it works, without flood entries it does not', async () => {
    const [a] = boxes;
    const path = ovlPath(hosts[0]!.ctx, net1.id);
    await inNs(path, 'ip neigh flush dev vxlan0 nud permanent');
    await a!.t.sh('ip neigh flush dev eth0');
    assert.ok(await ping(a!, '10.77.0.3'), 'ARP flooded to the remote VTEPs is answered');
    // Now without the flood list: the ARP request has nowhere to go.
    await inNs(path, 'bridge fdb del 00:00:00:00:00:00 dev vxlan0 dst 192.0.2.2 self && bridge fdb del 00:00:00:00:00:00 dev vxlan0 dst 192.0.2.3 self');
    await a!.t.sh('ip neigh flush dev eth0');
    assert.equal(await ping(a!, '10.77.0.3'), false, 'no flood entry, no ARP answer');
    // setPeers puts back exactly what is missing.
    const r = await setOverlayPeers(hosts[0]!.ctx, net1, peersOf(net1));
    assert.deepEqual(r, { added: 6, removed: 0 }, 'two flood entries, four neighbours');
    assert.ok(await ping(a!, '10.77.0.3'));
  });

  it('setPeers is idempotent and removes the entries of peers no longer listed', async () => {
    const h = hosts[0]!;
    const path = ovlPath(h.ctx, net1.id);
    assert.deepEqual(await setOverlayPeers(h.ctx, net1, peersOf(net1)), { added: 0, removed: 0 });
    const c = boxes[2]!;
    const without = peersOf(net1).filter((p) => p.mac !== c.ep.mac);
    const r = await setOverlayPeers(h.ctx, net1, without);
    assert.deepEqual(r, { added: 0, removed: 4 }, 'its MAC, its flood entry, its two neighbours');
    // Remote entries only (the bridge's learned ones carry no dst).
    const fdb = (await inNs(path, 'bridge fdb show dev vxlan0')).split('\n').filter((l) => l.includes(' dst ')).join('\n');
    assert.doesNotMatch(fdb, new RegExp(c.ep.mac));
    assert.doesNotMatch(fdb, /192\.0\.2\.3/);
    assert.doesNotMatch(await inNs(path, 'ip neigh show dev vxlan0'), /10\.77\.0\.4/);
    assert.equal(await ping(boxes[0]!, '10.77.0.4'), false, 'host 3 is unreachable from host 1 now');
    assert.deepEqual(await setOverlayPeers(h.ctx, net1, without), { added: 0, removed: 0 });
    await assert.rejects(setOverlayPeers(h.ctx, net1, [{ ip: '10.77.0.9', mac: 'nope', vtep: '192.0.2.2' }]), /peer 0 .*invalid mac/);
    assert.deepEqual(overlayPeers(h.ctx, net1), without, 'a bad list is not remembered');
    await setOverlayPeers(h.ctx, net1, peersOf(net1));
    assert.ok(await ping(boxes[0]!, '10.77.0.4'));
  });

  it('a large peer set is programmed in batches and shrunk again', async () => {
    const h = hosts[2]!;
    const big = network('big', '10.81.0.0/16', 4600);
    await overlayDriver.createNetwork(h.ctx, big, { fresh: true });
    try {
      const peers: OverlayPeer[] = Array.from({ length: 600 }, (_x, i) => ({
        ip: `10.81.${(i >> 8) + 1}.${i & 255}`, mac: `02:42:0a:51:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, vtep: `192.0.2.${10 + (i % 3)}`,
      }));
      assert.deepEqual(await setOverlayPeers(h.ctx, big, peers), { added: 600 + 3 + 600, removed: 0 });
      const path = ovlPath(h.ctx, big.id);
      const count = async (cmd: string): Promise<number> => (await inNs(path, cmd)).split('\n').filter((l) => l.includes('PERMANENT') || l.includes(' dst ')).length;
      assert.equal(await count('bridge fdb show dev vxlan0'), 603);
      assert.equal(await count('ip neigh show dev vxlan0'), 600);
      assert.deepEqual(await setOverlayPeers(h.ctx, big, peers.slice(0, 10)), { added: 0, removed: 590 + 590 });
      assert.equal(await count('bridge fdb show dev vxlan0'), 13);
      assert.equal(await count('ip neigh show dev vxlan0'), 10);
    } finally {
      await overlayDriver.deleteNetwork(h.ctx, big);
    }
  });

  it('two networks with the same subnet on different VNIs stay apart', async () => {
    for (const h of hosts.slice(0, 2)) await overlayDriver.createNetwork(h.ctx, net2, { fresh: true });
    const d = await box(hosts[0]!, net2, '10.77.0.2/24'); // the address of a container on net1
    await box(hosts[1]!, net2, '10.77.0.5/24');
    await publish(net2);
    assert.ok(await ping(d, '10.77.0.5'), 'its own network works');
    assert.equal(await ping(d, '10.77.0.3'), false, 'net1\'s container on host 2 is out of reach');
    assert.ok(await ping(boxes[0]!, '10.77.0.3'), 'net1 unaffected');
    assert.equal(await ping(boxes[0]!, '10.77.0.5'), false);
  });

  it('the VXLAN guard: with it, host 1 accepts VXLAN only from the VTEPs it lists', { skip: loadNative() ? false : 'build/nft.node not built' }, async () => {
    const fw = new NftFirewall({ nsPath: hosts[0]!.t.path, watch: false });
    try {
      await fw.init();
      const [a, , c] = boxes;
      await fw.setVxlanGuard({ port: 4789, vteps: ['192.0.2.1', '192.0.2.2'] });
      assert.ok(await ping(a!, '10.77.0.3'), 'host 2 is a known VTEP');
      assert.equal(await ping(c!, '10.77.0.2'), false, 'host 3 is not: its VXLAN is dropped at host 1');
      assert.match((await hosts[0]!.t.sh('nft list set inet cnm vteps4')).stdout, /192\.0\.2\.1, 192\.0\.2\.2/);
      await fw.setVxlanGuard({ port: 4789, vteps: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] });
      assert.ok(await ping(c!, '10.77.0.2'), 'host 3 joined the node set');
      assert.equal((await fw.drift()).ok, true);
      await fw.setVxlanGuard({ port: 4789, vteps: ['192.0.2.1'] });
      assert.equal(await ping(a!, '10.77.0.3'), false);
      await fw.setVxlanGuard(null);
      assert.ok(await ping(a!, '10.77.0.3'), 'no guard, nothing dropped');
      assert.equal((await hosts[0]!.t.sh('nft list set inet cnm vxlan-ports')).stdout.includes('4789'), false);
    } finally {
      await fw.removeTables().catch(() => undefined);
      await fw.close();
    }
  });

  it('rebuilds a lost overlay namespace at a restart-style create and join, with its peers', async () => {
    const h = hosts[1]!;
    const b = boxes[1]!;
    const path = ovlPath(h.ctx, net1.id);
    // Pieces lost (by hand): vxlan0 and the endpoint's port, then the whole namespace.
    await inNs(path, `ip link del vxlan0 && ip link del ${b.ep.driverState.ovlPort}`);
    assert.deepEqual(await checkOverlay(h.ctx, [net1, net2]), [`network ov1: vxlan0 in ${path} is missing`]);
    assert.deepEqual(await setOverlayPeers(h.ctx, net1, peersOf(net1)), { added: 0, removed: 0 }, 'remembered for the rebuild');
    await overlayDriver.createNetwork(h.ctx, net1);
    await overlayDriver.join(h.ctx, net1, b.ep, { id: b.t.name, netnsPath: b.t.path, ifNames: ['eth0'], ns: b.ns });
    assert.match(await inNs(path, 'bridge fdb show dev vxlan0'), /00:00:00:00:00:00 dst 192\.0\.2\.1/, 'peers re-applied');
    assert.ok(await ping(boxes[0]!, '10.77.0.3'));
    await Netns.remove(path);
    await overlayDriver.createNetwork(h.ctx, net1);
    await overlayDriver.join(h.ctx, net1, b.ep, { id: b.t.name, netnsPath: b.t.path, ifNames: ['eth0'], ns: b.ns });
    assert.match(await inNs(path, 'bridge fdb show dev vxlan0'), /00:00:00:00:00:00 dst 192\.0\.2\.1/, 'peers re-applied');
    assert.ok(await ping(boxes[0]!, '10.77.0.3'));
    // A second join changes nothing and keeps the link working.
    await overlayDriver.join(h.ctx, net1, b.ep, { id: b.t.name, netnsPath: b.t.path, ifNames: ['eth0'], ns: b.ns });
    assert.ok(await ping(b, '10.77.0.2'));
  });

  it('the sweep keeps namespaces with endpoints, removes empty ones of unknown networks', async () => {
    const h = hosts[2]!;
    const lone = network('lone', '10.78.0.0/24', 4300);
    await overlayDriver.createNetwork(h.ctx, lone, { fresh: true });
    assert.deepEqual(await checkOverlay(h.ctx, [net1]), [`overlay namespace ${ovlPath(h.ctx, lone.id)} belongs to no network`]);
    const removed = await sweepOverlayNamespaces(h.ctx, []);
    assert.deepEqual(removed, [`overlay namespace ${ovlPath(h.ctx, lone.id)}`], 'net1 (an endpoint on it) stays');
    assert.equal(existsSync(ovlPath(h.ctx, net1.id)), true);
  });

  it('leave and delete leave nothing: no namespace, no vxlan, no veth', async () => {
    for (const b of boxes) {
      const net = b.ep.networkId === net1.id ? net1 : net2;
      await overlayDriver.leave(b.host.ctx, net, b.ep, b.ns);
      assert.doesNotMatch((await b.t.sh('ip -o link show')).stdout, /eth0/);
    }
    for (const h of hosts) {
      for (const n of [net1, net2]) await overlayDriver.deleteNetwork(h.ctx, n);
      assert.deepEqual(await readdir(`${h.ctx.execRoot}/overlay`).catch(() => []), []);
      assert.doesNotMatch((await h.t.sh('ip -o link show')).stdout, /vxlan|veth/);
      // The kernel closes it with the last VXLAN device of the port.
      await waitFor(async () => (await h.t.sh('ss -ulnH "sport = :4789"')).stdout.trim() === '', { what: 'the VXLAN socket to close', timeoutMs: 10_000 });
    }
    // Twice is fine.
    await overlayDriver.deleteNetwork(hosts[0]!.ctx, net1);
  });
});

describe('cnm cleanup and overlay namespaces', { skip }, () => {
  it('removes the overlay namespaces a stopped daemon left, and their VXLAN socket', async () => {
    const runDir = await mkdtemp('/run/cnmt-ovl-');
    const t = await TestNetns.create('ovcl');
    const ns = await Netns.open(t.path);
    const ctx: DriverContext = { hostNs: ns, owner: 'test', networks: () => [], reap: () => undefined, execRoot: runDir, cluster: { vtep: '192.0.2.9', mtu: 1500 } };
    try {
      const net = network('cl', '10.79.0.0/24', 4400);
      await overlayDriver.createNetwork(ctx, net, { fresh: true });
      assert.equal(existsSync(ovlPath(ctx, net.id)), true);
      const dry = await t.sh(`${process.cwd()}/bin/cnm cleanup --exec-root ${runDir} --dry-run`);
      assert.match(dry.stdout, new RegExp(`ovl-${net.id.slice(0, 12)}`), 'the dry run lists it');
      await t.sh(`${process.cwd()}/bin/cnm cleanup --exec-root ${runDir}`);
      assert.deepEqual(await readdir(`${runDir}/overlay`), []);
      await waitFor(async () => (await t.sh('ss -ulnH "sport = :4789"')).stdout.trim() === '', { what: 'the VXLAN socket to close', timeoutMs: 10_000 });
    } finally {
      ns.close();
      await t.destroy();
      await cleanupRunDir(runDir);
      await rm(runDir, { recursive: true, force: true });
    }
  });
});

describe('overlay over an IPv6 underlay', { skip }, () => {
  it('VTEPs with IPv6 addresses: MTU underlay - 70, peers with IPv6 destinations, containers ping', async () => {
    const runDir = await mkdtemp('/run/cnmt-ovl-');
    const made: TestNetns[] = [];
    const handles: Netns[] = [];
    const net = network('ov6', '10.80.0.0/24', 4500);
    const ctxs: DriverContext[] = [];
    try {
      const ul = await TestNetns.create('ov6ul');
      made.push(ul);
      await ul.sh('ip link add ul0 type bridge && ip link set ul0 up');
      const boxes: Array<{ t: TestNetns; ep: EndpointRecord; vtep: string }> = [];
      for (const i of [1, 2]) {
        const h = await TestNetns.create(`ov6h${i}`);
        made.push(h);
        const vtep = `fd00:192::${i}`;
        await ul.sh(`ip link add u${i} type veth peer name eth0 netns ${h.name} && ip link set u${i} master ul0 up`);
        await h.sh(`ip addr add ${vtep}/64 dev eth0 nodad && ip link set eth0 up`);
        const hns = await Netns.open(h.path);
        handles.push(hns);
        // Spelled otherwise than the kernel prints it: the same VTEP all the same.
        const ctx: DriverContext = { hostNs: hns, owner: 'test', networks: () => [], reap: () => undefined, execRoot: `${runDir}/h${i}`, cluster: { vtep: `FD00:192:0::${i}`, mtu: 1500 } };
        ctxs.push(ctx);
        await overlayDriver.createNetwork(ctx, net, { fresh: true });
        const t = await TestNetns.create('ov6sb');
        made.push(t);
        const ns = await Netns.open(t.path);
        handles.push(ns);
        const ep: EndpointRecord = {
          id: newId(), name: t.name, networkId: net.id, sandboxId: t.name, ifName: 'eth0', mac: `02:42:0a:50:00:0${i + 1}`, ipv4: `10.80.0.${i + 1}/24`,
          aliases: [], gwPriority: 0, created: 0, ports: [], driverOpts: {}, driverState: {}, gateway: { ipv4: null, ipv6: null }, routes: [], dns: true,
        };
        ep.driverState = (await overlayDriver.createEndpoint(net, ep, { id: t.name, netnsPath: t.path, ifNames: [] })).driverState;
        await overlayDriver.join(ctx, net, ep, { id: t.name, netnsPath: t.path, ifNames: [], ns }, { fresh: true });
        boxes.push({ t, ep, vtep });
      }
      const peers = boxes.map((b) => ({ ip: b.ep.ipv4!, mac: b.ep.mac, vtep: b.vtep }));
      for (const ctx of ctxs) await setOverlayPeers(ctx, net, peers);
      assert.match((await boxes[0]!.t.sh('ip -o link show eth0')).stdout, /mtu 1430/);
      assert.match(await inNs(ovlPath(ctxs[0]!, net.id), 'bridge fdb show dev vxlan0'), /00:00:00:00:00:00 dst fd00:192::2 /);
      assert.ok((await boxes[0]!.t.sh('ping -c 3 -i 0.2 -W 1 10.80.0.3', { allowFail: true })).code === 0, 'across the IPv6 underlay');
      const index = async (): Promise<string> => inNs(ovlPath(ctxs[0]!, net.id), 'ip -o link show vxlan0 | cut -d: -f1');
      const before = await index();
      await overlayDriver.createNetwork(ctxs[0]!, net);
      assert.equal(await index(), before, 'a restart keeps vxlan0 (its VTEP is unchanged)');
      assert.deepEqual(await checkOverlay(ctxs[0]!, [net]), []);
    } finally {
      for (const ctx of ctxs) await overlayDriver.deleteNetwork(ctx, net).catch(() => undefined);
      for (const h of handles) h.close();
      for (const t of made.reverse()) await t.destroy();
      for (const i of [1, 2]) await cleanupRunDir(`${runDir}/h${i}`);
      await rm(runDir, { recursive: true, force: true });
    }
  });
});
