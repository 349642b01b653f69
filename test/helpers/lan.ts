// A "LAN" for the macvlan/ipvlan/DHCP tests: a switch (a bridge in a
// namespace of its own), a link into it from the daemon's namespace to serve
// as the networks' parent, and a "LAN host" namespace plugged into it.
// Everything lives in test namespaces; nothing touches the root namespace.
import type { DaemonHandle } from './daemon.ts';
import { TestNetns } from './netns.ts';

export interface Lan {
  /** The switch's namespace; the bridge in it is `sw0`. */
  sw: TestNetns;
  /** A machine on the LAN, with `hostIp` on its eth0. */
  host: TestNetns;
  hostIp: string;
  /** The parent link's name in the daemon's namespace. */
  parent: string;
  /** Plugs another machine into the switch; returns its namespace (eth0, address given). */
  addHost(label: string, cidr?: string): Promise<TestNetns>;
  destroy(): Promise<void>;
}

/**
 * `prefix`: the LAN's first three octets (e.g. "192.168.77"); the switch
 * routes as .1, the LAN host is .100. `parent`: the link made in the
 * daemon's namespace (default lan0). `hairpin`: the switch sends frames back
 * out of the port they came in by (what a VEPA switch does).
 */
export async function makeLan(d: DaemonHandle, o: { prefix: string; parent?: string; hairpin?: boolean }): Promise<Lan> {
  const parent = o.parent ?? 'lan0';
  const sw = await TestNetns.create('lan');
  const made: TestNetns[] = [sw];
  let port = 0;
  const plug = async (ns: TestNetns, ifName: string, cidr?: string): Promise<void> => {
    const p = `p${port++}`;
    await ns.sh(`ip link add ${ifName} type veth peer name ${p} netns ${sw.name}`);
    await sw.sh(`ip link set ${p} master sw0 up${o.hairpin ? ` && bridge link set dev ${p} hairpin on` : ''}`);
    if (cidr) await ns.sh(`ip addr add ${cidr} dev ${ifName}`);
    await ns.sh(`ip link set ${ifName} up`);
  };
  try {
    await sw.sh(`ip link add sw0 type bridge && ip link set sw0 up && ip addr add ${o.prefix}.1/24 dev sw0`);
    await plug(d.ns, parent);
    const host = await TestNetns.create('lanhost');
    made.push(host);
    await plug(host, 'eth0', `${o.prefix}.100/24`);
    await host.sh(`ip route add default via ${o.prefix}.1`);
    return {
      sw, host, hostIp: `${o.prefix}.100`, parent,
      async addHost(label, cidr) {
        const ns = await TestNetns.create(label);
        made.push(ns);
        await plug(ns, 'eth0', cidr);
        return ns;
      },
      async destroy() {
        for (const ns of made.reverse()) await ns.destroy();
        await d.ns.sh(`ip link del ${parent}`, { allowFail: true });
      },
    };
  } catch (e) {
    for (const ns of made.reverse()) await ns.destroy();
    throw e;
  }
}
