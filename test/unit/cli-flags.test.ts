// The -p parser and the IPAM flag grouping, against the request bodies
// docker 28.2 sends for the same flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError } from '../../src/cli/cli-error.ts';
import { ipamConfigFromFlags } from '../../src/cli/ipam-flags.ts';
import type { IpamFlags } from '../../src/cli/ipam-flags.ts';
import { parseExpose, parsePublish, portBindings } from '../../src/cli/ports.ts';

test('-p: container port only, host port, host IP, protocol', () => {
  assert.deepEqual(parsePublish('80'), [{ key: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
  assert.deepEqual(parsePublish('8080:80'), [{ key: '80/tcp', binding: { HostIp: '', HostPort: '8080' } }]);
  assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [{ key: '80/udp', binding: { HostIp: '127.0.0.1', HostPort: '8080' } }]);
  assert.deepEqual(parsePublish('127.0.0.1::80'), [{ key: '80/tcp', binding: { HostIp: '127.0.0.1', HostPort: '' } }]);
  assert.deepEqual(parsePublish('[::1]:53:53/udp'), [{ key: '53/udp', binding: { HostIp: '::1', HostPort: '53' } }]);
  assert.deepEqual(parsePublish('::1:53:53/sctp'), [{ key: '53/sctp', binding: { HostIp: '::1', HostPort: '53' } }]);
});

test('-p: ranges map port by port; one container port may take a host range', () => {
  assert.deepEqual(parsePublish('9000-9001:90-91'), [
    { key: '90/tcp', binding: { HostIp: '', HostPort: '9000' } },
    { key: '91/tcp', binding: { HostIp: '', HostPort: '9001' } },
  ]);
  assert.deepEqual(parsePublish('7000-7010:70'), [{ key: '70/tcp', binding: { HostIp: '', HostPort: '7000-7010' } }]);
  assert.deepEqual(parsePublish('90-91'), [
    { key: '90/tcp', binding: { HostIp: '', HostPort: '' } },
    { key: '91/tcp', binding: { HostIp: '', HostPort: '' } },
  ]);
  // Same shape as docker run's PortBindings and ExposedPorts.
  assert.deepEqual(portBindings(['8080:80', '8081:80', '[::1]:53:53/udp']), {
    bindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '', HostPort: '8081' }], '53/udp': [{ HostIp: '::1', HostPort: '53' }] },
    exposed: { '80/tcp': {}, '53/udp': {} },
  });
  assert.deepEqual(parseExpose('70-71/udp'), ['70/udp', '71/udp']);
});

test('-p: bad specs name the spec and the problem', () => {
  const bad = (spec: string, re: RegExp): void => {
    assert.throws(() => parsePublish(spec), (e: unknown) => e instanceof CliError && e.info.code === 'PORT_SPEC' && e.message.includes(`"${spec}"`) && re.test(e.message));
  };
  bad('', /no container port/);
  bad('8080:', /no container port/);
  bad('80/icmp', /invalid protocol "icmp"/);
  bad('70000', /invalid container port "70000"/);
  bad('0', /invalid container port "0"/);
  bad('x:80', /invalid host port "x"/);
  bad('1.2.3:80:80', /invalid IP address "1\.2\.3"/);
  bad('9000-9002:90-91', /invalid ranges/);
  bad('9000:90-91', /invalid ranges/);
  bad('91-90', /invalid container port "91-90"/);
});

const flags = (f: Partial<IpamFlags>): IpamFlags => ({ subnets: [], ipRanges: [], gateways: [], auxAddresses: {}, ...f });

test('IPAM flags: ranges, gateways and aux addresses join the subnet that holds them', () => {
  assert.deepEqual(ipamConfigFromFlags(flags({})), []);
  assert.deepEqual(ipamConfigFromFlags(flags({
    subnets: ['10.1.0.0/24', 'fd00::/64'], gateways: ['fd00::1'], ipRanges: ['10.1.0.0/25'], auxAddresses: { a: '10.1.0.3', b: 'fd00::3' },
  })), [
    { Subnet: '10.1.0.0/24', IPRange: '10.1.0.0/25', AuxiliaryAddresses: { a: '10.1.0.3' } },
    { Subnet: 'fd00::/64', Gateway: 'fd00::1', AuxiliaryAddresses: { b: 'fd00::3' } },
  ]);
  assert.deepEqual(ipamConfigFromFlags(flags({ subnets: ['10.2.0.0/16', '10.3.0.0/16'], gateways: ['10.3.0.254', '10.2.0.254'] })), [
    { Subnet: '10.2.0.0/16', Gateway: '10.2.0.254' },
    { Subnet: '10.3.0.0/16', Gateway: '10.3.0.254' },
  ]);
  // A bare address is a single-address subnet.
  assert.deepEqual(ipamConfigFromFlags(flags({ subnets: ['10.9.9.9'] })), [{ Subnet: '10.9.9.9/32' }]);
});

test("IPAM flags: docker's errors", () => {
  const bad = (f: Partial<IpamFlags>, re: RegExp): void => {
    assert.throws(() => ipamConfigFromFlags(flags(f)), (e: unknown) => e instanceof CliError && e.info.code === 'IPAM_FLAGS' && re.test(e.message));
  };
  bad({ gateways: ['10.0.0.1'] }, /every ip-range or gateway must have a corresponding subnet/);
  bad({ subnets: ['10.0.0.0/8', '10.1.0.0/16'] }, /multiple overlapping subnet configuration is not supported/);
  bad({ subnets: ['10.1.0.0/16'], gateways: ['10.2.0.1'] }, /no matching subnet for gateway 10\.2\.0\.1/);
  bad({ subnets: ['10.1.0.0/16'], ipRanges: ['10.2.0.0/24'] }, /no matching subnet for range 10\.2\.0\.0\/24/);
  bad({ subnets: ['10.1.0.0/16', '10.2.0.0/16'], ipRanges: ['10.1.0.0/24', '10.1.1.0/24'] }, /cannot configure multiple ranges/);
  bad({ subnets: ['10.1.0.0/16'], auxAddresses: { x: '10.3.0.1' } }, /no matching subnet for aux-address 10\.3\.0\.1/);
  bad({ subnets: ['10.1.0.0/33'] }, /invalid subnet 10\.1\.0\.0\/33/);
  bad({ subnets: ['10.1.0.0/16'], gateways: ['nope'] }, /invalid gateway nope/);
});
