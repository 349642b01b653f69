// The DHCP codec: round trips, the fields clients rely on, and random bytes
// that must never throw or decode into a message with a bad type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BOOTREQUEST, MSG, OPT, clientKey, decodeDhcp, encodeDhcp, maskToPrefix, messageType, newMessage, optByte, optIp, optIps,
  optText, optU32, prefixToMask, readIp, readIps, readText, readU32,
} from '../../src/dhcp/wire.ts';
import { rng } from '../helpers/rng.ts';

test('a DISCOVER round-trips with its options, padded to 300 bytes', () => {
  const m = newMessage(BOOTREQUEST, { xid: 0xdeadbeef, flags: 0x8000, chaddr: '02:42:ac:11:00:02' });
  m.options.set(OPT.MESSAGE_TYPE, optByte(MSG.DISCOVER));
  m.options.set(OPT.REQUESTED_IP, optIp('10.0.0.9'));
  m.options.set(OPT.HOST_NAME, optText('web'));
  m.options.set(OPT.CLIENT_ID, Buffer.from([0, 1, 2, 3]));
  const wire = encodeDhcp(m);
  assert.equal(wire.length, 300);
  const back = decodeDhcp(wire);
  assert.ok(back);
  assert.equal(back.xid, 0xdeadbeef);
  assert.equal(back.flags, 0x8000);
  assert.equal(back.chaddr, '02:42:ac:11:00:02');
  assert.equal(messageType(back), MSG.DISCOVER);
  assert.equal(readIp(back, OPT.REQUESTED_IP), '10.0.0.9');
  assert.equal(readText(back, OPT.HOST_NAME), 'web');
  assert.equal(clientKey(back), 'id:00010203');
});

test('list, number and long options; an option over 255 bytes is split and joined again', () => {
  const m = newMessage(2, { yiaddr: '192.168.5.20', chaddr: 'aa:bb:cc:dd:ee:ff' });
  m.options.set(OPT.MESSAGE_TYPE, optByte(MSG.ACK));
  m.options.set(OPT.DNS_SERVERS, optIps(['1.1.1.1', '8.8.8.8']));
  m.options.set(OPT.LEASE_TIME, optU32(3600));
  m.options.set(OPT.DOMAIN_NAME, optText('x'.repeat(600)));
  const back = decodeDhcp(encodeDhcp(m))!;
  assert.deepEqual(readIps(back, OPT.DNS_SERVERS), ['1.1.1.1', '8.8.8.8']);
  assert.equal(readU32(back, OPT.LEASE_TIME), 3600);
  assert.equal(readText(back, OPT.DOMAIN_NAME), 'x'.repeat(600));
  assert.equal(back.yiaddr, '192.168.5.20');
  assert.equal(clientKey(back), 'hw:1:aa:bb:cc:dd:ee:ff');
});

test('masks and prefixes', () => {
  assert.equal(prefixToMask(24), '255.255.255.0');
  assert.equal(prefixToMask(0), '0.0.0.0');
  assert.equal(prefixToMask(32), '255.255.255.255');
  assert.equal(maskToPrefix('255.255.240.0'), 20);
  assert.equal(maskToPrefix('255.0.255.0'), null);
});

test('malformed messages decode to null', () => {
  const good = (() => {
    const m = newMessage(BOOTREQUEST, { chaddr: '02:00:00:00:00:01' });
    m.options.set(OPT.MESSAGE_TYPE, optByte(MSG.REQUEST));
    return encodeDhcp(m);
  })();
  assert.ok(decodeDhcp(good));
  assert.equal(decodeDhcp(good.subarray(0, 239)), null, 'truncated header');
  const badCookie = Buffer.from(good); badCookie[236] = 0;
  assert.equal(decodeDhcp(badCookie), null, 'bad cookie');
  const badOp = Buffer.from(good); badOp[0] = 3;
  assert.equal(decodeDhcp(badOp), null, 'bad op');
  const overrun = Buffer.from(good.subarray(0, 243)); overrun[242] = 200;
  assert.equal(decodeDhcp(Buffer.concat([overrun.subarray(0, 240), Buffer.from([12, 200, 1])])), null, 'option runs past the end');
  const noType = newMessage(BOOTREQUEST);
  assert.equal(decodeDhcp(encodeDhcp(noType)), null, 'no message type');
  const badType = newMessage(BOOTREQUEST); badType.options.set(OPT.MESSAGE_TYPE, optByte(9));
  assert.equal(decodeDhcp(encodeDhcp(badType)), null, 'message type 9');
});

test('10,000 random and mutated messages never throw', () => {
  const next = rng(12);
  const r = (): number => Math.floor(next() * 2 ** 31);
  const base = (() => {
    const m = newMessage(BOOTREQUEST, { chaddr: '02:00:00:00:00:01' });
    m.options.set(OPT.MESSAGE_TYPE, optByte(MSG.DISCOVER));
    m.options.set(OPT.PARAM_REQUEST, Buffer.from([1, 3, 6, 12]));
    return encodeDhcp(m);
  })();
  for (let i = 0; i < 10_000; i++) {
    const b = Buffer.from(base);
    for (let k = 0; k < 1 + (r() % 8); k++) b[240 + (r() % 60)] = r() % 256;
    const cut = i % 3 === 0 ? b.subarray(0, 236 + (r() % 64)) : b;
    const m = decodeDhcp(cut);
    if (m) assert.ok(messageType(m) >= 1 && messageType(m) <= 8);
  }
});
