// The "host" network: the sandbox shares the daemon's namespace, so there is
// nothing to create; ports a process opens are the host's ports.
import type { NetworkDriver } from './driver.ts';

export const hostDriver: NetworkDriver = {
  name: 'host',
  capabilities: { ownNamespace: false, endpoints: false, singleton: true, combinable: false, dns: false },
  prepareNetwork() {},
  async createNetwork() {},
  async deleteNetwork() {},
  async join() {},
  async leave() {},
  ownedLinks: () => [],
};
