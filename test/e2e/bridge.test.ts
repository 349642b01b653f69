// The bridge device: its MAC stays put while ports come and go (else
// sandboxes keep sending to a gateway MAC that no longer exists), and a
// bridge the user made and handed to cnm (com.docker.network.bridge.name)
// stays the user's: neither `network rm` nor a restart's sweep deletes it or
// the user's own ports on it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { canPing, inSandbox, runSandbox } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('bridge', privilegedSkipReason());
const CYCLES = Number(process.env.CNM_BRIDGE_CYCLES ?? 100);

interface IpLink { ifname: string; address: string; master?: string; ifalias?: string }

async function link(d: DaemonHandle, name: string): Promise<IpLink | null> {
  const r = await d.ns.sh(`ip -j -d link show dev ${name}`, { allowFail: true });
  return r.code === 0 ? (JSON.parse(r.stdout) as IpLink[])[0] ?? null : null;
}

/** addr_assign_type lives in sysfs only; `ip netns exec` mounts the namespace's own. */
async function addrAssignType(d: DaemonHandle, name: string): Promise<string> {
  return (await d.ns.sh(`ip netns exec ${d.ns.name} cat /sys/class/net/${name}/addr_assign_type`)).stdout.trim();
}

describe(`bridge device${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d?.destroy(); });

  test(`the bridge MAC never moves over ${CYCLES} joins and leaves; DNS answers right after each leave`, async (t) => {
    const { Id } = await d.client.networkCreate({ Name: 'macnet', IPAM: { Config: [{ Subnet: '10.61.0.0/24' }] } });
    const br = `br-${Id.slice(0, 12)}`;
    // NET_ADDR_SET (3): the MAC was given at creation, the kernel will not
    // replace it with a port's (NET_ADDR_RANDOM, 1, would).
    assert.equal(await addrAssignType(d, br), '3');
    await runSandbox(d, 'asker', { network: 'macnet' });
    await runSandbox(d, 'comer', { network: 'bridge' });
    const mac = (await link(d, br))?.address;
    assert.ok(mac);
    let slowest = 0;
    for (let i = 0; i < CYCLES; i++) {
      await d.client.networkConnect('macnet', 'comer');
      assert.equal((await link(d, br))?.address, mac, `cycle ${i}: MAC after join`);
      // The asker learns the gateway's MAC while the comer is on the bridge.
      const during = await inSandbox(d, 'asker', 'ip neigh flush dev eth0 && dig +tries=1 +time=1 +short @10.61.0.1 asker');
      assert.equal(during.code, 0, `cycle ${i}: the query while joined was answered: ${during.stdout}`);
      await d.client.networkDisconnect('macnet', 'comer');
      assert.equal((await link(d, br))?.address, mac, `cycle ${i}: MAC after leave`);
      // One try, one second: a stale gateway MAC in the asker's neighbour
      // cache would black-hole it for 10-25 s.
      const r = await inSandbox(d, 'asker', 'dig +tries=1 +time=1 +noall +answer +stats @10.61.0.1 asker');
      assert.equal(r.code, 0, `cycle ${i}: the query after the leave was answered: ${r.stdout}`);
      const ms = Number(/Query time: (\d+) msec/.exec(r.stdout)?.[1] ?? NaN);
      assert.ok(ms < 1000, `cycle ${i}: answered in ${ms} ms`);
      slowest = Math.max(slowest, ms);
    }
    t.diagnostic(`slowest answer after a leave: ${slowest} ms`);
    await d.client.containerRemove('asker', true);
    await d.client.containerRemove('comer', true);
    await d.client.networkRemove('macnet');
    // Down at once, deleted by the reaper moments later (core/reaper.ts).
    await waitFor(async () => (await link(d, br)) === null, { what: () => 'the bridge cnm made to be deleted with its network', timeoutMs: 10_000 });
  });

  test('a bridge from before a restart gets its current MAC fixed', async () => {
    const { Id } = await d.client.networkCreate({ Name: 'oldnet', IPAM: { Config: [{ Subnet: '10.62.0.0/24' }] } });
    const br = `br-${Id.slice(0, 12)}`;
    await d.stop('SIGKILL');
    // As an older cnm left it: no alias, a MAC the kernel chose.
    await d.ns.sh(`ip link del ${br} && ip link add ${br} type bridge`);
    const mac = (await link(d, br))?.address;
    assert.equal(await addrAssignType(d, br), '1');
    await d.restart();
    assert.equal(await addrAssignType(d, br), '3');
    assert.equal((await link(d, br))?.address, mac, 'the MAC it had');
    await d.client.networkRemove('oldnet');
  });

  test("a user's bridge is adopted, survives kill -9 and network rm, with the user's veth and address", async () => {
    await d.ns.sh([
      'ip link add ubr0 type bridge',
      'ip addr add 10.63.0.254/24 dev ubr0',
      'ip link add uveth0 type veth peer name uveth1',
      'ip link set uveth0 master ubr0 up',
      'ip link set ubr0 up',
    ].join(' && '));
    await d.client.networkCreate({
      Name: 'usernet', IPAM: { Config: [{ Subnet: '10.63.0.0/24', Gateway: '10.63.0.1' }] },
      Options: { 'com.docker.network.bridge.name': 'ubr0' },
    });
    await runSandbox(d, 'guest', { network: 'usernet' });
    assert.ok(await canPing(d, 'guest', '10.63.0.1'), 'the sandbox reaches the gateway on the adopted bridge');
    assert.equal((await link(d, 'ubr0'))?.ifalias, undefined, "cnm does not mark the user's bridge");

    await d.stop('SIGKILL');
    await d.restart();
    assert.equal((await link(d, 'uveth0'))?.master, 'ubr0', "the user's veth survives the restart's sweep");
    assert.ok(await canPing(d, 'guest', '10.63.0.1'), 'the sandbox still works after the restart');

    await d.client.containerRemove('guest', true);
    await d.client.networkRemove('usernet');
    assert.ok(await link(d, 'ubr0'), "network rm leaves the user's bridge");
    assert.equal((await link(d, 'uveth0'))?.master, 'ubr0', "and the user's veth on it");
    const addrs = (await d.ns.sh('ip -br -4 addr show dev ubr0')).stdout;
    assert.match(addrs, /10\.63\.0\.254\/24/, "the user's address stays");
    assert.doesNotMatch(addrs, /10\.63\.0\.1\//, "the gateway address cnm added goes");
    await d.ns.sh('ip link del uveth0 && ip link del ubr0');
  });

  test('links cnm made carry its mark; an orphan with the mark is swept, one without is left alone', async () => {
    const { Id } = await d.client.networkCreate({ Name: 'marked', IPAM: { Config: [{ Subnet: '10.64.0.0/24' }] } });
    const br = `br-${Id.slice(0, 12)}`;
    await runSandbox(d, 'member', { network: 'marked' });
    const epId = (await d.client.containerInspect('member')).NetworkSettings.Networks.marked?.EndpointID ?? '';
    assert.ok(epId);
    const owner = readFileSync(join(d.dir, 'data', 'host-id'), 'utf8').trim().slice(0, 12);
    assert.equal((await link(d, br))?.ifalias, `cnm:${owner}:${Id.slice(0, 12)}`);
    assert.equal((await link(d, `veth${epId.slice(0, 11)}`))?.ifalias, `cnm:${owner}:${epId.slice(0, 12)}`);
    await d.stop('SIGKILL');
    await d.ns.sh([
      `ip link add vethdead0 type veth peer name vethdead1 && ip link set vethdead0 alias cnm:${owner}:0123456789ab master ${br}`,
      `ip link add user0 type veth peer name user1 && ip link set user0 master ${br}`,
    ].join(' && '));
    await d.restart();
    assert.equal(await link(d, 'vethdead0'), null, 'the marked orphan is gone');
    assert.equal((await link(d, 'user0'))?.master, br, 'the unmarked port is left alone');
    assert.ok(await link(d, `veth${epId.slice(0, 11)}`), "the member's own veth stays");
    await d.ns.sh('ip link del user0');
    await d.client.containerRemove('member', true);
    await d.client.networkRemove('marked');
  });
});
