// The kernel work of a bridge endpoint, alone: what a connect cannot do
// without. The same end state as the bridge driver's join plus the core's
// default route: a veth born with its peer in the sandbox as eth1 and its
// host end in the bridge; the host end without IPv6, marked, up and
// hairpinned; the peer's EUI-64 link-local mode, address and up flag; the
// default route. Written
// with the fewest round trips the netlink layer allows, so it is the floor
// that `connect` is measured against ("within 1.5x of the bare attach").
import { randomBytes } from 'node:crypto';
import { Netns } from '../../src/netlink/index.ts';

export interface BareAttach {
  /** One attach; returns its milliseconds. Links stay until close(): a
   *  veth's deletion holds the kernel's rtnl lock for 15-20 ms, which would
   *  land on whatever is measured next. */
  once(): Promise<number>;
  close(): Promise<void>;
}

export async function bareAttach(): Promise<BareAttach> {
  const tag = randomBytes(3).toString('hex');
  const host = await Netns.create(`/run/netns/cnmt-bare-h-${tag}`);
  const sbx = await Netns.create(`/run/netns/cnmt-bare-s-${tag}`);
  const br = await host.rtnl.linkAdd({ kind: 'bridge', name: 'br-bare', up: true, mac: '02:42:ac:1f:00:01' });
  await host.rtnl.addrAdd(br.index, '10.201.0.1/24');
  let n = 0;
  return {
    async once() {
      const name = `vb${n++}`;
      const t0 = performance.now();
      const link = await host.rtnl.linkAdd({ kind: 'veth', name, master: br.index, peer: { name: `e${n}`, netns: sbx, mac: '02:42:0a:c9:00:02' } });
      const peer = link.peerIndex ?? `e${n}`;
      await Promise.all([
        (async () => {
          await host.sysctlSet(`net/ipv6/conf/${name}/disable_ipv6`, '1');
          await host.rtnl.batch((b) => b.linkSet(link.index, { alias: `bare:${name}`, up: true }).bridgePortSet(link.index, { hairpin: true }));
        })(),
        sbx.rtnl.batch((b) => b.linkSet(peer, { addrGenMode: 'eui64' }).addrAdd(peer, '10.201.0.2/24').linkSet(peer, { up: true })),
      ]);
      await sbx.rtnl.routeReplace({ dst: 'default', gateway: '10.201.0.1', dev: peer });
      return performance.now() - t0;
    },
    async close() {
      // The namespaces go, and their links with them, in one go.
      host.close();
      sbx.close();
      await Netns.remove(host.path).catch(() => undefined);
      await Netns.remove(sbx.path).catch(() => undefined);
    },
  };
}
