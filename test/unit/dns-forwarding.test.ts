// The responder's forwarding decisions, with a fake forwarder (no sockets),
// and the forwarder's own limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packet from 'dns-packet';
import type { Packet } from 'dns-packet';
import { DnsResponder, Forwarder, NameTable, UpstreamConfig } from '../../src/dns/index.ts';
import type { Upstream } from '../../src/dns/index.ts';

type Decoded = packet.DecodedPacket & { rcode?: string };
const decode = (b: Buffer | null): Decoded => packet.decode(b as Buffer) as Decoded;

interface Call { servers: Upstream[]; clientTcp: boolean; id: number }

function setup(reply: (query: Buffer) => Buffer | null): { r: DnsResponder; calls: Call[]; upstreams: UpstreamConfig } {
  const table = new NameTable();
  table.addEndpoint({ endpointId: 'e1', sandboxId: 's1', networkId: 'n1', networkName: 'ext', names: ['a'], ipv4: '10.0.0.2', internal: false });
  table.addEndpoint({ endpointId: 'e2', sandboxId: 's2', networkId: 'n2', networkName: 'int', names: ['b'], ipv4: '10.1.0.2', internal: true });
  const upstreams = new UpstreamConfig(null);
  upstreams.setDaemonServers(['192.0.2.53']);
  const calls: Call[] = [];
  const forwarder = {
    forward: async (query: Buffer, _questionEnd: number, servers: Upstream[], clientTcp: boolean): Promise<Buffer | null> => {
      calls.push({ servers, clientTcp, id: query.readUInt16BE(0) });
      return reply(query);
    },
  };
  return { r: new DnsResponder({ table, forwarder, upstreams }), calls, upstreams };
}

const q = (name: string, id = 777): Buffer => packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
const answerTo = (query: Buffer, n: number): Buffer => {
  const dq = packet.decode(query);
  return packet.encode({
    type: 'response', id: 4321, flags: packet.RECURSION_AVAILABLE | packet.RECURSION_DESIRED, questions: dq.questions,
    answers: Array.from({ length: n }, (_, i) => ({ type: 'A', name: dq.questions?.[0]?.name ?? '', ttl: 60, data: `203.0.113.${i}` })),
  } as Packet);
};

test('names that are not ours are forwarded; the reply gets the client\'s ID back', async () => {
  const { r, calls } = setup((query) => answerTo(query, 1));
  const res = decode(await r.handle(q('example.com'), '10.0.0.2', 'udp'));
  assert.equal(res.id, 777);
  assert.deepEqual(res.answers?.map((a) => 'data' in a && a.data), ['203.0.113.0']);
  assert.deepEqual(calls.map((c) => [c.servers, c.clientTcp]), [[[{ address: '192.0.2.53', port: 53 }], false]]);
});

test('all upstreams failed: SERVFAIL', async () => {
  const { r } = setup(() => null);
  const res = decode(await r.handle(q('example.com'), '10.0.0.2', 'udp'));
  assert.equal(res.rcode, 'SERVFAIL');
  assert.equal(res.questions?.[0]?.name, 'example.com');
});

test('a forwarded reply too big for the client\'s UDP limit is truncated; over TCP it is whole', async () => {
  const { r, calls } = setup((query) => answerTo(query, 60));
  const udp = decode(await r.handle(q('big.example'), '10.0.0.2', 'udp'));
  assert.ok((udp.flags ?? 0) & packet.TRUNCATED_RESPONSE);
  assert.equal(udp.answers?.length, 0);
  assert.equal(udp.questions?.[0]?.name, 'big.example');
  const tcp = decode(await r.handle(q('big.example'), '10.0.0.2', 'tcp'));
  assert.equal(tcp.answers?.length, 60);
  assert.equal(calls[1]?.clientTcp, true, 'the forwarder knows the client is on TCP');
});

test('per-sandbox servers win over the daemon-wide list', async () => {
  const { r, calls, upstreams } = setup((query) => answerTo(query, 1));
  upstreams.setSandboxServers('s1', ['198.51.100.1:5353']);
  await r.handle(q('example.com'), '10.0.0.2', 'udp');
  assert.deepEqual(calls[0]?.servers, [{ address: '198.51.100.1', port: 5353 }]);
});

test('internal-only sandboxes and unknown clients are never forwarded', () => {
  const { r, calls } = setup((query) => answerTo(query, 1));
  assert.equal(decode(r.handle(q('example.com'), '10.1.0.2', 'udp') as Buffer).rcode, 'REFUSED');
  assert.equal(decode(r.handle(q('example.com'), '10.9.9.9', 'udp') as Buffer).rcode, 'REFUSED');
  assert.equal(decode(r.handle(q('b'), '10.1.0.2', 'udp') as Buffer).answers?.length, 1, 'its own names still resolve');
  assert.equal(calls.length, 0);
});

test('Forwarder: nothing configured or too many in flight gives null at once', async () => {
  const f = new Forwarder({ maxInFlight: 0 });
  assert.equal(await f.forward(q('x'), 17, [{ address: '192.0.2.1', port: 53 }], false), null);
  const g = new Forwarder();
  assert.equal(await g.forward(q('x'), 17, [], false), null);
  assert.equal(g.inFlight, 0);
  f.close();
  g.close();
});
