// Overlay networks on a 3-member etcd cluster: the leader is killed while
// two hosts create networks and connect containers. No acknowledged
// operation is lost (every one that succeeded is there, on both hosts and in
// etcd), none is half done (one that failed left nothing), and the hosts
// keep talking across the overlay. test/helpers/cluster.ts builds the hosts
// and the etcd members, each in a namespace of its own on one underlay.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { startCluster } from '../helpers/cluster.ts';
import type { TestCluster } from '../helpers/cluster.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { inSandbox, runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = skipUnlessCI('overlay on a 3-member etcd', privilegedSkipReason());

const ping = async (d: DaemonHandle, from: string, to: string): Promise<boolean> =>
  (await inSandbox(d, from, `ping -c 3 -i 0.2 -W 1 ${to}`)).code === 0;

describe('overlay on a 3-member etcd cluster', { skip }, () => {
  let c: TestCluster;
  let A: DaemonHandle;
  let B: DaemonHandle;

  before(async () => {
    c = await startCluster(2, { etcdMembers: 3 });
    [A, B] = c.hosts as [DaemonHandle, DaemonHandle];
  });
  after(async () => { await c?.destroy(); });

  /** The index of the member that leads now. */
  async function leader(): Promise<number> {
    const found = await waitFor(async () => {
      for (const [j, m] of c.members.entries()) {
        const r = await m.ns.sh(`ETCDCTL_API=3 etcdctl --endpoints ${c.etcd[j]!.url} endpoint status -w json`, { allowFail: true });
        if (r.code !== 0) continue;
        const [st] = JSON.parse(r.stdout) as Array<{ Status: { header: { member_id: number }; leader: number } }>;
        if (st && String(st.Status.header.member_id) === String(st.Status.leader)) return j + 1;
      }
      return 0;
    }, { what: 'an etcd leader', timeoutMs: 15_000 });
    return found - 1;
  }

  it('the leader killed mid-way: every acknowledged create and connect is there on both hosts, failed ones left nothing', async () => {
    await A.docker(['network', 'create', '-d', 'overlay', '--attachable', 'base']);
    await waitFor(async () => (await B.client.networkList()).some((n) => n.Name === 'base'), { what: 'base on B' });
    await runSandbox(A, 'a0', { network: 'base' });
    await runSandbox(B, 'b0', { network: 'base' });
    await waitFor(() => ping(A, 'a0', 'b0'), { what: 'a0 -> b0', timeoutMs: 15_000 });

    const done: string[] = [];
    const failed: Array<{ name: string; error: string }> = [];
    const ops = Array.from({ length: 16 }, (_, k) => `lc${k}`);
    let killed = -1;
    for (const [k, name] of ops.entries()) {
      if (k === 5) {
        killed = await leader();
        await c.etcd[killed]!.kill();
      }
      const h = k % 2 ? B : A;
      try {
        await h.client.networkCreate({ Name: name, Driver: 'overlay', Attachable: true } as never);
        await runSandbox(h, `s-${name}`, { network: name });
        done.push(name);
      } catch (e) {
        failed.push({ name, error: (e as Error).message });
      }
    }
    assert.ok(killed >= 0);
    // A quorum of two remains: after the election everything succeeds.
    assert.ok(done.length >= ops.length - 3, `at most the calls during the election fail: ${JSON.stringify(failed)}`);
    for (const f of failed) assert.match(f.error, /cluster store|unreachable|leader|conflict/i);
    for (const h of [A, B]) {
      await waitFor(async () => {
        const names = new Set((await h.client.networkList()).filter((n) => n.Scope === 'global').map((n) => n.Name));
        return done.every((n) => names.has(n)) && names;
      }, { what: () => `every acknowledged network on ${h === A ? 'A' : 'B'}`, timeoutMs: 20_000 });
    }
    for (const name of done) {
      const info = await waitFor(async () => {
        const i = await B.client.networkInspect(name);
        return Object.keys(i.Containers ?? {}).length === 1 && i;
      }, { what: `the endpoint on ${name} seen on B` }).catch(async (e: unknown) => {
        throw new Error(`${(e as Error).message}: B ${JSON.stringify((await B.client.networkInspect(name)).Containers)}; A ${JSON.stringify((await A.client.networkInspect(name)).Containers)}\nB's log:\n${B.logs().slice(-3000)}\nA's log:\n${A.logs().slice(-2000)}`);
      });
      assert.equal(Object.values(info.Containers ?? {})[0]?.Name, `s-${name}`);
    }
    // A failed create left no half network behind (the container may have failed after it: then it is there, empty).
    const live = (await c.members[(killed + 1) % 3]!.ns.sh(`ETCDCTL_API=3 etcdctl --endpoints ${c.etcd[(killed + 1) % 3]!.url} get --prefix --keys-only /cnm/v1/claims/network-name/`)).stdout;
    for (const name of done) assert.ok(live.includes(`network-name/${name}`), `${name} claimed in etcd`);
    assert.ok(await ping(B, 'b0', 'a0'), 'the hosts keep talking across the leader change');
    // The killed member comes back and catches up.
    await c.restartEtcd(killed);
    await A.docker(['network', 'create', '-d', 'overlay', 'after-rejoin']);
    await waitFor(async () => (await B.client.networkList()).some((n) => n.Name === 'after-rejoin'), { what: 'a create after the member rejoined, on B' });
  });
});
