import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseGateway } from '../../src/core/gateway.ts';
import type { EndpointRecord, NetworkRecord } from '../../src/model/records.ts';

const net = (name: string, o: Partial<NetworkRecord> = {}): NetworkRecord => ({
  id: name, name, driver: 'bridge', created: '', scope: 'local', internal: false, attachable: false, ingress: false,
  enableIPv4: true, enableIPv6: false, ipamDriver: 'default', ipamOptions: {}, ipamConfigRequested: [], options: {}, labels: {},
  predefined: false, driverState: {}, ipv4: { subnet: '10.0.0.0/24', gateway: '10.0.0.1' }, ...o,
});
const ep = (networkId: string, o: Partial<EndpointRecord> = {}): EndpointRecord => ({
  id: `ep-${networkId}`, name: 's', networkId, sandboxId: 's', ifName: 'eth0', mac: '', aliases: [],
  gwPriority: 0, created: 0, ipv4: '10.0.0.2/24', ports: [], driverOpts: {}, driverState: {},
  gateway: { ipv4: '10.0.0.1', ipv6: o.ipv6 ? 'fd00::1' : null }, routes: [], dns: true, ...o,
});

test('GwPriority wins, then non-internal, then dual-stack, then the name', () => {
  const a = { ep: ep('a'), net: net('a') };
  const b = { ep: ep('b', { gwPriority: 5 }), net: net('b') };
  assert.equal(chooseGateway([a, b], 4)?.net.name, 'b');
  const c = { ep: ep('c', { ipv6: 'fd00::2/64' }), net: net('c', { ipv6: { subnet: 'fd00::/64', gateway: 'fd00::1' } }) };
  assert.equal(chooseGateway([a, c], 4)?.net.name, 'c', 'dual-stack before name order');
  const z = { ep: ep('z'), net: net('z') };
  assert.equal(chooseGateway([z, a], 4)?.net.name, 'a', 'name order last');
});

test('internal networks and endpoints without the family give no gateway', () => {
  // The bridge driver's join gives an internal network's endpoint no gateway.
  const i = { ep: ep('i', { gwPriority: 100, gateway: { ipv4: null, ipv6: null } }), net: net('i', { internal: true }) };
  assert.equal(chooseGateway([i], 4), null);
  const v4only = { ep: ep('a'), net: net('a') };
  assert.equal(chooseGateway([v4only], 6), null);
  assert.equal(chooseGateway([], 4), null);
});
