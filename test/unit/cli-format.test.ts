// Table layout (Go's tabwriter as docker configures it), list formats and the
// row fields of `network ls` and `ps`. Expected strings were checked against
// docker 28.2's output for the same API data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerSummaryWire, NetworkWire } from '../../src/api/wire.ts';
import { renderInspect, renderList, tabwrite } from '../../src/cli/format.ts';
import { parseLogTime } from '../../src/cli/logs.ts';
import {
  CONTAINER_LIST, NETWORK_LIST, containerRow, displayablePorts, ellipsis, goTimeOf, humanDuration, networkRow,
} from '../../src/cli/rows.ts';

const network = (name: string, id: string, extra: Partial<NetworkWire> = {}): NetworkWire => ({
  Name: name, Id: id, Created: '2026-01-01T00:00:00.5Z', Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false,
  ConfigFrom: { Network: '' }, ConfigOnly: false, Options: {}, Labels: {}, ...extra,
});

test('tabwriter: min width 10, padding 3, last cell not padded', () => {
  assert.equal(tabwrite('A\tBB\tC\nlonger-cell-here\tx\ty\n'),
    'A                  BB        C\nlonger-cell-here   x         y\n');
  // A line with fewer cells ends the column block above it.
  assert.equal(tabwrite('a\tb\nno tabs here\nccccccccccccc\td\n'), 'a         b\nno tabs here\nccccccccccccc   d\n');
  // Width counts characters, not bytes.
  assert.equal(tabwrite('é\tx\n'), 'é         x\n');
});

test('network ls: default table, -q, --no-trunc, json, custom table and template', () => {
  const rows = [network('bridge', '0123456789abcdef0123'), network('my-network', 'fedcba9876543210', { Labels: { a: 'b' } })];
  const trunc = rows.map((n) => networkRow(n, true));
  assert.equal(renderList(trunc, '', NETWORK_LIST, false),
    'NETWORK ID     NAME         DRIVER    SCOPE\n' +
    '0123456789ab   bridge       bridge    local\n' +
    'fedcba987654   my-network   bridge    local\n');
  assert.equal(renderList(trunc, '', NETWORK_LIST, true), '0123456789ab\nfedcba987654\n');
  assert.equal(renderList(rows.map((n) => networkRow(n, false)), '', NETWORK_LIST, true), '0123456789abcdef0123\nfedcba9876543210\n');
  assert.equal(renderList(trunc.slice(1), 'json', NETWORK_LIST, false),
    '{"CreatedAt":"2026-01-01 00:00:00.5 +0000 UTC","Driver":"bridge","ID":"fedcba987654","IPv4":"true","IPv6":"false",' +
    '"Internal":"false","Labels":"a=b","Name":"my-network","Scope":"local"}\n');
  assert.equal(renderList(trunc, 'table {{.Name}}\\t{{.IPv6}}\\t{{.Label "a"}}', NETWORK_LIST, false),
    'NAME         IPV6      \nbridge       false     \nmy-network   false     b\n');
  assert.equal(renderList(trunc, '{{.Name}}: {{.Driver}}', NETWORK_LIST, false), 'bridge: bridge\nmy-network: bridge\n');
  assert.equal(renderList([], '', NETWORK_LIST, false), 'NETWORK ID   NAME      DRIVER    SCOPE\n');
});

test('ps: columns, truncation, ports and json', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const c: ContainerSummaryWire = {
    Id: 'c0ffee0123456789abcdef', Names: ['/web'], Image: '', ImageID: '', Command: 'sh -c "sleep 1000; echo done"',
    Created: now / 1000 - 3700, Labels: { l: 'v' }, State: 'running', Status: 'Up 1 hour',
    Ports: [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 81, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 82, PublicPort: 82, Type: 'tcp' },
    ],
    HostConfig: { NetworkMode: 'bridge' }, NetworkSettings: { Networks: { n1: {}, bridge: {} } }, Mounts: [],
  };
  const row = containerRow(c, true, now);
  assert.equal(row.ID, 'c0ffee012345');
  assert.equal(row.Command, '"sh -c \\"sleep 1000; …"');
  assert.equal(row.RunningFor, 'About an hour ago');
  assert.equal(row.Image, '<no image>');
  assert.equal(row.Ports, '53/udp, 0.0.0.0:81-82->81-82/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
  assert.equal(row.Networks, 'bridge,n1');
  assert.equal(renderList([row], '', CONTAINER_LIST, false),
    'CONTAINER ID   IMAGE        COMMAND                   CREATED             STATUS      PORTS                                                                       NAMES\n' +
    'c0ffee012345   <no image>   "sh -c \\"sleep 1000; …"   About an hour ago   Up 1 hour   53/udp, 0.0.0.0:81-82->81-82/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n');
  const json = renderList([row], 'json', CONTAINER_LIST, false);
  assert.match(json, /"Image":"\\u003cno image\\u003e"/); // json.Marshal's HTML escaping
  assert.match(json, /"Ports":"53\/udp, 0\.0\.0\.0:81-82-\\u003e81-82\/tcp/);
  assert.deepEqual(Object.keys(JSON.parse(json) as object), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
  assert.equal(containerRow(c, false, now).Command, '"sh -c \\"sleep 1000; echo done\\""');
});

test('ports, durations, times and ellipsis', () => {
  assert.equal(displayablePorts([]), '');
  assert.equal(displayablePorts([{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 32768, Type: 'tcp' }]), '127.0.0.1:32768->80/tcp');
  assert.equal(displayablePorts([{ PrivatePort: 90, Type: 'tcp' }, { PrivatePort: 91, Type: 'tcp' }, { PrivatePort: 93, Type: 'tcp' }]), '90-91/tcp, 93/tcp');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(59_000), '59 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(45 * 60e3), '45 minutes');
  assert.equal(humanDuration(5 * 3600e3), '5 hours');
  assert.equal(humanDuration(3 * 86400e3), '3 days');
  assert.equal(goTimeOf('2026-01-02T03:04:05.123400000Z'), '2026-01-02 03:04:05.1234 +0000 UTC');
  assert.equal(goTimeOf('2026-01-02T03:04:05+01:00'), '2026-01-02 03:04:05 +0100 +0100');
  assert.equal(ellipsis('abcdef', 4), 'abc…');
  assert.equal(ellipsis('abcd', 4), 'abcd');
});

test('inspect: 4-space indented array, or the template per item', () => {
  assert.equal(renderInspect([{ Name: 'a', Labels: {}, List: [] }], ''), '[\n    {\n        "Name": "a",\n        "Labels": {},\n        "List": []\n    }\n]\n');
  assert.equal(renderInspect([], ''), '[]\n');
  assert.equal(renderInspect([{ Name: 'a' }, { Name: 'b' }], '{{.Name}}\\t!'), 'a\\t!\nb\\t!\n');
});

test('logs --since/--until: durations before now, RFC 3339 and unix seconds', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  assert.equal(parseLogTime('10m', now), (Date.parse('2026-01-01T00:00:00Z') / 1000).toFixed(9));
  assert.equal(parseLogTime('1h30m', now), ((now / 1000) - 5400).toFixed(9));
  assert.equal(parseLogTime('1700000000.5', now), '1700000000.5');
  assert.equal(parseLogTime('2026-01-01T00:00:00Z', now), '2026-01-01T00:00:00Z');
  assert.throws(() => parseLogTime('yesterday', now), /expected a duration/);
});
