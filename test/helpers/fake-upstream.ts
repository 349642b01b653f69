// A fake "internet" resolver for the forwarding tests, run as
// `node --input-type=module -e FAKE_UPSTREAM BIND_ADDRESS [ANSWER]` inside a
// test namespace: example.test has an A record (ANSWER, 203.0.113.7 by
// default), every other name is NXDOMAIN. It prints "ready" once bound.
export const FAKE_UPSTREAM = String.raw`
import dgram from 'node:dgram'; import packet from 'dns-packet';
const answer = process.argv[2] ?? '203.0.113.7';
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => {
  const q = packet.decode(m); const ok = q.questions[0].name.toLowerCase() === 'example.test';
  u.send(packet.encode({ type: 'response', id: q.id, flags: packet.RECURSION_AVAILABLE | (ok ? 0 : 3), questions: q.questions,
    answers: ok && q.questions[0].type === 'A' ? [{ type: 'A', name: q.questions[0].name, ttl: 60, data: answer }] : [] }), r.port, r.address);
});
u.bind(53, process.argv[1], () => console.log('ready'));
`;
