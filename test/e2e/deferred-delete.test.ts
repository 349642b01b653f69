// Deferred link deletion (core/reaper.ts): a disconnect or a network rm
// takes the veth or bridge out of service at once and the reaper deletes it
// later, off the request's path. When the call returns the endpoint carries
// no traffic and its address and name are free: a reconnect at once works,
// a network with the same bridge name and subnet can be made at once, and a
// crash before the reaper ran leaves nothing behind after the restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { canPing, ipOf, runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = skipUnlessCI('deferred-delete', privilegedSkipReason());
/** REAP_GROUP (src/drivers/link-mark.ts). */
const GROUP = 0x636e6d01;

async function doomed(d: DaemonHandle): Promise<string[]> {
  const r = await d.ns.sh(`ip -j link show group ${GROUP}`);
  // iproute2 lists a group's links, plus empty entries for other links' address info.
  return (JSON.parse(r.stdout || '[]') as Array<{ ifname?: string }>).map((l) => l.ifname).filter((n): n is string => !!n);
}

describe(`deferred link deletion${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => {
    // The reaper waits 3 s, so the tests see the doomed links.
    process.env.CNM_REAP_DELAY_MS = '3000';
    d = await startTestDaemon();
  });
  after(async () => {
    delete process.env.CNM_REAP_DELAY_MS;
    await d?.destroy();
  });

  test('disconnect: no traffic at once, a reconnect with the same address works at once, the reaper deletes the pair later', async () => {
    await d.docker(['network', 'create', '--subnet', '10.71.0.0/24', 'dd']);
    await runSandbox(d, 'dd-a', { network: 'dd' });
    await runSandbox(d, 'dd-b', { network: 'dd' });
    const a = await ipOf(d, 'dd-a', 'dd');
    const b = await ipOf(d, 'dd-b', 'dd');
    assert.ok(await canPing(d, 'dd-a', b));
    const hostEnd = `veth${((await d.client.containerInspect('dd-b')).NetworkSettings.Networks.dd?.EndpointID ?? '').slice(0, 11)}`;
    await d.docker(['network', 'disconnect', 'dd', 'dd-b']);
    assert.deepEqual(await doomed(d), [hostEnd], 'the host end waits for the reaper');
    assert.equal(await canPing(d, 'dd-a', b), false, 'the old address answers no more');
    await d.docker(['network', 'connect', '--ip', b, 'dd', 'dd-b']);
    // From the new endpoint: its ARP request also refreshes dd-a's entry for
    // b, which still names the old MAC (endpoints get a new random MAC).
    assert.ok(await canPing(d, 'dd-b', a), 'the same address, at once');
    await waitFor(async () => (await doomed(d)).length === 0, { what: () => 'the reaper to delete the old pair', timeoutMs: 15_000 });
    assert.ok(await canPing(d, 'dd-b', a), 'the new endpoint is untouched by the reaper');
    const links = (await d.ns.sh('ip -o link show')).stdout;
    assert.doesNotMatch(links, new RegExp(hostEnd), 'the old host end is gone');
    await d.docker(['rm', '-f', 'dd-a', 'dd-b']);
    await d.docker(['network', 'rm', 'dd']);
  });

  /** The links an earlier test doomed are gone (the reaper waits 3 s here). */
  const settled = (): Promise<unknown> => waitFor(async () => (await doomed(d)).length === 0, { what: () => 'the reaper', timeoutMs: 15_000 });

  test('network rm: the same bridge name and subnet can be taken at once', async () => {
    await settled();
    const make = (): Promise<unknown> => d.docker(['network', 'create', '--subnet', '10.72.0.0/24', '-o', 'com.docker.network.bridge.name=cnm-dd0', 'dd2']);
    await make();
    await d.docker(['network', 'rm', 'dd2']);
    assert.deepEqual(await doomed(d), ['cnm-dd0']);
    await make();
    await runSandbox(d, 'dd-c', { network: 'dd2' });
    assert.ok(await canPing(d, 'dd-c', '10.72.0.1'), 'the new bridge holds the gateway');
    await waitFor(async () => (await doomed(d)).length === 0, { what: () => 'the reaper', timeoutMs: 15_000 });
    assert.ok(await canPing(d, 'dd-c', '10.72.0.1'));
    await d.docker(['rm', '-f', 'dd-c']);
    await d.docker(['network', 'rm', 'dd2']);
  });

  test('a bridge disconnect, then at once a macvlan connect that wants the same interface name', async (t) => {
    await settled();
    t.after(async () => {
      await d.docker(['rm', '-f', 'dd-e'], { allowFail: true });
      for (const n of ['dd4', 'dd-mv']) await d.docker(['network', 'rm', n], { allowFail: true });
      await d.ns.sh('ip link del ddp0', { allowFail: true });
    });
    await d.ns.sh('ip link add ddp0 type veth peer name ddp1 && ip link set ddp0 up && ip link set ddp1 up');
    await d.docker(['network', 'create', '--subnet', '10.74.0.0/24', 'dd4']);
    await d.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.75.0.0/24', '-o', 'parent=ddp0', 'dd-mv']);
    await runSandbox(d, 'dd-e', { network: 'bridge' });
    await d.docker(['network', 'connect', 'dd4', 'dd-e']);
    await d.docker(['network', 'disconnect', 'dd4', 'dd-e']);
    await d.docker(['network', 'connect', 'dd-mv', 'dd-e']);
    const pid = (await d.client.containerInspect('dd-e')).State.Pid;
    const eth1 = await d.ns.sh(`nsenter -t ${pid} -n ip -d link show eth1`);
    assert.match(eth1.stdout, /macvlan mode bridge/, 'eth1 is the macvlan child');
  });

  test('kill -9 before the reaper ran: after the restart nothing doomed or orphaned is left', async () => {
    await settled();
    await d.docker(['network', 'create', '--subnet', '10.73.0.0/24', 'dd3']);
    await runSandbox(d, 'dd-d', { network: 'dd3' });
    await d.docker(['network', 'disconnect', 'dd3', 'dd-d']);
    await d.docker(['network', 'rm', 'dd3']);
    assert.equal((await doomed(d)).length, 2, 'a veth and a bridge wait');
    await d.stop('SIGKILL');
    await d.restart();
    assert.deepEqual(await doomed(d), []);
    const doctor = await d.cli(['doctor'], { allowFail: true });
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    await d.docker(['rm', '-f', 'dd-d']);
  });
});
