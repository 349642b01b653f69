// A cluster of cnm hosts on one machine: an underlay bridge in a namespace
// of its own, N "hosts" (namespaces with a veth on it, each its own VTEP
// address, each running a cnm daemon), and etcd (one member or three) in
// namespaces of their own on the same underlay. Nothing touches the root
// namespace; etcd is killed by its PID, its data dir removed.
import { startEtcd } from './etcd.ts';
import type { EtcdHandle, EtcdMember, EtcdTlsFiles } from './etcd.ts';
import { startTestDaemon } from './daemon.ts';
import type { DaemonHandle } from './daemon.ts';
import { TestNetns } from './netns.ts';

export const UNDERLAY = '192.168.77';
export const hostIp = (i: number): string => `${UNDERLAY}.${10 + i}`;
export const etcdIp = (j: number): string => `${UNDERLAY}.${2 + j}`;

export interface TestCluster {
  underlay: TestNetns;
  members: Array<EtcdMember & { ns: TestNetns }>;
  etcd: EtcdHandle[];
  hostNs: TestNetns[];
  hosts: DaemonHandle[];
  /** --cluster-store's value */
  store: string;
  /** the daemon args of host i */
  args(i: number): string[];
  /** cuts host i off the underlay (its port on the bridge down), or heals it */
  partition(i: number, cut: boolean): Promise<void>;
  /** restarts etcd member j on its data (after a kill) */
  restartEtcd(j: number): Promise<void>;
  destroy(): Promise<void>;
}

async function plug(underlay: TestNetns, ns: TestNetns, port: string, ip: string): Promise<void> {
  await underlay.sh(`ip link add ${port} type veth peer name eth0 netns ${ns.name} && ip link set ${port} master ul0 up`);
  await ns.sh(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`);
}

export async function startCluster(n: number, o: { etcdMembers?: number; tls?: EtcdTlsFiles } = {}): Promise<TestCluster> {
  const made: TestNetns[] = [];
  const etcd: EtcdHandle[] = [];
  const hosts: DaemonHandle[] = [];
  const destroy = async (): Promise<void> => {
    for (const h of hosts.splice(0)) await h.destroy().catch(() => undefined);
    for (const e of etcd.splice(0)) await e.stop();
    for (const ns of made.splice(0).reverse()) await ns.destroy();
  };
  try {
    const underlay = await TestNetns.create('ul');
    made.push(underlay);
    await underlay.sh('ip link add ul0 type bridge && ip link set ul0 up');
    const members: TestCluster['members'] = [];
    for (let j = 0; j < (o.etcdMembers ?? 1); j++) {
      const ns = await TestNetns.create(`etcd${j}`);
      made.push(ns);
      await plug(underlay, ns, `e${j}`, etcdIp(j));
      members.push({ name: `m${j}`, ip: etcdIp(j), ns });
    }
    // Members of a cluster start together: each waits for the others' votes.
    const started = await Promise.all(members.map((m) => startEtcd(m, { cluster: members, waitHealthy: members.length === 1, ...(o.tls ? { tls: o.tls } : {}) })));
    etcd.push(...started);
    if (members.length > 1) {
      const { waitHealthy } = await import('./etcd.ts');
      for (const [j, h] of started.entries()) await waitHealthy(h, members[j]!.ns);
    }
    const store = `etcd://${members.map((m) => `${m.ip}:2379`).join(',')}`;
    const hostNs: TestNetns[] = [];
    for (let i = 0; i < n; i++) {
      const ns = await TestNetns.create(`h${i}`);
      made.push(ns);
      await plug(underlay, ns, `u${i}`, hostIp(i));
      hostNs.push(ns);
    }
    // Host 0 names its interface, the others their address: both forms of --cluster-advertise.
    const tlsArgs = o.tls ? ['--cluster-store-opt', `kv.cacertfile=${o.tls.ca},kv.certfile=${o.tls.cert},kv.keyfile=${o.tls.key}`] : [];
    const args = (i: number): string[] => ['--cluster-store', store, ...tlsArgs, '--cluster-advertise', i === 0 ? 'eth0' : hostIp(i)];
    for (let i = 0; i < n; i++) hosts.push(await startTestDaemon({ ns: hostNs[i]!, args: args(i) }));
    return {
      underlay, members, etcd, hostNs, hosts, store, args,
      async partition(i, cut) { await underlay.sh(`ip link set u${i} ${cut ? 'down' : 'up'}`); },
      async restartEtcd(j) {
        const m = members[j]!;
        const old = etcd[j]!;
        await old.kill();
        etcd[j] = await startEtcd(m, { cluster: members, dataDir: old.dataDir, waitHealthy: members.length === 1 });
      },
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
