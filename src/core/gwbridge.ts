// External connectivity for overlay containers, as Docker's docker_gwbridge:
// an overlay network offers no gateway (its segment spans hosts; no host
// owns its gateway address), so a sandbox with an overlay endpoint also gets
// an endpoint on a local bridge network with NAT, `cnm_gwbridge`, made on
// demand on each host. That endpoint carries the default route and the
// sandbox's published ports, so -p works on the host where the container
// runs. It is not one of the sandbox's attachments (inspect does not list
// it, as Docker hides docker_gwbridge's), and it goes when the sandbox's
// last overlay endpoint goes.
import type { Ctx } from './context.ts';
import { attach, detachWhole } from './endpoint-ops.ts';
import { createNetwork } from './network-ops.ts';
import type { NetnsHandle } from '../netlink/index.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/records.ts';

export const GWBRIDGE = 'cnm_gwbridge';

const gwbridgeOf = (ctx: Ctx): NetworkRecord | undefined =>
  [...ctx.state.networks.values()].find((n) => n.name === GWBRIDGE && n.scope === 'local');

const hasGlobal = (ctx: Ctx, sbx: SandboxRecord, without?: string): boolean =>
  ctx.state.endpointsOf(sbx.id).some((e) => e.id !== without && ctx.state.networks.get(e.networkId)?.scope === 'global');

/** The sandbox's cnm_gwbridge endpoint, made (and the network too) when it has an overlay endpoint and none yet. */
export async function ensureGwbridge(ctx: Ctx, sbx: SandboxRecord, ns: NetnsHandle): Promise<EndpointRecord | null> {
  if (!hasGlobal(ctx, sbx)) return null;
  const net = gwbridgeOf(ctx) ?? await createNetwork(ctx, {
    name: GWBRIDGE, driver: 'bridge', internal: false, attachable: false, ingress: false, configOnly: false, configFrom: '',
    enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamConfig: [], ipamOptions: {},
    // docker_gwbridge's settings: NAT out, no traffic between its members.
    options: { 'com.docker.network.bridge.name': GWBRIDGE, 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.enable_ip_masquerade': 'true' },
    labels: {},
  });
  if (ctx.state.endpointsOf(sbx.id).some((e) => e.networkId === net.id)) return null;
  return attach(ctx, sbx, { networkId: net.id, aliases: [], gwPriority: 0, driverOpts: {} }, ns);
}

/** Removes the sandbox's cnm_gwbridge endpoint once it has no overlay endpoint left (`without`: one being removed). */
export async function dropGwbridge(ctx: Ctx, sbx: SandboxRecord, ns: NetnsHandle, without?: string): Promise<void> {
  const net = gwbridgeOf(ctx);
  if (!net || hasGlobal(ctx, sbx, without)) return;
  const ep = ctx.state.endpointsOf(sbx.id).find((e) => e.networkId === net.id);
  if (ep) await detachWhole(ctx, ep, ns, []);
}
