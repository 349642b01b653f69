// The rules for names and tokens that become lines of /etc/hosts and
// resolv.conf or names in the embedded DNS; the renderers' last guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DnsError, dnsNameProblem, hostNameProblem, parseExtraHost, quoteValue, renderHosts, renderResolvConf, resolvOptionProblem, searchDomainProblem,
} from '../../src/dns/index.ts';

test('host names: RFC 1123 labels, a length limit', () => {
  for (const ok of ['web', 'web-1', 'a.b.example', '1abc', 'A'.repeat(63)]) assert.equal(hostNameProblem(ok), null, ok);
  for (const bad of ['', 'a\nb', 'a b', '-web', 'web-', 'a..b', 'a_b', 'x'.repeat(64), 'a\tb', 'web.']) {
    assert.notEqual(hostNameProblem(bad), null, JSON.stringify(bad));
  }
  assert.match(hostNameProblem('a'.repeat(30) + '.' + 'b'.repeat(40), 64) ?? '', /at most 64 characters, got 71/);
});

test('DNS names (aliases): any visible characters, labels of 1-63, 253 in all', () => {
  for (const ok of ['db', 'my_db', 'db.local', 'db.local.']) assert.equal(dnsNameProblem(ok), null, ok);
  assert.match(dnsNameProblem('a'.repeat(1000)) ?? '', /at most 253 characters, got 1000/);
  assert.match(dnsNameProblem('a'.repeat(64)) ?? '', /labels of 1-63/);
  assert.match(dnsNameProblem('a\nb') ?? '', /whitespace or control/);
  assert.match(dnsNameProblem('') ?? '', /non-empty/);
});

test('search domains and resolv.conf options', () => {
  for (const ok of ['.', 'example.org', 'example.org.']) assert.equal(searchDomainProblem(ok), null, ok);
  for (const bad of ['example.org\nnameserver 6.6.6.6', 'a b', '']) assert.notEqual(searchDomainProblem(bad), null, bad);
  for (const ok of ['ndots:2', 'timeout:1', 'rotate', 'edns0', 'single-request-reopen', 'trust-ad']) assert.equal(resolvOptionProblem(ok), null, ok);
  for (const bad of ['ndots:2\nnameserver 6.6.6.6', 'a b', '', ':2', 'ndots:x']) assert.notEqual(resolvOptionProblem(bad), null, bad);
});

test('a bad value is shown escaped and cut short', () => {
  assert.equal(quoteValue('a\nb'), '"a\\nb"');
  assert.equal(quoteValue('x'.repeat(1000)), `"${'x'.repeat(80)}..." (1000 characters)`);
});

test('add-host names follow the host-name rule', () => {
  assert.throws(() => parseExtraHost('a\nb:10.0.0.1'), (e: unknown) => e instanceof DnsError && e.info.code === 'BAD_NAME');
  assert.throws(() => parseExtraHost('evil\n6.6.6.6 x:10.0.0.1'), DnsError);
  assert.deepEqual(parseExtraHost('db.local:10.0.0.1'), { name: 'db.local', ip: '10.0.0.1' });
});

test('the renderers refuse a value that would add a line', () => {
  const host = { nameservers: ['10.0.0.1'], search: [], options: [] };
  assert.throws(() => renderHosts({ hostname: 'h\n6.6.6.6 evil', addresses: ['10.0.0.2'] }), /control character/);
  assert.throws(() => renderHosts({ hostname: 'h', domainname: 'x\ny', addresses: [] }), /control character/);
  assert.throws(() => renderHosts({ hostname: 'h', addresses: [], extraHosts: [{ name: 'a\nb', ip: '10.0.0.1' }] }), /control character/);
  assert.throws(() => renderResolvConf({ host, dnsSearch: ['a\nnameserver 6.6.6.6'] }), /control character/);
  assert.throws(() => renderResolvConf({ host, dnsOptions: ['ndots:1\nnameserver 6.6.6.6'] }), /control character/);
  // Docker: --dns-search . means no search list.
  assert.doesNotMatch(renderResolvConf({ host: { ...host, search: ['example.org'] }, dnsSearch: ['.'] }), /^search/m);
});
