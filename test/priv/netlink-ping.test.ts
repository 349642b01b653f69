// A bridge network built entirely through the netlink layer: a "host"
// namespace with bridge br0 and two sandboxes attached by veth pairs (the
// namespaces themselves made by Netns.create). Packets must cross it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Netns } from '../../src/netlink/index.ts';
import { TEST_PREFIX, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';

const execFileP = promisify(execFile);
const skip = skipUnlessCI('netlink-ping', privilegedSkipReason());

async function ping(from: Netns, ip: string): Promise<boolean> {
  try {
    await execFileP('nsenter', [`--net=${from.path}`, 'ping', '-c', '1', '-W', '2', ip]);
    return true;
  } catch {
    return false;
  }
}

async function attach(host: Netns, sbx: Netns, port: string, v4: string, v6: string): Promise<void> {
  const link = await host.rtnl.linkAdd({ kind: 'veth', name: port, peer: { name: 'eth0', netns: sbx } });
  await host.rtnl.linkSet(link.index, { master: 'br0', up: true });
  await sbx.rtnl.linkSet('eth0', { up: true });
  await sbx.rtnl.addrAdd('eth0', v4);
  await sbx.rtnl.addrAdd('eth0', v6, { noDad: true });
  await sbx.rtnl.routeAdd({ dst: 'default', gateway: '10.88.0.1' });
  await sbx.rtnl.routeAdd({ dst: 'default', gateway: 'fd88::1', dev: 'eth0' });
}

test('ping across a bridge between two namespaces built with the netlink layer', { skip }, async () => {
  const tag = randomBytes(3).toString('hex');
  const made: Netns[] = [];
  try {
    const host = await Netns.create(`/run/netns/${TEST_PREFIX}nlp-host-${tag}`);
    made.push(host);
    const a = await Netns.create(`/run/netns/${TEST_PREFIX}nlp-a-${tag}`);
    made.push(a);
    const b = await Netns.create(`/run/netns/${TEST_PREFIX}nlp-b-${tag}`);
    made.push(b);
    await host.rtnl.linkAdd({ kind: 'bridge', name: 'br0', up: true });
    await host.rtnl.addrAdd('br0', '10.88.0.1/24');
    await host.rtnl.addrAdd('br0', 'fd88::1/64', { noDad: true });
    await attach(host, a, 'vp-a', '10.88.0.2/24', 'fd88::2/64');
    await attach(host, b, 'vp-b', '10.88.0.3/24', 'fd88::3/64');
    assert.equal(await ping(a, '10.88.0.3'), true, 'a -> b over IPv4');
    assert.equal(await ping(b, '10.88.0.2'), true, 'b -> a over IPv4');
    assert.equal(await ping(a, '10.88.0.1'), true, 'a -> gateway');
    assert.equal(await ping(b, 'fd88::2'), true, 'b -> a over IPv6');
    // Isolating both ports on the bridge cuts a from b, not from the gateway.
    await host.rtnl.bridgePortSet('vp-a', { isolated: true });
    await host.rtnl.bridgePortSet('vp-b', { isolated: true });
    await a.rtnl.neighDel({ dev: 'eth0', ip: '10.88.0.3' }).catch(() => undefined); // forget b's MAC
    assert.equal(await ping(a, '10.88.0.3'), false, 'isolated ports do not talk');
    assert.equal(await ping(a, '10.88.0.1'), true, 'but still reach the bridge');
  } finally {
    for (const ns of made.reverse()) {
      ns.close();
      await Netns.remove(ns.path).catch(() => undefined);
    }
  }
});
