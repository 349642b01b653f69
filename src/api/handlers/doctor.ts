// GET /cnm/doctor (cnm's own route): drift between the store, the kernel
// and the firewall, and state of other cnm instances found in this daemon's
// exec root; read only.
import type { Controller } from '../../core/controller.ts';
import type { Firewall } from '../../firewall/index.ts';
import type { Route } from '../router.ts';
import type { ClusterStatus } from '../../cluster/cluster.ts';
import { clusterJson } from './system.ts';

export function doctorRoutes(ctl: Controller, fw: Firewall, foreign: () => Promise<string[]> = async () => [], cluster?: () => ClusterStatus): Route[] {
  return [{
    method: 'GET', path: '/cnm/doctor', handler: async () => {
      const [kernel, firewall, other] = await Promise.all([ctl.checkKernel(), fw.drift(), foreign()]);
      const f = { ok: other.length === 0, problems: other };
      const c = cluster?.();
      const cl = c ? { ok: c.reachable, problems: c.reachable ? [] : [`etcd unreachable since ${c.unreachableSince ?? '?'}${c.lastError ? `: ${c.lastError}` : ''}`], ...clusterJson(c) } : undefined;
      return { status: 200, json: { Ok: kernel.ok && firewall.ok && f.ok && (cl?.ok ?? true), Kernel: kernel, Firewall: firewall, Foreign: f, ...(cl ? { Cluster: cl } : {}) } };
    },
  }];
}
