// GET /cnm/doctor (cnm's own route): drift between the store, the kernel
// and the firewall, read only.
import type { Controller } from '../../core/controller.ts';
import type { Firewall } from '../../firewall/index.ts';
import type { Route } from '../router.ts';

export function doctorRoutes(ctl: Controller, fw: Firewall): Route[] {
  return [{
    method: 'GET', path: '/cnm/doctor', handler: async () => {
      const [kernel, firewall] = await Promise.all([ctl.checkKernel(), fw.drift()]);
      return { status: 200, json: { Ok: kernel.ok && firewall.ok, Kernel: kernel, Firewall: firewall } };
    },
  }];
}
