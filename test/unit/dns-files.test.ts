// resolv.conf parsing and re-reading; the sandbox's resolv.conf and hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HostResolvConf, UpstreamConfig, parseExtraHost, parseResolvConf, parseUpstream, renderHosts, renderResolvConf,
} from '../../src/dns/index.ts';

test('parseResolvConf: at most 3 nameservers, search/domain last wins, options accumulate, comments', () => {
  const c = parseResolvConf([
    '# comment', 'nameserver 10.0.0.1', 'nameserver bogus', 'nameserver fe80::1%eth0 ; trailing', 'domain old.example',
    'search a.example b.example', 'options ndots:2', 'options timeout:1 rotate', 'nameserver 10.0.0.3', 'nameserver 10.0.0.4', 'sortlist 10.0.0.0',
  ].join('\n'));
  assert.deepEqual(c, { nameservers: ['10.0.0.1', 'fe80::1%eth0', '10.0.0.3'], search: ['a.example', 'b.example'], options: ['ndots:2', 'timeout:1', 'rotate'] });
  assert.deepEqual(parseResolvConf('search x.example\ndomain y.example\n').search, ['y.example']);
  assert.deepEqual(parseResolvConf(''), { nameservers: [], search: [], options: [] });
});

test('HostResolvConf re-reads the file when it changes, also when replaced by rename', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-dns-'));
  try {
    const path = join(dir, 'resolv.conf');
    writeFileSync(path, 'nameserver 10.0.0.1\n');
    const h = new HostResolvConf(path, { checkIntervalMs: 0 });
    assert.deepEqual(h.get().nameservers, ['10.0.0.1']);
    writeFileSync(join(dir, 'new'), 'nameserver 10.0.0.2\nnameserver 10.0.0.22\n');
    renameSync(join(dir, 'new'), path);
    assert.deepEqual(h.get().nameservers, ['10.0.0.2', '10.0.0.22']);
    rmSync(path);
    assert.deepEqual(h.get().nameservers, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UpstreamConfig: sandbox --dns, then daemon --dns, then the host file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-dns-'));
  try {
    const path = join(dir, 'resolv.conf');
    writeFileSync(path, 'nameserver 10.0.0.1\n');
    const u = new UpstreamConfig(new HostResolvConf(path, { checkIntervalMs: 0 }));
    assert.deepEqual(u.serversFor('s1'), [{ address: '10.0.0.1', port: 53 }]);
    u.setDaemonServers(['10.0.0.9']);
    assert.deepEqual(u.serversFor('s1'), [{ address: '10.0.0.9', port: 53 }]);
    u.setSandboxServers('s1', ['[fd00::0:1]:5353', '10.0.0.8:5300']);
    assert.deepEqual(u.serversFor('s1'), [{ address: 'fd00::1', port: 5353 }, { address: '10.0.0.8', port: 5300 }]);
    assert.deepEqual(u.serversFor('s2'), [{ address: '10.0.0.9', port: 53 }]);
    u.setSandboxServers('s1', null);
    u.setDaemonServers(null);
    assert.deepEqual(u.serversFor('s1'), [{ address: '10.0.0.1', port: 53 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => parseUpstream('10.0.0.1:99999'), /10\.0\.0\.1:99999/);
  assert.throws(() => parseUpstream('dns.example'), { code: 'BAD_IP' } as object);
});

test('renderResolvConf: the resolver, ndots:0 and the host search list', () => {
  const host = parseResolvConf('nameserver 127.0.0.53\nsearch corp.example\noptions ndots:3 edns0\n');
  assert.equal(renderResolvConf({ host, resolver: '172.19.0.1' }).split('\n').filter((l) => !l.startsWith('#')).join('\n'),
    'nameserver 172.19.0.1\nsearch corp.example\noptions edns0 ndots:0\n');
  const own = renderResolvConf({ host, resolver: '172.19.0.1', dnsSearch: ['x.example'], dnsOptions: ['ndots:2'], dns: ['9.9.9.9'] });
  assert.match(own, /^nameserver 172\.19\.0\.1$/m);
  assert.match(own, /^search x\.example$/m);
  assert.match(own, /^options ndots:2$/m);
  assert.doesNotMatch(own, /^nameserver 9\.9\.9\.9$/m, '--dns goes to the resolver, not the file');
});

test('renderResolvConf without a resolver: host servers minus loopback, else Docker\'s defaults', () => {
  const loopOnly = parseResolvConf('nameserver 127.0.0.53\n');
  assert.match(renderResolvConf({ host: loopOnly }), /^nameserver 8\.8\.8\.8\nnameserver 8\.8\.4\.4$/m);
  const mixed = parseResolvConf('nameserver 127.0.0.1\nnameserver 10.0.0.1\n');
  assert.deepEqual(renderResolvConf({ host: mixed }).match(/^nameserver .*$/gm), ['nameserver 10.0.0.1']);
});

test('renderHosts: localhost and ip6 lines, --add-host entries, one line per address', () => {
  const text = renderHosts({
    hostname: 'abc123', addresses: ['172.19.0.2', 'fd00::2'],
    extraHosts: [parseExtraHost('db:10.0.0.5'), parseExtraHost('v6=[fd00::9]'), parseExtraHost('gw:host-gateway', '172.19.0.1')],
  });
  assert.equal(text, [
    '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters', '10.0.0.5\tdb', 'fd00::9\tv6', '172.19.0.1\tgw',
    '172.19.0.2\tabc123', 'fd00::2\tabc123', '',
  ].join('\n'));
  const v4only = renderHosts({ hostname: 'h', domainname: 'example.org', addresses: ['10.0.0.2'], ipv6: false });
  assert.equal(v4only, '127.0.0.1\tlocalhost\n10.0.0.2\th.example.org h\n');
  assert.throws(() => parseExtraHost('nohost'), /nohost/);
});
