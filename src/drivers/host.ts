// The "host" network: the sandbox shares the daemon's namespace, so there is
// nothing to create; ports a process opens are the host's ports.
import { invalid } from '../model/errors.ts';
import type { NetworkDriver } from './driver.ts';

export const hostDriver: NetworkDriver = {
  name: 'host',
  capabilities: { scope: 'local', ownNamespace: false, endpoints: false, singleton: true, combinable: false, portPublishing: false, dns: false },
  async validateNetwork(net) {
    if (net.ipv4 || net.ipv6) throw invalid('the host driver takes no IPAM configuration');
    return {};
  },
  async createNetwork() {},
  // No kernel objects of its own: nothing to rebuild at start-up.
  networkIntact: () => true,
  async deleteNetwork() {},
  async createEndpoint() {
    throw invalid('the host network gives no endpoints');
  },
  async join() {
    throw invalid('the host network gives no endpoints');
  },
  async leave() {},
  ownedLinks: () => [],
};
