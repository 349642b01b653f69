// The "none" network (driver "null"): a namespace with loopback only.
import { invalid } from '../model/errors.ts';
import type { NetworkDriver } from './driver.ts';

export const nullDriver: NetworkDriver = {
  name: 'null',
  capabilities: { scope: 'local', ownNamespace: true, endpoints: false, singleton: true, combinable: false, portPublishing: false, dns: false },
  async validateNetwork(net) {
    if (net.ipv4 || net.ipv6) throw invalid('the null driver takes no IPAM configuration');
    return {};
  },
  async createNetwork() {},
  // No kernel objects of its own: nothing to rebuild at start-up.
  networkIntact: () => true,
  async deleteNetwork() {},
  async createEndpoint() {
    throw invalid('the none network gives no endpoints');
  },
  async join() {
    throw invalid('the none network gives no endpoints');
  },
  async leave() {},
  ownedLinks: () => [],
};
