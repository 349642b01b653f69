// The responder end to end in process: query bytes in, response bytes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packet from 'dns-packet';
import type { Packet } from 'dns-packet';
import { DnsResponder, NameTable } from '../../src/dns/index.ts';

const CLIENT = '10.1.0.3';

function responder(): DnsResponder {
  const table = new NameTable({ ttl: 5 });
  table.addEndpoint({ endpointId: 'e1', sandboxId: 's1', networkId: 'n', networkName: 'front', names: ['web'], ipv4: '10.1.0.2', ipv6: 'fd00::2', internal: false });
  table.addEndpoint({ endpointId: 'e2', sandboxId: 's2', networkId: 'n', networkName: 'front', names: ['client'], ipv4: CLIENT, internal: false });
  for (let i = 0; i < 60; i++) {
    table.addEndpoint({ endpointId: `m${i}`, sandboxId: `m${i}`, networkId: 'n', networkName: 'front', names: [`m${i}`, 'many'], ipv4: `10.1.1.${i + 1}`, internal: false });
  }
  return new DnsResponder({ table });
}

// dns-packet decodes rcode, which its type declarations leave out.
type Decoded = packet.DecodedPacket & { rcode?: string };
const decode = (b: Buffer): Decoded => packet.decode(b) as Decoded;
const opt = (udpPayloadSize: number, ednsVersion = 0): packet.Answer => ({ type: 'OPT', name: '.', udpPayloadSize, ednsVersion } as packet.Answer);

function ask(r: DnsResponder, p: Packet, transport: 'udp' | 'tcp' = 'udp', client = CLIENT): Decoded {
  const out = r.handle(packet.encode(p), client, transport);
  assert.ok(out instanceof Buffer, 'answered synchronously');
  return decode(out);
}

const q = (name: string, type: packet.RecordType, extra: Partial<Packet> = {}): Packet =>
  ({ type: 'query', id: 4242, flags: packet.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });

test('A answer: ID, flags, question echoed with its case, TTL', () => {
  const res = ask(responder(), q('WeB', 'A'));
  assert.equal(res.id, 4242);
  assert.equal(res.type, 'response');
  assert.equal(res.rcode, 'NOERROR');
  assert.ok((res.flags ?? 0) & packet.RECURSION_AVAILABLE, 'RA set');
  assert.ok((res.flags ?? 0) & packet.RECURSION_DESIRED, 'RD copied');
  assert.equal(res.questions?.[0]?.name, 'WeB');
  assert.deepEqual(res.answers?.map((a) => [a.name, a.type, 'data' in a ? a.data : null, (a as { ttl?: number }).ttl]), [['WeB', 'A', '10.1.0.2', 5]]);
});

test('AAAA, NODATA and NXDOMAIN', () => {
  const r = responder();
  assert.deepEqual(ask(r, q('web', 'AAAA')).answers?.map((a) => 'data' in a && a.data), ['fd00::2']);
  const nodata = ask(r, q('client', 'AAAA'));
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.answers?.length, 0);
  assert.equal(ask(r, q('ghost.front', 'A')).rcode, 'NXDOMAIN');
});

test('PTR', () => {
  const res = ask(responder(), q('2.0.1.10.in-addr.arpa', 'PTR'));
  assert.deepEqual(res.answers?.map((a) => 'data' in a && a.data), ['web.front']);
});

test('unknown client and unforwardable names get REFUSED', () => {
  const r = responder();
  assert.equal(ask(r, q('web', 'A'), 'udp', '192.0.2.1').rcode, 'REFUSED');
  assert.equal(ask(r, q('example.com', 'A')).rcode, 'REFUSED', 'no forwarder configured');
});

test('EDNS0: OPT echoed, the client payload size honoured, TC when it does not fit', () => {
  const r = responder();
  const noEdns = ask(r, q('many', 'A'));
  assert.ok((noEdns.flags ?? 0) & packet.TRUNCATED_RESPONSE, '60 A records do not fit in 512 bytes');
  assert.equal(noEdns.answers?.length, 0);
  assert.equal(noEdns.questions?.[0]?.name, 'many');
  const edns = ask(r, q('many', 'A', { additionals: [opt(4096)] }));
  assert.ok(!((edns.flags ?? 0) & packet.TRUNCATED_RESPONSE));
  assert.equal(edns.answers?.length, 60);
  const o = edns.additionals?.find((a) => a.type === 'OPT');
  assert.ok(o && 'udpPayloadSize' in o && o.udpPayloadSize === 1232);
  const tcp = ask(r, q('many', 'A'), 'tcp');
  assert.equal(tcp.answers?.length, 60, 'TCP has no 512-byte limit');
  const small = ask(r, q('web', 'A', { additionals: [opt(100)] }));
  assert.equal(small.answers?.length, 1, 'sizes below 512 count as 512');
});

test('EDNS version 1 gets BADVERS', () => {
  const res = ask(responder(), q('web', 'A', { additionals: [opt(1232, 1)] }));
  const o = res.additionals?.find((a) => a.type === 'OPT') as { extendedRcode?: number } | undefined;
  assert.equal(o?.extendedRcode, 1, 'BADVERS = 16: upper bits 1 in OPT');
});

test('malformed queries: FORMERR or dropped, never a throw', () => {
  const r = responder();
  assert.equal(r.handle(Buffer.alloc(5), CLIENT, 'udp'), null, 'shorter than a header');
  const resp = packet.encode({ ...q('web', 'A'), type: 'response' });
  assert.equal(r.handle(resp, CLIENT, 'udp'), null, 'responses are not answered');
  const two = packet.encode({ type: 'query', id: 7, questions: [{ name: 'a', type: 'A' }, { name: 'b', type: 'A' }] });
  assert.equal(decode(r.handle(two, CLIENT, 'udp') as Buffer).rcode, 'FORMERR');
  const cut = packet.encode(q('web', 'A')).subarray(0, 15);
  const fe = r.handle(cut, CLIENT, 'udp') as Buffer;
  assert.equal(fe.readUInt16BE(0), 4242);
  assert.equal(fe.readUInt16BE(2) & 0xf, 1);
  const notify = packet.encode({ ...q('web', 'A'), flags: 4 << 11 }); // opcode 4, NOTIFY
  assert.equal(decode(r.handle(notify, CLIENT, 'udp') as Buffer).rcode, 'NOTIMP');
});

test('a label containing a dot is never one of our names', () => {
  const r = responder();
  // "web.front" as one label: 9 w e b . f r o n t
  const b = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9]), Buffer.from('web.front'), Buffer.from([0, 0, 1, 0, 1])]);
  assert.equal(decode(r.handle(b, CLIENT, 'udp') as Buffer).rcode, 'REFUSED');
});
