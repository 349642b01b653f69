// Isolation through the daemon: a reachability matrix over a normal, an
// internal and an ICC-off network (TCP, UDP and ICMP per ordered pair), the
// outside world through NAT, and the rules coming back after a flush.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox, ipOf, runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = skipUnlessCI('isolation', privilegedSkipReason());
// Each sandbox answers TCP and UDP on port 7 with its name.
const ECHO = (name: string) => ['sh', '-c', `socat TCP-LISTEN:7,fork,reuseaddr SYSTEM:"echo ${name}" & socat UDP-RECVFROM:7,fork SYSTEM:"echo ${name}" & wait`];

describe(`isolation through the daemon${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let world: TestNetns;
  const boxes: { name: string; net: string }[] = [
    { name: 'n1', net: 'normal' }, { name: 'n2', net: 'normal' },
    { name: 'i1', net: 'sealed' }, { name: 'i2', net: 'sealed' },
    { name: 'q1', net: 'quiet' }, { name: 'q2', net: 'quiet' },
  ];
  const probe = async (from: string, ip: string) => {
    const r = await inSandbox(d, from, [
      `t=$(socat -T1 - TCP:${ip}:7,connect-timeout=1 </dev/null 2>/dev/null)`,
      `u=$(echo x | socat -T1 - UDP:${ip}:7 2>/dev/null)`,
      `ping -c1 -W1 ${ip} >/dev/null 2>&1 && i=ok || i=no`,
      'echo "$t|$u|$i"'].join('; '));
    const [t, u, i] = r.stdout.trim().split('|');
    return { tcp: !!t, udp: !!u, icmp: i === 'ok' };
  };

  before(async () => {
    d = await startTestDaemon();
    world = await TestNetns.create('world');
    await d.ns.sh(`ip link add w0 type veth peer name w1 netns ${world.name} && ip addr add 198.51.100.1/24 dev w0 && ip link set w0 up`);
    await world.sh('ip addr add 198.51.100.2/24 dev w1 && ip link set w1 up');
    world.spawn('socat', ['TCP-LISTEN:80,fork,reuseaddr', 'SYSTEM:echo $SOCAT_PEERADDR']);
    await d.client.networkCreate({ Name: 'normal' });
    await d.client.networkCreate({ Name: 'sealed', Internal: true });
    await d.client.networkCreate({ Name: 'quiet', Options: { 'com.docker.network.bridge.enable_icc': 'false' } });
    for (const b of boxes) await runSandbox(d, b.name, { network: b.net, cmd: ECHO(b.name) });
    // Each echo server listens (TCP and UDP port 7) a moment after its start.
    for (const b of boxes) {
      await waitFor(async () => (await inSandbox(d, b.name, "ss -Hltn 'sport = :7' | grep -q . && ss -Hlun 'sport = :7' | grep -q .")).code === 0,
        { what: `${b.name}'s echo servers to listen on port 7`, timeoutMs: 20_000 });
    }
  });
  after(async () => {
    await d?.destroy();
    await world?.destroy();
  });

  test('reachability matrix: only members of the same network with ICC on', async () => {
    const ips = new Map<string, string>();
    for (const b of boxes) ips.set(b.name, await ipOf(d, b.name, b.net));
    const wrong: string[] = [];
    for (const a of boxes) {
      for (const b of boxes) {
        if (a === b) continue;
        const want = a.net === b.net && a.net !== 'quiet';
        let got = await probe(a.name, ips.get(b.name) ?? '');
        // A loaded machine can lose a first datagram (ARP still resolving):
        // a pair that should talk gets a second try. One that should not
        // talk gets none: a single packet through is a failure.
        if (want && !(got.tcp && got.udp && got.icmp)) got = await probe(a.name, ips.get(b.name) ?? '');
        for (const proto of ['tcp', 'udp', 'icmp'] as const) {
          if (got[proto] !== want) wrong.push(`${a.name} -> ${b.name} ${proto}: ${got[proto]} (want ${want})`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('outbound traffic is masqueraded; internal networks have no way out', async () => {
    const seen = (await inSandbox(d, 'n1', 'socat -T2 - TCP:198.51.100.2:80,connect-timeout=2 </dev/null')).stdout.trim();
    assert.equal(seen, '198.51.100.1', 'the world sees the host address');
    const sealed = await inSandbox(d, 'i1', 'socat -T2 - TCP:198.51.100.2:80,connect-timeout=2 </dev/null');
    assert.equal(sealed.stdout.trim(), '');
  });

  test('after `nft flush ruleset` the rules come back by themselves', async () => {
    await d.ns.sh('nft flush ruleset');
    const tables = await waitFor(async () => {
      const t = (await d.ns.sh('nft list tables')).stdout;
      return /table inet cnm/.test(t) && /table bridge cnm/.test(t) && t;
    }, { what: "cnm's tables to come back after the flush" });
    assert.match(tables, /table inet cnm/);
    assert.match(tables, /table bridge cnm/);
    const n2 = await ipOf(d, 'n2', 'normal');
    const i1 = await ipOf(d, 'i1', 'sealed');
    assert.equal((await probe('n1', n2)).tcp, true);
    assert.equal((await probe('n1', i1)).tcp, false, 'isolation is back too');
    assert.equal((await inSandbox(d, 'n1', 'socat -T2 - TCP:198.51.100.2:80,connect-timeout=2 </dev/null')).stdout.trim(), '198.51.100.1');
    const doc = await d.client.doctor();
    assert.equal(doc.Ok, true, JSON.stringify(doc));
  });
});
