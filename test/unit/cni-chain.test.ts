// The CNI chain without a kernel: conflist checks, what each plugin is fed
// (capabilities only where declared, prevResult chained), ADD in order and
// DEL in reverse from the cache, rollback of a failed ADD, the result read
// back for the endpoint. Plugins here are small shell scripts that log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConflist } from '../../src/drivers/cni/conflist.ts';
import { addChain, delChain, pluginStdin } from '../../src/drivers/cni/chain.ts';
import { dropCache, listCache, readCache, writeProgress } from '../../src/drivers/cni/cache.ts';
import { addressingOf } from '../../src/drivers/cni/result.ts';
import { endpointOptions } from '../../src/drivers/cni/options.ts';
import { confDirNetworks } from '../../src/drivers/cni/conf-dir.ts';
import type { NetworkRecord } from '../../src/model/records.ts';
import type { Attachment, CniConfList } from '../../src/drivers/cni/types.ts';

test('a bare network config is a list of one; bad ones name what is wrong', () => {
  const l = parseConflist(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'bridge', bridge: 'b0' }), 'x.conf');
  assert.deepEqual(l.plugins, [{ type: 'bridge', bridge: 'b0' }]);
  assert.throws(() => parseConflist('[]', 'x'), /invalid CNI conflist x: expected a JSON object/);
  assert.throws(() => parseConflist(JSON.stringify({ cniVersion: '0.2.0', name: 'n', plugins: [{ type: 'a' }] }), 'x'), /"cniVersion" "0\.2\.0"/);
  assert.throws(() => parseConflist(JSON.stringify({ cniVersion: '1.0.0', name: 'a b', plugins: [{ type: 'a' }] }), 'x'), /"name" "a b"/);
  assert.throws(() => parseConflist(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'a', ipam: {} }] }), 'x'), /plugins\[0\] \(a\): "ipam" needs a "type"/);
});

test('each plugin gets the list\'s version and name, only the capabilities it declares, and the previous result', () => {
  const list: CniConfList = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'a', capabilities: { mac: true, portMappings: false }, x: 1 }] };
  const caps = { mac: '02:00:00:00:00:01', portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }], ips: ['10.0.0.2/24'] };
  const first = JSON.parse(pluginStdin(list, list.plugins[0]!, caps, null));
  assert.deepEqual(first, { type: 'a', x: 1, cniVersion: '1.0.0', name: 'n', runtimeConfig: { mac: '02:00:00:00:00:01' } });
  const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] };
  const next = JSON.parse(pluginStdin(list, { type: 'b' }, caps, prev));
  assert.deepEqual(next, { type: 'b', cniVersion: '1.0.0', name: 'n', prevResult: prev });
});

test('the endpoint\'s addresses, MAC and gateway from a result', () => {
  const r = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cni0', mac: 'AA:00:00:00:00:01' }, { name: 'veth1', mac: 'aa:00:00:00:00:02' }, { name: 'eth0', mac: 'AA:00:00:00:00:03', sandbox: '/run/netns/x' }],
    ips: [{ address: '10.1.0.1/16', interface: 0 }, { address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 2 }, { address: 'fd00::5/64', gateway: 'fd00::1', interface: 2 }],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00::fe' }],
  };
  assert.deepEqual(addressingOf(r, 'eth0'), { ipv4: '10.1.0.5/16', ipv6: 'fd00::5/64', mac: 'aa:00:00:00:00:03', gateway: { ipv4: '10.1.0.1', ipv6: 'fd00::fe' }, dns: [] });
  // Without a default route there is no gateway, whatever the IP says.
  assert.deepEqual(addressingOf({ cniVersion: '1.0.0', ips: [{ address: '10.2.0.5/24', gateway: '10.2.0.1' }] }, 'eth0').gateway, { ipv4: null, ipv6: null });
});

test('endpoint options: CNI_ARGS and bandwidth checked', () => {
  assert.deepEqual(endpointOptions({ 'cni.args': 'A=1;B=2', 'cni.bandwidth.egress_rate': '1000' }), { args: 'IgnoreUnknown=1;A=1;B=2', bandwidth: { egressRate: 1000 } });
  assert.throws(() => endpointOptions({ 'cni.args': 'nope' }), /expected K=V pairs/);
  assert.throws(() => endpointOptions({ 'cni.bandwidth.ingress_rate': '-1' }), /positive whole number/);
  assert.throws(() => endpointOptions({ 'cni.what': '1' }), /unknown endpoint driver option "cni\.what"/);
});

test('ADD runs in order with prevResult, DEL in reverse from the cache; a failed ADD DELs the chain', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-cni-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'log');
  // Each plugin logs "COMMAND type prevResult-ip-count" and answers with its prevResult plus one IP.
  const plugin = (name: string, fail = false): void => {
    writeFileSync(join(dir, name), `#!/bin/sh
in=$(cat)
n=$(printf '%s' "$in" | grep -o '"address"' | wc -l)
echo "$CNI_COMMAND ${name} $n $CNI_CONTAINERID $CNI_IFNAME" >> ${log}
if [ "$CNI_COMMAND" = ADD ]; then
  ${fail ? `echo '{"code":7,"msg":"bad config","details":"${name} says no"}'; exit 1` : `i=$((n+1)); ips=""; k=1; while [ $k -le $i ]; do ips="$ips{\\"address\\":\\"10.0.0.$k/24\\"},"; k=$((k+1)); done; echo "{\\"cniVersion\\":\\"1.0.0\\",\\"ips\\":[\${ips%,}]}"`}
fi
`);
    chmodSync(join(dir, name), 0o755);
  };
  plugin('one');
  plugin('two');
  plugin('bad', true);
  const env = { binDirs: [dir], cacheDir: join(dir, 'cache'), timeoutMs: 5000 };
  const att: Attachment = { containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0', args: '', capabilityArgs: {} };
  const list: CniConfList = { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'one' }, { type: 'two' }] };
  const r = await addChain(env, list, att);
  assert.equal(r.ips?.length, 2);
  assert.equal(readCache(env.cacheDir, 'net', 'c1', 'eth0')?.result?.ips?.length, 2);
  // DEL uses the cached config even when the caller's list changed.
  await delChain(env, { ...list, plugins: [{ type: 'two' }] }, att);
  assert.equal(readCache(env.cacheDir, 'net', 'c1', 'eth0'), null);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
    'ADD one 0 c1 eth0', 'ADD two 1 c1 eth0', 'DEL two 2 c1 eth0', 'DEL one 2 c1 eth0',
  ]);
  rmSync(log);
  const failing: CniConfList = { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'one' }, { type: 'bad' }, { type: 'two' }] };
  await assert.rejects(addChain(env, failing, att), /CNI plugin bad failed \(ADD\): bad config: bad says no \(code 7\)/);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
    'ADD one 0 c1 eth0', 'ADD bad 1 c1 eth0', 'DEL two 1 c1 eth0', 'DEL bad 1 c1 eth0', 'DEL one 1 c1 eth0',
  ], 'everything DEL\'d, last first, with what the chain had added');
  assert.deepEqual(readdirSync(join(env.cacheDir, 'results')), [], 'no cache entry, finished or not');
});

test('a chain that never finished is found by the cache (GC and a later DEL)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-cni-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const e = { kind: 'cniCacheV1' as const, containerId: 'c2', config: '', ifName: 'eth1', networkName: 'net', netns: '', cniArgs: [], capabilityArgs: {}, result: null };
  writeProgress(dir, e, 0);
  writeProgress(dir, { ...e, result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.9/24' }] } }, 1);
  assert.deepEqual(readdirSync(join(dir, 'results')), ['net-c2-eth1.adding-1']);
  assert.equal(readCache(dir, 'net', 'c2', 'eth1')?.result?.ips?.[0]?.address, '10.0.0.9/24');
  assert.deepEqual(listCache(dir, 'net').map((x) => x.containerId), ['c2']);
  assert.deepEqual(listCache(dir, 'ne'), [], 'another network\'s prefix is not this one');
  dropCache(dir, 'net', 'c2', 'eth1');
  assert.deepEqual(readdirSync(join(dir, 'results')), []);
});

test('a conflist directory: new lists become networks named after them; bad ones, clashes and lists already run are skipped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cnm-cni-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const put = (f: string, v: unknown): void => writeFileSync(join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
  put('10-a.conflist', { cniVersion: '1.0.0', name: 'a', plugins: [{ type: 'bridge' }] });
  put('20-b.conf', { cniVersion: '1.0.0', name: 'b', type: 'ptp' });
  put('30-bad.conflist', '{');
  put('40-taken.conflist', { cniVersion: '1.0.0', name: 'taken', plugins: [{ type: 'bridge' }] });
  put('50-run.conflist', { cniVersion: '1.0.0', name: 'running', plugins: [{ type: 'bridge' }] });
  put('README', 'not a conflist');
  const existing = [
    { name: 'taken', driver: 'bridge', driverState: {}, options: {} },
    { name: 'other', driver: 'cni', driverState: { cniName: 'running' }, options: {} },
  ] as unknown as NetworkRecord[];
  const warnings: string[] = [];
  const got = confDirNetworks(dir, existing, (m) => warnings.push(m));
  assert.deepEqual(got.map((c) => c.name), ['a', 'b']);
  assert.equal(warnings.length, 2);
  assert.match(warnings.join('\n'), /30-bad\.conflist: not JSON/);
  assert.match(warnings.join('\n'), /a network named taken already exists/);
  assert.deepEqual(confDirNetworks(join(dir, 'nope'), [], (m) => warnings.push(m)), []);
  assert.match(warnings.at(-1) ?? '', /cannot read conflist directory .*ENOENT/);
});
