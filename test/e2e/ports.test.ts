// Published ports through the daemon: reachable from the host (its address
// and 127.0.0.1), from a remote host, from other sandboxes and hairpin; a
// 127.0.0.1 binding is not reachable from outside; clashes are errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = skipUnlessCI('ports', privilegedSkipReason());
const SERVE = (port: number, word: string) => ['socat', `TCP-LISTEN:${port},fork,reuseaddr`, `SYSTEM:echo ${word}`];

describe(`published ports${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let remote: TestNetns;
  const fetchFrom = async (ns: TestNetns, ip: string, port: number) =>
    (await ns.sh(`socat -T2 - TCP:${ip}:${port},connect-timeout=2 </dev/null`, { allowFail: true })).stdout.trim();

  before(async () => {
    d = await startTestDaemon();
    remote = await TestNetns.create('remote');
    await d.ns.sh(`ip link add rh0 type veth peer name rh1 netns ${remote.name} && ip addr add 10.96.0.1/24 dev rh0 && ip link set rh0 up`);
    await remote.sh('ip addr add 10.96.0.2/24 dev rh1 && ip link set rh1 up && ip route add default via 10.96.0.1');
    await d.client.networkCreate({ Name: 'web' });
    await d.client.networkCreate({ Name: 'other' });
    const mk = async (name: string, net: string, cmd: string[], ports: Record<string, { HostIp?: string; HostPort?: string }[]>) => {
      const { Id } = await d.client.containerCreate(name, { Cmd: cmd, HostConfig: { NetworkMode: net, PortBindings: ports } });
      await d.client.containerStart(Id);
    };
    await mk('srv', 'web', SERVE(80, 'hello'), { '80/tcp': [{ HostPort: '8080' }] });
    await mk('local', 'web', SERVE(80, 'local'), { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '9090' }] });
    await mk('eph', 'web', SERVE(80, 'eph'), { '80/tcp': [{}] });
    await mk('client', 'other', ['sleep', 'infinity'], {});
    // The servers listen a moment after their start.
    await waitFor(async () => (await fetchFrom(d.ns, '127.0.0.1', 8080)) === 'hello' && (await fetchFrom(d.ns, '127.0.0.1', 9090)) === 'local',
      { what: 'srv and local to answer on 127.0.0.1:8080 and :9090', timeoutMs: 20_000 });
  });
  after(async () => {
    await d?.destroy();
    await remote?.destroy();
  });

  test('reachable from the host via its address and 127.0.0.1, and from a remote host', async () => {
    assert.equal(await fetchFrom(d.ns, '10.96.0.1', 8080), 'hello');
    assert.equal(await fetchFrom(d.ns, '127.0.0.1', 8080), 'hello');
    assert.equal(await fetchFrom(remote, '10.96.0.1', 8080), 'hello');
  });

  test('reachable from a sandbox on another network and from the sandbox itself (hairpin)', async () => {
    assert.equal((await inSandbox(d, 'client', 'socat -T2 - TCP:10.96.0.1:8080,connect-timeout=2 </dev/null')).stdout.trim(), 'hello');
    assert.equal((await inSandbox(d, 'srv', 'socat -T2 - TCP:10.96.0.1:8080,connect-timeout=2 </dev/null')).stdout.trim(), 'hello');
  });

  test('a 127.0.0.1 binding is reachable from the host only', async () => {
    assert.equal(await fetchFrom(d.ns, '127.0.0.1', 9090), 'local');
    assert.equal(await fetchFrom(remote, '10.96.0.1', 9090), '');
  });

  test('an omitted host port comes from 49153-65535 and shows in inspect', async () => {
    const info = await d.client.containerInspect('eph');
    const port = Number(info.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort);
    assert.ok(port >= 49153 && port <= 65535, `port ${port}`);
    assert.equal(await fetchFrom(remote, '10.96.0.1', port), 'eph');
    const ps = await d.docker(['port', 'eph']);
    assert.match(ps.stdout, new RegExp(`80/tcp -> 0\\.0\\.0\\.0:${port}`));
  });

  test('the container is not reachable directly from the remote host', async () => {
    const ip = (await d.client.containerInspect('srv')).NetworkSettings.Networks.web?.IPAddress ?? '';
    await remote.sh(`ip route add ${ip}/32 via 10.96.0.1`);
    assert.equal(await fetchFrom(remote, ip, 80), '');
  });

  test('a taken host port is a clear error and the sandbox does not start', async () => {
    const { Id } = await d.client.containerCreate('clash', { Cmd: SERVE(80, 'x'), HostConfig: { NetworkMode: 'web', PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } });
    await assert.rejects(d.client.containerStart(Id), /Bind for 0\.0\.0\.0:8080 failed: port is already allocated|port is already allocated/);
    assert.equal((await d.client.containerInspect(Id)).State.Running, false);
    assert.equal(await fetchFrom(d.ns, '127.0.0.1', 8080), 'hello');
  });

  test('stop releases the port; another sandbox can take it', async () => {
    await d.client.containerStop('srv', 1);
    await d.client.containerStart('clash');
    // Its server listens a moment after the start.
    await waitFor(async () => (await fetchFrom(d.ns, '127.0.0.1', 8080)) === 'x', { what: 'clash to answer on 127.0.0.1:8080', timeoutMs: 20_000 });
  });
});
