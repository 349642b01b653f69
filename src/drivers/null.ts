// The "none" network (driver "null"): a namespace with loopback only.
import type { NetworkDriver } from './driver.ts';

export const nullDriver: NetworkDriver = {
  name: 'null',
  capabilities: { ownNamespace: true, endpoints: false, singleton: true, combinable: false, dns: false },
  prepareNetwork() {},
  async createNetwork() {},
  async deleteNetwork() {},
  async join() {},
  async leave() {},
  ownedLinks: () => [],
};
