import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceScope } from '../../src/dns/scope.ts';
import { DnsError } from '../../src/dns/errors.ts';

test("a listener's scope: sources in its network's subnets only", () => {
  const s = new SourceScope(['172.18.0.0/16', '10.1.2.128/25', 'fd00:1:2::/48']);
  for (const ip of ['172.18.0.1', '172.18.255.254', '10.1.2.128', '10.1.2.255', 'fd00:1:2::5', 'fd00:1:2:ffff::1']) assert.equal(s.allows(ip), true, ip);
  for (const ip of ['172.19.0.2', '10.1.2.127', '172.17.0.2', 'fd00:1:3::5', '::ffff:172.18.0.2', 'fe80::1', 'junk', '']) assert.equal(s.allows(ip), false, ip);
  assert.equal(s.allows('172.18.0.1'), true, 'remembered decisions stay the same');
  assert.equal(new SourceScope([]).allows('172.18.0.1'), false);
  assert.throws(() => new SourceScope(['10.0.0.0/33']), DnsError);
  assert.throws(() => new SourceScope(['10.0.0.0']), DnsError);
});
