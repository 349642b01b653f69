// Links of every kind this kernel has, created through the netlink layer and
// read back; changes (up/down, MTU, MAC, master, rename, namespace moves);
// errors, and that a failed creation leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Netns, NetlinkError } from '../../src/netlink/index.ts';
import { privilegedSkipReason, withNetns } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import type { TestNetns } from '../helpers/netns.ts';
import { rejectsWith } from '../helpers/netlink.ts';

const skip = skipUnlessCI('netlink-links', privilegedSkipReason());

/** Opens a Netns handle on each test namespace, closes them afterwards. */
async function inNamespaces(labels: string[], body: (ns: Netns[], t: TestNetns[]) => Promise<void>): Promise<void> {
  await withNetns(labels, async (tns) => {
    const handles: Netns[] = [];
    try {
      for (const t of tns) handles.push(await Netns.open(t.path));
      await body(handles, tns);
    } finally {
      for (const h of handles) h.close();
    }
  });
}


/** iproute2's own view, to check read-back against an independent reader. */
const ipJson = (t: TestNetns, dev: string): Record<string, unknown> =>
  (JSON.parse(execFileSync('ip', ['-n', t.name, '-d', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as Array<Record<string, unknown>>)[0] ?? {};

test('bridge: create with MTU and MAC, list, raise, lower, delete', { skip }, async () => {
  await inNamespaces(['br'], async ([ns], [t]) => {
    const made = await ns!.rtnl.linkAdd({ kind: 'bridge', name: 'br-1a2b', mtu: 1400, mac: '02:00:00:aa:bb:01' });
    const br = await ns!.rtnl.linkGet('br-1a2b');
    assert.ok(br);
    assert.equal(made.index, br.index, 'linkAdd returns the created link');
    assert.equal(br.kind, 'bridge');
    assert.equal(br.mtu, 1400);
    assert.equal(br.mac, '02:00:00:aa:bb:01');
    assert.equal(br.up, false);
    assert.equal((ipJson(t!, 'br-1a2b').linkinfo as { info_kind: string }).info_kind, 'bridge');
    assert.ok((await ns!.rtnl.linkList()).some((l) => l.name === 'br-1a2b'));
    await ns!.rtnl.linkSet('br-1a2b', { up: true });
    assert.equal((await ns!.rtnl.linkGet('br-1a2b'))?.up, true);
    await ns!.rtnl.linkSet(br.index, { up: false });
    assert.equal((await ns!.rtnl.linkGet(br.index))?.up, false);
    await ns!.rtnl.linkDel('br-1a2b');
    assert.equal(await ns!.rtnl.linkGet('br-1a2b'), null);
  });
});

test('alias (IFLA_IFALIAS): set at creation and by linkSet, read back, cleared; too long is refused', { skip }, async () => {
  await inNamespaces(['al'], async ([ns], [t]) => {
    const made = await ns!.rtnl.linkAdd({ kind: 'veth', name: 'va0', alias: 'cnm:abc:123', peer: { name: 'va1' } });
    assert.equal(made.alias, 'cnm:abc:123');
    assert.equal((await ns!.rtnl.linkGet('va0'))?.alias, 'cnm:abc:123');
    assert.equal(ipJson(t!, 'va0').ifalias, 'cnm:abc:123', 'iproute2 reads the same alias, without a NUL');
    assert.equal((await ns!.rtnl.linkGet('va1'))?.alias, undefined, 'only the named end');
    await ns!.rtnl.linkSet('va0', { alias: 'other', up: true });
    assert.equal((await ns!.rtnl.linkGet('va0'))?.alias, 'other');
    await ns!.rtnl.linkSet('va0', { alias: '' });
    assert.equal((await ns!.rtnl.linkGet('va0'))?.alias, undefined);
    await rejectsWith(ns!.rtnl.linkSet('va0', { alias: 'x'.repeat(256) }), 'INVALID_VALUE', 'alias');
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'bridge', name: 'brz', alias: 'x'.repeat(256) }), 'INVALID_VALUE', 'alias');
    assert.equal(await ns!.rtnl.linkGet('brz'), null, 'nothing made');
  });
});

test('veth across namespaces: peer born in the other namespace, indexes cross-checked', { skip }, async () => {
  await inNamespaces(['vh', 'vs'], async ([host, sbx], [th]) => {
    const made = await host!.rtnl.linkAdd({ kind: 'veth', name: 'veth-h', up: true, mtu: 1450, peer: { name: 'eth0', netns: sbx!, mac: '02:00:00:00:00:02', up: true } });
    const eth0 = await sbx!.rtnl.linkGet('eth0');
    const vh = await host!.rtnl.linkGet('veth-h');
    assert.ok(eth0 && vh);
    assert.equal(made.peerIndex, eth0.index);
    assert.equal(vh.peerIndex, eth0.index);
    assert.equal(eth0.peerIndex, vh.index);
    assert.equal(vh.kind, 'veth');
    assert.equal(eth0.mac, '02:00:00:00:00:02');
    assert.equal(eth0.mtu, 1450, 'the peer takes the link MTU unless given its own');
    assert.ok(vh.linkNetnsId !== undefined && eth0.linkNetnsId !== undefined, 'each end sees the other in another namespace');
    assert.equal(vh.up && eth0.up, true);
    assert.equal(eth0.operState, 'up');
    assert.equal(await host!.rtnl.linkGet('eth0'), null, 'the peer is not in the host namespace');
    assert.match(execFileSync('ip', ['-n', th!.name, 'link', 'show', 'veth-h'], { encoding: 'utf8' }), /veth-h@if\d+/);
    await host!.rtnl.linkDel('veth-h');
    assert.equal(await sbx!.rtnl.linkGet('eth0'), null, 'deleting one end deletes the pair');
  });
});

test('veth born in its bridge (master in the creating message); IPv6 link-local mode set before up', { skip }, async () => {
  await inNamespaces(['bm', 'bs'], async ([host, sbx], [, ts]) => {
    const br = await host!.rtnl.linkAdd({ kind: 'bridge', name: 'br0', up: true });
    const made = await host!.rtnl.linkAdd({ kind: 'veth', name: 'veth-h', up: true, master: br.index, peer: { name: 'eth0', netns: sbx!, mac: '02:00:00:00:00:07' } });
    assert.equal((await host!.rtnl.linkGet('veth-h'))?.master, br.index);
    assert.equal((await host!.rtnl.linkGet('veth-h'))?.up, true);
    assert.equal(made.name, 'veth-h');
    // A missing master fails the create, which leaves nothing behind.
    await assert.rejects(host!.rtnl.linkAdd({ kind: 'veth', name: 'veth-x', master: 9999, peer: { name: 'eth9', netns: sbx! } }));
    assert.equal(await host!.rtnl.linkGet('veth-x'), null);
    assert.equal(await sbx!.rtnl.linkGet('eth9'), null);
    // The namespace's default is stable-privacy here: the link's own mode wins.
    await sbx!.sysctlSet('net/ipv6/conf/default/addr_gen_mode', '2');
    await host!.rtnl.linkAdd({ kind: 'veth', name: 'veth-2', up: true, master: 'br0', peer: { name: 'eth1', netns: sbx!, mac: '02:00:00:00:00:08' } });
    await sbx!.rtnl.batch((b) => b.linkSet('eth1', { addrGenMode: 'eui64' }).linkSet('eth1', { up: true }));
    assert.equal(await sbx!.sysctlGet('net/ipv6/conf/eth1/addr_gen_mode'), '0');
    const ll = execFileSync('ip', ['-n', ts!.name, '-6', 'addr', 'show', 'dev', 'eth1', 'scope', 'link'], { encoding: 'utf8' });
    assert.match(ll, /fe80::ff:fe00:8\/64/, 'the EUI-64 address of 02:00:00:00:00:08');
    // A link whose MTU is below IPv6's minimum has no IPv6 to set: the batch may ignore that.
    await sbx!.rtnl.linkSet('eth0', { mtu: 1000 });
    await assert.rejects(sbx!.rtnl.batch((b) => b.linkSet('eth0', { addrGenMode: 'eui64' }).linkSet('eth0', { up: true })), (e: Error & { code?: string }) => e.code === 'EAFNOSUPPORT');
    await sbx!.rtnl.batch((b) => b.linkSet('eth0', { addrGenMode: 'eui64' }, { ignore: ['EAFNOSUPPORT'] }).linkSet('eth0', { up: true }));
    assert.equal((await sbx!.rtnl.linkGet('eth0'))?.up, true);
  });
});

test('change a link: MTU, MAC, master, rename, move to a namespace', { skip }, async () => {
  await inNamespaces(['ch', 'ch2'], async ([ns, other]) => {
    await ns!.rtnl.linkAdd({ kind: 'bridge', name: 'br0' });
    await ns!.rtnl.linkAdd({ kind: 'veth', name: 'va', peer: { name: 'vb' } });
    await ns!.rtnl.linkSet('va', { mtu: 1300, mac: '02:11:22:33:44:55', master: 'br0', up: true });
    const br = await ns!.rtnl.linkGet('br0');
    let va = await ns!.rtnl.linkGet('va');
    assert.equal(va?.mtu, 1300);
    assert.equal(va?.mac, '02:11:22:33:44:55');
    assert.equal(va?.master, br?.index);
    assert.equal(va?.up, true);
    assert.ok(va?.bridgePort, 'a bridge port reports its port settings');
    assert.equal((await ns!.rtnl.linkList()).find((l) => l.name === 'va')?.bridgePort, undefined, 'a dump of every link leaves them out');
    await ns!.rtnl.linkSet('va', { master: null });
    assert.equal((await ns!.rtnl.linkGet('va'))?.master, null);
    // A rename needs the link down; lower and rename in one call.
    await ns!.rtnl.linkSet('va', { up: false });
    await ns!.rtnl.linkSet('va', { name: 'va-renamed', up: true });
    va = await ns!.rtnl.linkGet('va-renamed');
    assert.equal(va?.up, true);
    assert.equal(await ns!.rtnl.linkGet('va'), null);
    // Move, rename and raise, as a sandbox attach does.
    await ns!.rtnl.linkSet('vb', { netns: other!, name: 'eth0' });
    assert.equal(await ns!.rtnl.linkGet('vb'), null);
    await other!.rtnl.linkSet('eth0', { up: true });
    const moved = await other!.rtnl.linkGet('eth0');
    assert.equal(moved?.kind, 'veth');
    assert.equal(moved?.up, true);
    assert.equal(moved?.peerIndex, va?.index);
  });
});

test('vxlan: VNI, local, remote, port, learning, TTL and underlay device read back', { skip }, async () => {
  await inNamespaces(['vx'], async ([ns]) => {
    await ns!.rtnl.linkAdd({ kind: 'veth', name: 'under0', peer: { name: 'under1' } });
    await ns!.rtnl.addrAdd('under0', '192.0.2.1/24');
    await ns!.rtnl.linkAdd({ kind: 'vxlan', name: 'vx-42', vni: 42, local: '192.0.2.1', group: '192.0.2.2', port: 4789, learning: false, ttl: 64, dev: 'under0', mtu: 1450 });
    const under = await ns!.rtnl.linkGet('under0');
    const vx = await ns!.rtnl.linkGet('vx-42');
    assert.equal(vx?.kind, 'vxlan');
    assert.equal(vx?.mtu, 1450);
    assert.deepEqual(vx?.vxlan, { vni: 42, port: 4789, learning: false, ttl: 64, local: '192.0.2.1', group: '192.0.2.2', dev: under?.index });
    await ns!.rtnl.linkAdd({ kind: 'vxlan', name: 'vx6', vni: 7, local: 'fd00::1', port: 4789 });
    const v6 = await ns!.rtnl.linkGet('vx6');
    assert.equal(v6?.vxlan?.local, 'fd00::1');
    assert.equal(v6?.vxlan?.learning, true, 'learning defaults on, as in the kernel');
  });
});

test('vxlan born in another namespace: the device lives there, its UDP socket stays in the creating one', { skip }, async () => {
  await inNamespaces(['vxu', 'vxo'], async ([under, ovl], [tu, to]) => {
    await under!.rtnl.linkAdd({ kind: 'vxlan', name: 'vxlan0', vni: 4100, local: '192.0.2.1', port: 4789, learning: false, netns: ovl!, mtu: 1450 });
    assert.equal(await under!.rtnl.linkGet('vxlan0'), null, 'not in the creating namespace');
    const vx = await ovl!.rtnl.linkGet('vxlan0');
    assert.equal(vx?.kind, 'vxlan');
    assert.equal(vx?.vxlan?.vni, 4100);
    assert.equal(vx?.mtu, 1450);
    // The socket opens when the device goes up, in the device's source namespace.
    await ovl!.rtnl.linkSet('vxlan0', { up: true });
    const udp = (t: TestNetns) => execFileSync('ip', ['netns', 'exec', t.name, 'ss', '-ulnH', 'sport = :4789'], { encoding: 'utf8' }).trim();
    assert.notEqual(udp(tu!), '', 'UDP 4789 is bound in the creating namespace');
    assert.equal(udp(to!), '', 'and not where the device lives');
  });
});

test('macvlan: bridge mode born in another namespace, private mode beside its parent', { skip }, async () => {
  await inNamespaces(['mvh', 'mvs'], async ([host, sbx]) => {
    await host!.rtnl.linkAdd({ kind: 'veth', name: 'lan0', peer: { name: 'lan1' } });
    const parent = await host!.rtnl.linkGet('lan0');
    await host!.rtnl.linkAdd({ kind: 'macvlan', name: 'mv0', parent: 'lan0', mode: 'bridge', netns: sbx! });
    assert.equal(await host!.rtnl.linkGet('mv0'), null);
    const mv = await sbx!.rtnl.linkGet('mv0');
    assert.equal(mv?.kind, 'macvlan');
    assert.equal(mv?.macvlanMode, 'bridge');
    assert.equal(mv?.parentIndex, parent?.index);
    assert.ok(mv?.linkNetnsId !== undefined, 'its parent lives in another namespace');
    await host!.rtnl.linkAdd({ kind: 'macvlan', name: 'mv1', parent: parent!.index, mode: 'private' });
    assert.equal((await host!.rtnl.linkGet('mv1'))?.macvlanMode, 'private');
    await rejectsWith(host!.rtnl.linkAdd({ kind: 'macvlan', name: 'mv2', parent: 'nolan', mode: 'vepa' }), 'ENODEV', '"nolan"');
  });
});

test('tap: persistent tap with MTU; a duplicate is EEXIST; deleted over netlink', { skip }, async () => {
  await inNamespaces(['tap'], async ([ns]) => {
    const made = await ns!.rtnl.linkAdd({ kind: 'tap', name: 'tap-vm0', mtu: 1400, mac: '02:00:00:00:aa:01' });
    assert.equal(made.kind, 'tap', 'read back as created (the kernel says tun, type tap)');
    assert.equal(made.mtu, 1400);
    assert.equal(made.mac, '02:00:00:00:aa:01');
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'tap', name: 'tap-vm0' }), 'EEXIST', 'tap-vm0');
    // A multicast MAC is refused by the kernel after the tap exists: it must go again.
    await assert.rejects(ns!.rtnl.linkAdd({ kind: 'tap', name: 'tap-bad', mac: '01:00:5e:00:00:01' }), NetlinkError);
    assert.equal(await ns!.rtnl.linkGet('tap-bad'), null, 'no half-made tap');
    await ns!.rtnl.linkDel('tap-vm0');
    assert.equal(await ns!.rtnl.linkGet('tap-vm0'), null);
  });
});

test('ipvlan (l2, born in another namespace)', { skip }, async (t) => {
  await inNamespaces(['ivh', 'ivs'], async ([host, sbx]) => {
    await host!.rtnl.linkAdd({ kind: 'veth', name: 'lan0', peer: { name: 'lan1' } });
    try {
      await host!.rtnl.linkAdd({ kind: 'ipvlan', name: 'iv0', parent: 'lan0', mode: 'l2', netns: sbx! });
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'EOPNOTSUPP') {
        t.skip('skipped: ipvlan is missing in this kernel (CONFIG_IPVLAN off)');
        return;
      }
      throw e;
    }
    const iv = await sbx!.rtnl.linkGet('iv0');
    assert.equal(iv?.kind, 'ipvlan');
    assert.equal(iv?.ipvlanMode, 'l2');
  });
});

/** Creates a link of a kind this kernel may lack; false (and the test skips by name) when it does. */
async function kernelHas(t: { skip(m: string): void }, make: () => Promise<unknown>, what: string): Promise<boolean> {
  try {
    await make();
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'EOPNOTSUPP') {
      t.skip(`skipped: ${what} is missing in this kernel (the VM suite runs it)`);
      return false;
    }
    throw e;
  }
}

test('ipvlan flags (l3 private, l2 vepa) read back as iproute2 shows them', { skip }, async (t) => {
  await inNamespaces(['ivf'], async ([ns], [tn]) => {
    await ns!.rtnl.linkAdd({ kind: 'veth', name: 'lan0', peer: { name: 'lan1' } });
    if (!await kernelHas(t, () => ns!.rtnl.linkAdd({ kind: 'ipvlan', name: 'iv0', parent: 'lan0', mode: 'l3', flag: 'private' }), 'ipvlan')) return;
    const iv = await ns!.rtnl.linkGet('iv0');
    assert.equal(iv?.ipvlanMode, 'l3');
    assert.equal(iv?.ipvlanFlag, 'private');
    const info = (ipJson(tn!, 'iv0').linkinfo as { info_data: { mode: string; flags?: string } }).info_data;
    assert.equal(info.mode, 'l3');
    assert.match(JSON.stringify(info), /private/);
    await ns!.rtnl.linkAdd({ kind: 'ipvlan', name: 'iv1', parent: 'lan0', mode: 'l2', flag: 'vepa' });
    assert.equal((await ns!.rtnl.linkGet('iv1'))?.ipvlanFlag, 'vepa');
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'ipvlan', name: 'iv2', parent: 'lan0', mode: 'l2', flag: 'loud' as 'vepa' }), 'INVALID_VALUE', 'ipvlan flag');
  });
});

test('vlan (802.1Q): a sub-interface with its id, on its master; ids outside 1-4094 never reach the kernel', { skip }, async (t) => {
  await inNamespaces(['vlan'], async ([ns], [tn]) => {
    await ns!.rtnl.linkAdd({ kind: 'veth', name: 'lan0', peer: { name: 'lan1' } });
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'vlan', name: 'lan0.0', parent: 'lan0', vlanId: 0 }), 'INVALID_VALUE', 'VLAN id');
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'vlan', name: 'lan0.4095', parent: 'lan0', vlanId: 4095 }), 'INVALID_VALUE', 'VLAN id');
    if (!await kernelHas(t, () => ns!.rtnl.linkAdd({ kind: 'vlan', name: 'lan0.10', parent: 'lan0', vlanId: 10 }), '802.1Q (8021q)')) return;
    const v = await ns!.rtnl.linkGet('lan0.10');
    const lan0 = await ns!.rtnl.linkGet('lan0');
    assert.equal(v?.kind, 'vlan');
    assert.equal(v?.vlanId, 10);
    assert.equal(v?.parentIndex, lan0?.index);
    assert.equal((ipJson(tn!, 'lan0.10').linkinfo as { info_data: { id: number } }).info_data.id, 10);
  });
});

test('dummy: created, raised, deleted', { skip }, async (t) => {
  await inNamespaces(['dummy'], async ([ns]) => {
    if (!await kernelHas(t, () => ns!.rtnl.linkAdd({ kind: 'dummy', name: 'dm-1' }), 'dummy')) return;
    await ns!.rtnl.linkSet('dm-1', { up: true });
    const l = await ns!.rtnl.linkGet('dm-1');
    assert.equal(l?.kind, 'dummy');
    assert.equal(l?.up, true);
    await ns!.rtnl.linkDel('dm-1');
    assert.equal(await ns!.rtnl.linkGet('dm-1'), null);
  });
});

test('errors: EEXIST names the link, ENODEV names the missing one, bad names never reach the kernel', { skip }, async () => {
  await inNamespaces(['err', 'err2'], async ([ns, other]) => {
    await ns!.rtnl.linkAdd({ kind: 'bridge', name: 'br-1a2b' });
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'bridge', name: 'br-1a2b' }), 'EEXIST', 'EEXIST creating link "br-1a2b"');
    await rejectsWith(ns!.rtnl.linkDel('nope0'), 'ENODEV', 'deleting link "nope0"');
    await rejectsWith(ns!.rtnl.linkSet('nope0', { up: true }), 'ENODEV', 'changing link "nope0"');
    await rejectsWith(ns!.rtnl.linkSet('br-1a2b', { master: 'nobr' }), 'ENODEV', '"nobr"');
    await rejectsWith(ns!.rtnl.addrAdd('nope0', '10.0.0.1/24'), 'ENODEV', '"nope0"');
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'bridge', name: 'way-too-long-name' }), 'INVALID_NAME', 'way-too-long-name');
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'bridge', name: 'br 0' }), 'INVALID_NAME', '"br 0"');
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'bridge', name: 'a/b' }), 'INVALID_NAME', '"a/b"');
    // A veth whose peer name is taken in the target namespace: nothing is made.
    await other!.rtnl.linkAdd({ kind: 'bridge', name: 'eth0' });
    await rejectsWith(ns!.rtnl.linkAdd({ kind: 'veth', name: 'vh0', peer: { name: 'eth0', netns: other! } }), 'EEXIST', 'vh0');
    assert.equal(await ns!.rtnl.linkGet('vh0'), null, 'no half-made veth');
    // Renaming onto a taken name.
    await ns!.rtnl.linkAdd({ kind: 'bridge', name: 'br-2' });
    await rejectsWith(ns!.rtnl.linkSet('br-2', { name: 'br-1a2b' }), 'EEXIST', 'br-2');
    assert.deepEqual((await ns!.rtnl.linkList()).map((l) => l.name).sort(), ['br-1a2b', 'br-2', 'lo']);
  });
});

test('a dump that spans many netlink messages returns every link and address', { skip }, async () => {
  await inNamespaces(['dump'], async ([ns]) => {
    const n = 300;
    for (let i = 0; i < n; i++) await ns!.rtnl.linkAdd({ kind: 'veth', name: `a${i}`, peer: { name: `b${i}` } });
    for (let i = 0; i < n; i++) await ns!.rtnl.addrAdd(`a${i}`, `10.${i >> 8}.${i & 255}.1/32`);
    const names = new Set((await ns!.rtnl.linkList()).map((l) => l.name));
    assert.equal(names.size, 2 * n + 1);
    for (let i = 0; i < n; i++) assert.ok(names.has(`a${i}`) && names.has(`b${i}`), `a${i}/b${i}`);
    const v4 = (await ns!.rtnl.addrList()).filter((a) => a.family === 4 && a.dev !== 'lo');
    assert.equal(v4.length, n);
  });
});
