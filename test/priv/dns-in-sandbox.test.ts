// The embedded DNS inside sandbox namespaces, for real: a "host" namespace
// runs the resolver in-process (like the daemon) with a fake upstream on its
// own loopback; two sandbox namespaces have a macvlan child of the host's
// "LAN" interface (a veth to a LAN namespace), which cannot reach the host,
// so the resolver listens on 127.0.0.11:53 inside each of them, made by the
// daemon's own socket maker (kernelSandboxSockets). Clients are dig and
// busybox nslookup run inside the sandboxes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';

const skip = skipUnlessCI('dns-in-sandbox', privilegedSkipReason());
const NODE = process.execPath;
const CWD = process.cwd();

// s1: "one" on lan (192.168.77.10) and br (10.55.0.2); s2: "two" on lan; s3: "three" on other;
// s4: "four" on an internal network only. The upstream knows example.test.
// stdin: "open <sandbox> <netns path>", "close <sandbox>", "quit"; each answered "ok <line>" or "error <message>".
const SERVER = String.raw`
import { createResolver } from '${CWD}/src/dns/index.ts';
import { kernelSandboxSockets, SANDBOX_RESOLVER } from '${CWD}/src/daemon/dns-hooks.ts';
import { createInterface } from 'node:readline';
import dgram from 'node:dgram'; import packet from 'dns-packet';
const up = dgram.createSocket('udp4');
up.on('message', (m, r) => { const q = packet.decode(m); const name = q.questions[0].name.toLowerCase(); console.log('upstream ' + name);
  const hit = name === 'example.test';
  up.send(packet.encode({ type: 'response', id: q.id, flags: packet.RECURSION_AVAILABLE | (hit ? 0 : 3), questions: q.questions,
    answers: hit ? [{ type: 'A', name: q.questions[0].name, ttl: 30, data: '203.0.113.9' }] : [] }), r.port, r.address); });
await new Promise((res) => up.bind(5353, '127.0.0.1', res));
const r = createResolver({ port: 53, resolvConfPath: null });
r.upstreams.setDaemonServers(['127.0.0.1:5353']);
const ep = (endpointId, sandboxId, networkId, names, ipv4, internal = false) => r.table.addEndpoint({ endpointId, sandboxId, networkId, networkName: networkId, names, ipv4, internal });
ep('e1', 's1', 'lan', ['one', 'web'], '192.168.77.10'); ep('e1b', 's1', 'br', ['one'], '10.55.0.2');
ep('e2', 's2', 'lan', ['two'], '192.168.77.11'); ep('e3', 's3', 'other', ['three'], '10.56.0.2');
ep('e4', 's4', 'int', ['four'], '10.57.0.2', true);
console.log('ready');
createInterface({ input: process.stdin }).on('line', async (line) => {
  const [op, id, path] = line.split(' ');
  try {
    if (op === 'open') await r.server.addSandbox(id, { ...await kernelSandboxSockets({ netnsPath: path, pid: 0 }, SANDBOX_RESOLVER, 53), address: SANDBOX_RESOLVER, port: 53 });
    else if (op === 'close') await r.server.removeSandbox(id);
    else if (op === 'quit') { await r.close(); up.close(); console.log('ok quit'); process.exit(0); }
    console.log('ok ' + line + ' ' + JSON.stringify(r.server.sandboxes()));
  } catch (e) { console.log('error ' + e.message); }
});
`;

describe('embedded DNS inside the sandbox (127.0.0.11)', { skip: skip ?? false }, () => {
  const made: TestNetns[] = [];
  let host: TestNetns, lan: TestNetns, s1: TestNetns, s2: TestNetns, s4: TestNetns;
  let proc: ChildProcess;
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  const cmd = (c: string): Promise<string> => new Promise((res) => { waiting.push(res); proc.stdin!.write(`${c}\n`); });

  before(async () => {
    host = await TestNetns.create('dnsih'); made.push(host);
    lan = await TestNetns.create('dnsil'); made.push(lan);
    s1 = await TestNetns.create('dnsi1'); made.push(s1);
    s2 = await TestNetns.create('dnsi2'); made.push(s2);
    s4 = await TestNetns.create('dnsi4'); made.push(s4);
    // The host's LAN port and a macvlan child of it in each sandbox (as the macvlan driver makes them).
    await host.sh(`ip link add lan0 type veth peer name lanp netns ${lan.name} && ip addr add 192.168.77.1/24 dev lan0 && ip link set lan0 up`);
    await lan.sh('ip addr add 192.168.77.254/24 dev lanp && ip link set lanp up');
    for (const [n, ip] of [[s1, '192.168.77.10'], [s2, '192.168.77.11']] as const) {
      await host.sh(`ip link add mv-${ip.split('.')[3]} link lan0 type macvlan mode bridge && ip link set mv-${ip.split('.')[3]} netns ${n.name}`);
      await n.sh(`ip link set mv-${ip.split('.')[3]} name eth0 && ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`);
    }
    proc = host.spawn(NODE, ['--input-type=module', '-e', SERVER], { cwd: CWD });
    let stderr = '';
    proc.stderr!.on('data', (d) => { stderr += String(d); });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (l) => {
        lines.push(l);
        if (l === 'ready') resolve();
        else if (l.startsWith('ok ') || l.startsWith('error ')) waiting.shift()?.(l);
      });
      proc.on('exit', (code) => reject(new Error(`resolver exited ${code}: ${stderr}`)));
    });
  });
  after(async () => {
    if (proc && proc.exitCode === null) await cmd('quit').catch(() => undefined);
    for (const n of made.reverse()) await n.destroy();
  });

  const dig = async (ns: TestNetns, args: string): Promise<string> =>
    (await ns.sh(`dig +tries=1 +time=2 @127.0.0.11 ${args}`, { allowFail: true })).stdout;

  test('the macvlan child cannot reach the host (the reason for all this): no answer on the LAN address', async () => {
    assert.equal(await s1.ping('192.168.77.1'), false, 'a macvlan child never talks to its parent');
    assert.equal(await s1.ping('192.168.77.254'), true, 'the LAN is reachable');
    assert.equal(await s1.ping('192.168.77.11'), true, 'and so are the other children');
  });

  test('opened: names of the sandbox\'s networks, over UDP and TCP, dig and busybox nslookup', async () => {
    assert.match(await cmd(`open s1 ${s1.path}`), /^ok open s1 .*\["s1"\]/);
    assert.match(await cmd(`open s2 ${s2.path}`), /^ok open s2 .*\["s1","s2"\]/);
    assert.match(await dig(s1, 'two +short'), /^192\.168\.77\.11$/m);
    assert.match(await dig(s1, 'two.lan +short +tcp'), /^192\.168\.77\.11$/m);
    assert.match(await dig(s2, 'web +short'), /^192\.168\.77\.10$/m, 'an alias');
    assert.match(await dig(s2, 'one.lan +short'), /^192\.168\.77\.10$/m);
    const ns = await s2.sh('busybox nslookup one 127.0.0.11', { allowFail: true });
    assert.match(ns.stdout, /192\.168\.77\.10/);
  });

  test('scoping: a sandbox sees its own networks only', async () => {
    // s1 is on br too: br's names answer there, not in s2.
    assert.match(await dig(s1, 'one.br +short'), /^10\.55\.0\.2$/m);
    assert.match(await dig(s2, 'one.br'), /status: NXDOMAIN/, 'not s2\'s network: forwarded, and the upstream knows no such name');
    assert.match(await dig(s2, 'three'), /status: NXDOMAIN/);
    assert.doesNotMatch(await dig(s2, 'three +short'), /10\.56\.0\.2/);
  });

  test('upstream: other names are forwarded; an internal-only sandbox gets REFUSED', async () => {
    assert.match(await dig(s1, 'example.test +short'), /^203\.0\.113\.9$/m);
    assert.match(await dig(s1, 'example.test +short +tcp'), /^203\.0\.113\.9$/m);
    assert.match(lines.filter((l) => l.startsWith('upstream ')).join('\n'), /upstream example\.test/);
    assert.match(await cmd(`open s4 ${s4.path}`), /^ok open s4/);
    assert.match(await dig(s4, 'example.test'), /status: REFUSED/);
    assert.match(await dig(s4, 'four +short'), /^10\.57\.0\.2$/m, 'its own names still answer');
  });

  test('closed: nothing listens there any more, the other sandbox is still served', async () => {
    assert.match(await cmd('close s1'), /^ok close s1 .*\["s2","s4"\]/);
    const out = await dig(s1, 'two');
    assert.doesNotMatch(out, /status: NOERROR/);
    assert.doesNotMatch((await s1.sh('ss -lunt')).stdout, /127\.0\.0\.11:53/, 'no socket on 127.0.0.11:53');
    assert.match(await dig(s2, 'one +short'), /^192\.168\.77\.10$/m);
    // Opened again (a daemon restart re-adds endpoints): served again.
    assert.match(await cmd(`open s1 ${s1.path}`), /^ok open s1/);
    assert.match(await dig(s1, 'two +short'), /^192\.168\.77\.11$/m);
  });
});
