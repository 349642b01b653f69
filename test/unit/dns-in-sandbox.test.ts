// The embedded DNS inside a sandbox (macvlan, ipvlan: 127.0.0.11 in its
// namespace) without sockets: a listener of one sandbox answers every query
// as that sandbox's, with the scoping and upstream rules of the gateway
// listeners; the daemon's hooks open it with the sandbox's first such
// endpoint, close it with the last, and point resolv.conf at it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packet from 'dns-packet';
import { DnsResponder, NameTable, UpstreamConfig, createResolver } from '../../src/dns/index.ts';
import type { Upstream } from '../../src/dns/index.ts';
import { SANDBOX_RESOLVER, dnsHooks } from '../../src/daemon/dns-hooks.ts';
import type { SandboxSockets } from '../../src/daemon/dns-hooks.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { bridgeDriver } from '../../src/drivers/bridge/driver.ts';
import type { NetworkDriver } from '../../src/drivers/driver.ts';
import type { Logger } from '../../src/core/context.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../src/model/records.ts';

type Decoded = packet.DecodedPacket & { rcode?: string };
const decode = (b: Buffer | null): Decoded => packet.decode(b as Buffer) as Decoded;
const q = (name: string): Buffer => packet.encode({ type: 'query', id: 99, flags: packet.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
const answers = (b: Buffer | null): string[] => (decode(b).answers ?? []).map((a) => String((a as { data?: unknown }).data));

// s1 on lan (macvlan-like) and br; s2 on br; s3 on other; s4 on an internal network only.
function table(): NameTable {
  const t = new NameTable();
  t.addEndpoint({ endpointId: 'e1', sandboxId: 's1', networkId: 'lan', networkName: 'lan', names: ['one'], ipv4: '192.168.1.10', internal: false });
  t.addEndpoint({ endpointId: 'e1b', sandboxId: 's1', networkId: 'br', networkName: 'br', names: ['one'], ipv4: '10.5.0.2', internal: false });
  t.addEndpoint({ endpointId: 'e2', sandboxId: 's2', networkId: 'br', networkName: 'br', names: ['two', 'db'], ipv4: '10.5.0.3', internal: false });
  t.addEndpoint({ endpointId: 'e3', sandboxId: 's3', networkId: 'other', networkName: 'other', names: ['three'], ipv4: '10.6.0.2', internal: false });
  t.addEndpoint({ endpointId: 'e4', sandboxId: 's4', networkId: 'int', networkName: 'int', names: ['four'], ipv4: '10.7.0.2', internal: true });
  return t;
}

test('lookupSandbox: the sandbox\'s networks only, whatever the source address', () => {
  const t = table();
  assert.equal(t.lookupSandbox('s1', 'two', 1).status, 'answer');
  assert.equal(t.lookupSandbox('s1', 'db.br', 1).status, 'answer');
  assert.equal(t.lookupSandbox('s1', 'one.lan', 1).status, 'answer');
  assert.deepEqual(t.lookupSandbox('s1', 'three', 1), { status: 'not-ours', forward: true, sandboxId: 's1' }, 'another network\'s name is not ours');
  assert.equal(t.lookupSandbox('s1', 'nope.lan', 1).status, 'nxdomain');
  assert.deepEqual(t.lookupSandbox('s4', 'x.example', 1), { status: 'not-ours', forward: false, sandboxId: 's4' }, 'internal only: no forwarding');
  assert.equal(t.lookupSandbox('gone', 'two', 1).status, 'unknown-client');
  t.removeEndpoint('e1b');
  assert.equal(t.lookupSandbox('s1', 'two', 1).status, 'not-ours', 'after a disconnect the scope shrinks');
});

test('handleAs: same answers and upstreams as by address; REFUSED for internal-only and unknown sandboxes', async () => {
  const upstreams = new UpstreamConfig(null);
  upstreams.setDaemonServers(['192.0.2.53']);
  upstreams.setSandboxServers('s1', ['198.51.100.1']);
  const asked: Upstream[][] = [];
  const forwarder = {
    forward: async (query: Buffer, _end: number, servers: Upstream[]): Promise<Buffer | null> => {
      asked.push(servers);
      const dq = packet.decode(query);
      return packet.encode({ type: 'response', id: 1, flags: packet.RECURSION_AVAILABLE, questions: dq.questions,
        answers: [{ type: 'A', name: dq.questions?.[0]?.name ?? '', ttl: 60, data: '203.0.113.5' }] });
    },
  };
  const r = new DnsResponder({ table: table(), forwarder, upstreams });
  assert.deepEqual(answers(r.handleAs(q('two'), 's1', 'udp') as Buffer), ['10.5.0.3']);
  assert.deepEqual(r.handleAs(q('two'), 's1', 'tcp'), r.handle(q('two'), '10.5.0.2', 'tcp'), 'as the gateway listener answers that sandbox');
  assert.deepEqual(answers(await r.handleAs(q('example.test'), 's1', 'udp')), ['203.0.113.5']);
  assert.deepEqual(asked.pop(), [{ address: '198.51.100.1', port: 53 }], 'the sandbox\'s own --dns servers');
  assert.equal(decode(await r.handleAs(q('example.test'), 's4', 'udp')).rcode, 'REFUSED');
  assert.equal(decode(await r.handleAs(q('two'), 'gone', 'udp')).rcode, 'REFUSED');
  assert.equal(asked.length, 0);
});

// The hooks, with a driver that asks for the resolver inside the sandbox.
const lanDriver = { ...bridgeDriver, name: 'lan', capabilities: { ...bridgeDriver.capabilities, portPublishing: false, dnsInSandbox: true } } as NetworkDriver;
const net = (id: string, driver: string, gateway: string): NetworkRecord =>
  ({ id, name: id, driver, predefined: false, internal: false, ipv4: { subnet: `${gateway}/24`, gateway } } as unknown as NetworkRecord);
const ep = (id: string, networkId: string, ipv4: string): EndpointRecord =>
  ({ id, networkId, sandboxId: 'sb1', aliases: [], ipv4: `${ipv4}/24`, dns: true } as unknown as EndpointRecord);
const sbx = { id: 'sb1', name: 'c1', hostname: 'c1', dns: [], netnsPath: '/x', pid: 0 } as unknown as SandboxRecord;
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function world(sockets: SandboxSockets): { hooks: ReturnType<typeof dnsHooks>; log: string[]; warnings: string[] } {
  const dns = createResolver({ resolvConfPath: null });
  const log: string[] = [];
  dns.server.addSandbox = async (id, fds) => { log.push(`open ${id} ${fds.address}:${fds.port} udp=${fds.udp} tcp=${fds.tcp}`); };
  dns.server.removeSandbox = async (id) => { log.push(`close ${id}`); };
  dns.server.addAddress = async () => undefined;
  const warnings: string[] = [];
  const hooks = dnsHooks(dns, new DriverRegistry([bridgeDriver, lanDriver]), { ...quiet, warn: (m) => warnings.push(m) }, sockets);
  return { hooks, log, warnings };
}

test('hooks: the first dnsInSandbox endpoint opens the listener in the sandbox, the last closes it; resolv.conf names 127.0.0.11', async () => {
  const made: string[] = [];
  const { hooks, log } = world(async (s, address, port) => { made.push(`${s.netnsPath} ${address}:${port}`); return { udp: 7, tcp: 8 }; });
  const br = net('br', 'bridge', '10.5.0.1'), lan1 = net('lan1', 'lan', '192.168.1.1'), lan2 = net('lan2', 'lan', '192.168.2.1');
  const b = ep('eb', 'br', '10.5.0.2'), l1 = ep('el1', 'lan1', '192.168.1.10'), l2 = ep('el2', 'lan2', '192.168.2.10');
  await hooks.endpointAdded?.(b, br, sbx);
  assert.deepEqual(log, [], 'a bridge endpoint is served on its gateway');
  assert.equal(hooks.resolverFor?.(sbx, [{ ep: b, net: br }]), '10.5.0.1');
  await hooks.endpointAdded?.(l1, lan1, sbx);
  await hooks.endpointAdded?.(l2, lan2, sbx);
  assert.deepEqual(made, [`/x ${SANDBOX_RESOLVER}:53`]);
  assert.deepEqual(log, ['open sb1 127.0.0.11:53 udp=7 tcp=8'], 'one listener per sandbox');
  assert.equal(hooks.resolverFor?.(sbx, [{ ep: b, net: br }, { ep: l1, net: lan1 }]), SANDBOX_RESOLVER, 'the listener inside wins over a bridge that comes first');
  await hooks.endpointRemoved?.(l1, lan1, sbx);
  assert.deepEqual(log.length, 1, 'still one such endpoint');
  await hooks.endpointRemoved?.(l2, lan2, sbx);
  assert.deepEqual(log.slice(1), ['close sb1']);
  await hooks.endpointRemoved?.(b, br, sbx);
  assert.deepEqual(log.slice(2), []);
});

test('hooks: a listener that cannot open is a warning, not a failed connect', async () => {
  const { hooks, log, warnings } = world(async () => { throw new Error('EADDRINUSE'); });
  const lan1 = net('lan1', 'lan', '192.168.1.1');
  await hooks.endpointAdded?.(ep('el1', 'lan1', '192.168.1.10'), lan1, sbx);
  assert.deepEqual(log, []);
  assert.match(warnings.join('\n'), /cannot listen on 127\.0\.0\.11 in the namespace of c1: EADDRINUSE/);
});
