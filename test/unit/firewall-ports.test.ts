import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortSpec } from '../../src/firewall/port-spec.ts';
import { PortAllocator } from '../../src/firewall/port-allocator.ts';
import { FirewallError } from '../../src/firewall/errors.ts';

const specErr = (spec: string, re: RegExp): void => {
  assert.throws(() => parsePortSpec(spec), (e: unknown) => e instanceof FirewallError && e.code === 'INVALID_PORT_SPEC' && re.test(e.message), spec);
};

describe('parsePortSpec', () => {
  test('container port only, default tcp, ephemeral host port', () => {
    assert.deepEqual(parsePortSpec('80'), [{ hostIp: '', hostPortStart: 0, hostPortEnd: 0, containerPort: 80, proto: 'tcp' }]);
  });
  test('host:container/proto and host IPs', () => {
    assert.deepEqual(parsePortSpec('8080:80/udp'), [{ hostIp: '', hostPortStart: 8080, hostPortEnd: 8080, containerPort: 80, proto: 'udp' }]);
    assert.deepEqual(parsePortSpec('127.0.0.1:8080:80'), [{ hostIp: '127.0.0.1', hostPortStart: 8080, hostPortEnd: 8080, containerPort: 80, proto: 'tcp' }]);
    assert.deepEqual(parsePortSpec('127.0.0.1::80/sctp'), [{ hostIp: '127.0.0.1', hostPortStart: 0, hostPortEnd: 0, containerPort: 80, proto: 'sctp' }]);
    assert.deepEqual(parsePortSpec('[2001:db8:0::1]:8080:80'), [{ hostIp: '2001:db8::1', hostPortStart: 8080, hostPortEnd: 8080, containerPort: 80, proto: 'tcp' }]);
  });
  test('ranges: port for port, or a host range for one container port', () => {
    assert.deepEqual(parsePortSpec('8000-8001:80-81').map((s) => [s.hostPortStart, s.hostPortEnd, s.containerPort]), [[8000, 8000, 80], [8001, 8001, 81]]);
    assert.deepEqual(parsePortSpec('8000-8010:80').map((s) => [s.hostPortStart, s.hostPortEnd, s.containerPort]), [[8000, 8010, 80]]);
    assert.deepEqual(parsePortSpec('80-82').map((s) => s.containerPort), [80, 81, 82]);
  });
  test('clear errors', () => {
    specErr('', /empty/);
    specErr('80/icmp', /unknown protocol "icmp"/);
    specErr('0', /out of range 1-65535/);
    specErr('70000:80', /host port 70000 is out of range/);
    specErr('8000-8002:80-81', /has 3 ports but container range 80-81 has 2/);
    specErr('90-80', /ends before it starts/);
    specErr('abc', /not a number/);
    specErr('::1:8080:80', /too many ":"|brackets/);
    specErr('1.2.3:8080:80', /not an IP address/);
    specErr('8080:', /no container port/);
    specErr('[::1:80', /unclosed/);
  });
});

describe('PortAllocator', () => {
  test('ephemeral ports from 49153 up, round-robin, conflicts in Docker\'s words', () => {
    const a = new PortAllocator();
    const [b1] = a.allocateAll(parsePortSpec('80'));
    const [b2] = a.allocateAll(parsePortSpec('81'));
    assert.equal(b1?.hostPort, 49153);
    assert.equal(b2?.hostPort, 49154);
    a.allocateAll(parsePortSpec('8080:80'));
    assert.throws(() => a.allocateAll(parsePortSpec('8080:81')), /^FirewallError: Bind for 0.0.0.0:8080 failed: port is already allocated$/m);
    assert.throws(() => a.allocateAll(parsePortSpec('127.0.0.1:8080:81')), /port is already allocated/);
    assert.throws(() => a.allocateAll(parsePortSpec('[::]:8080:81')), /Bind for \[::\]:8080 failed/);
    a.allocateAll(parsePortSpec('8080:80/udp'));
  });
  test('specific addresses do not clash with each other; wildcards of the other family do not clash', () => {
    const a = new PortAllocator();
    a.allocateAll(parsePortSpec('127.0.0.1:9000:80'));
    a.allocateAll(parsePortSpec('127.0.0.2:9000:80'));
    a.allocateAll(parsePortSpec('[::]:9001:80'));
    a.allocateAll(parsePortSpec('0.0.0.0:9001:80'));
    assert.throws(() => a.allocateAll(parsePortSpec('9001:80')), /port is already allocated/);
  });
  test('all or nothing, release, exhaustion, host range', () => {
    const a = new PortAllocator({ start: 50000, end: 50001 });
    a.allocateAll(parsePortSpec('50001:1'));
    assert.throws(() => a.allocateAll([...parsePortSpec('7000:1'), ...parsePortSpec('50001:2')]), /already allocated/);
    assert.equal(a.isFree('', 'tcp', 7000), true, 'rolled back');
    const [e] = a.allocateAll(parsePortSpec('80'));
    assert.equal(e?.hostPort, 50000);
    assert.throws(() => a.allocateAll(parsePortSpec('81')), (x: unknown) => x instanceof FirewallError && x.code === 'PORTS_EXHAUSTED');
    if (e) a.release(e);
    assert.equal(a.allocateAll(parsePortSpec('81'))[0]?.hostPort, 50000);
    const [r] = a.allocateAll(parsePortSpec('6000-6002:80'));
    assert.equal(r?.hostPort, 6000);
    assert.equal(a.allocateAll(parsePortSpec('6000-6002:80'))[0]?.hostPort, 6001);
  });
});
