// The resolver for real: a "host" namespace (the daemon's) with one bridge per
// network and the gateway addresses on them, sandbox namespaces on veth ports
// of those bridges, and three fake upstream servers in namespaces of their own
// (one answers SERVFAIL, one is silent, one answers). The resolver runs in the
// host namespace as its own process (src/dns/standalone.ts); clients are the
// real tools: dig, busybox nslookup, glibc's getent through a resolv.conf.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { elapse } from '../helpers/wait.ts';
import { parseResolvConf, renderResolvConf } from '../../src/dns/index.ts';
import type { DnsEndpoint } from '../../src/dns/index.ts';

const skip = skipUnlessCI('dns', privilegedSkipReason());
const NODE = process.execPath;
const CWD = process.cwd();

// Networks: net1 10.88.0.0/24 (+ fd88::/64), net2 10.89.0.0/24, internal net3 10.90.0.0/24.
// Sandboxes: alpha on net1; bravo on net1 and net2; charlie on net2; delta on net3 only.
const GW1 = '10.88.0.1', GW1V6 = 'fd88::1', GW2 = '10.89.0.1', GW3 = '10.90.0.1';
const UP = ['10.99.0.11', '10.99.0.12', '10.99.0.13']; // servfail, silent, good

// A fake upstream: `mode` servfail | silent | good. Logs "q <name>" per query.
// good: example.test A 203.0.113.7; big.example.test 80 A records (TC over
// UDP without EDNS room, full over TCP); anything else NXDOMAIN.
const FAKE_UPSTREAM = String.raw`
import dgram from 'node:dgram'; import net from 'node:net'; import packet from 'dns-packet';
const [mode, addr] = process.argv.slice(1);
const answer = (q, tcp) => {
  const name = q.questions[0].name.toLowerCase();
  console.log('q ' + name + (tcp ? ' tcp' : ''));
  if (mode === 'servfail') return { type: 'response', id: q.id, flags: 2, questions: q.questions };
  let answers = [], rcode = 'NXDOMAIN';
  if (name === 'example.test') { answers = [{ type: 'A', name: q.questions[0].name, ttl: 60, data: '203.0.113.7' }]; rcode = 'NOERROR'; }
  if (name === 'big.example.test') { answers = Array.from({ length: 80 }, (_, i) => ({ type: 'A', name: q.questions[0].name, ttl: 60, data: '203.0.113.' + i })); rcode = 'NOERROR'; }
  let flags = packet.RECURSION_AVAILABLE | (rcode === 'NXDOMAIN' ? 3 : 0);
  if (!tcp && answers.length > 20) { answers = []; flags |= packet.TRUNCATED_RESPONSE; }
  return { type: 'response', id: q.id, flags, questions: q.questions, answers };
};
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => { const q = packet.decode(m); const a = answer(q, false); if (mode !== 'silent') u.send(packet.encode(a), r.port, r.address); else console.log('q ' + q.questions[0].name + ' (ignored)'); });
u.bind(53, addr, () => {
  net.createServer((s) => s.on('data', (d) => { const q = packet.decode(d.subarray(2)); if (mode === 'silent') return; s.write(packet.streamEncode(answer(q, true))); })).listen(53, addr, () => console.log('ready'));
});
`;

// Sends 5 queries in one TCP write and shuts its side at once (half-close),
// then reads the 5 answers: pipelining on one connection.
const TCP_PIPELINE = String.raw`
import net from 'node:net'; import packet from 'dns-packet';
const [server, ...names] = process.argv.slice(1);
const s = net.connect(53, server, () => { s.end(Buffer.concat(names.map((n, i) => packet.streamEncode({ type: 'query', id: 100 + i, flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name: n }] })))); });
let buf = Buffer.alloc(0); const out = [];
s.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
    const r = packet.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))); buf = buf.subarray(2 + buf.readUInt16BE(0));
    out.push({ id: r.id, rcode: r.rcode, answers: r.answers.map((a) => a.data) });
    if (out.length === names.length) console.log(JSON.stringify(out));
  }
});
`;

// 10,000 random and mutated packets over UDP, plus garbage over TCP.
const FUZZ = String.raw`
import dgram from 'node:dgram'; import net from 'node:net'; import packet from 'dns-packet';
const server = process.argv[1];
let seed = 12345; const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
const base = [
  packet.encode({ type: 'query', id: 1, flags: 256, questions: [{ type: 'A', name: 'bravo' }] }),
  packet.encode({ type: 'query', id: 2, questions: [{ type: 'PTR', name: '3.0.88.10.in-addr.arpa' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] }),
  packet.encode({ type: 'query', id: 3, questions: [{ type: 'AAAA', name: 'alpha.net1' }] }),
];
const u = dgram.createSocket('udp4'); let answered = 0; u.on('message', () => answered++);
const packets = [];
for (let i = 0; i < 10000; i++) {
  let b;
  if (i % 2 === 0) { b = Buffer.alloc(rnd(600)); for (let j = 0; j < b.length; j++) b[j] = rnd(256); if (b.length > 3) b[2] &= 0x7f; }
  else {
    b = Buffer.from(base[rnd(base.length)]);
    const muts = 1 + rnd(6);
    for (let m = 0; m < muts; m++) {
      const k = rnd(4);
      if (k === 0) b[rnd(b.length)] = rnd(256);
      else if (k === 1) b = b.subarray(0, rnd(b.length + 1));
      else if (k === 2) b = Buffer.concat([b, Buffer.from([rnd(256), rnd(256), rnd(256)])]);
      else if (b.length > 11) b.writeUInt16BE(rnd(65536), 4 + 2 * rnd(4));
    }
  }
  packets.push(b);
}
let i = 0;
const pump = () => { for (let n = 0; n < 200 && i < packets.length; n++, i++) u.send(packets[i], 53, server); if (i < packets.length) setTimeout(pump, 5); else setTimeout(tcp, 300); };
const tcp = () => {
  let left = 20;
  for (let k = 0; k < 20; k++) {
    const s = net.connect(53, server, () => { s.write(packets[k * 7]); s.write(Buffer.from([0, 40, ...packets[k * 7 + 1].subarray(0, 40)])); setTimeout(() => s.destroy(), 50); });
    s.on('error', () => {}); s.on('close', () => { if (--left === 0) { console.log(JSON.stringify({ sent: packets.length, answered })); u.close(); } });
  }
};
pump();
`;

// The DnsServer API inside the host namespace (port 5300, beside the resolver
// under test): bind errors, idempotent adds, close() racing an add.
const SERVER_API = String.raw`
import { createResolver } from '${CWD}/src/dns/index.ts';
const out = {};
const r = createResolver({ port: 5300, resolvConfPath: null });
try { await r.server.addAddress('10.123.0.1'); out.missing = 'bound?'; } catch (e) { out.missing = e.code; }
await Promise.all([r.server.addAddress('${GW1}'), r.server.addAddress('${GW1}')]);
out.afterDoubleAdd = r.server.addresses();
await r.server.removeAddress('${GW1}');
await r.server.removeAddress('${GW1}');
out.afterRemove = r.server.addresses();
const racing = r.server.addAddress('${GW2}').then(() => 'bound', (e) => e.code);
await r.close();
out.racing = await racing;
out.afterClose = r.server.addresses();
try { await r.server.addAddress('${GW2}'); } catch (e) { out.addAfterClose = e.code; }
console.log(JSON.stringify(out));
`;

interface World {
  host: TestNetns;
  sb: Record<'alpha' | 'bravo' | 'charlie' | 'delta', TestNetns>;
  ups: TestNetns[];
  upLogs: string[][];
  upProcs: ChildProcess[];
  server: ChildProcess;
  ctl: (cmd: object) => Promise<string>;
  tmp: string;
  resolvConf: string;
}

async function startProc(ns: TestNetns, args: string[], onLine: (l: string) => void): Promise<ChildProcess> {
  const p = ns.spawn(NODE, args, { cwd: CWD });
  const rl = createInterface({ input: p.stdout! });
  let stderr = '';
  p.stderr!.on('data', (d) => { stderr += String(d); });
  await new Promise<void>((resolve, reject) => {
    rl.on('line', (l) => { if (l === 'ready') resolve(); else onLine(l); });
    p.on('exit', (code) => reject(new Error(`${args.join(' ').slice(0, 80)} exited ${code}: ${stderr}`)));
  });
  return p;
}

async function link(host: TestNetns, bridge: string, port: string, sb: TestNetns, ifname: string, cidr: string, v6?: string): Promise<void> {
  await host.sh(`ip link add ${port} type veth peer name ${ifname} netns ${sb.name} && ip link set ${port} master ${bridge} up`);
  await sb.sh(`ip addr add ${cidr} dev ${ifname} && ip link set ${ifname} up${v6 ? ` && ip addr add ${v6} dev ${ifname} nodad` : ''}`);
}

async function buildWorld(): Promise<World> {
  const made: TestNetns[] = [];
  const mk = async (l: string): Promise<TestNetns> => { const n = await TestNetns.create(l); made.push(n); return n; };
  try {
    const host = await mk('dnshost');
    const sb = { alpha: await mk('alpha'), bravo: await mk('bravo'), charlie: await mk('charlie'), delta: await mk('delta') };
    const ups = [await mk('up1'), await mk('up2'), await mk('up3')];
    await host.sh([
      'ip link add br1 type bridge', 'ip addr add 10.88.0.1/24 dev br1', 'ip addr add fd88::1/64 dev br1 nodad', 'ip link set br1 up',
      'ip link add br2 type bridge', 'ip addr add 10.89.0.1/24 dev br2', 'ip link set br2 up',
      'ip link add br3 type bridge', 'ip addr add 10.90.0.1/24 dev br3', 'ip link set br3 up',
      'ip link add brU type bridge', 'ip addr add 10.99.0.1/24 dev brU', 'ip link set brU up',
    ].join(' && '));
    await link(host, 'br1', 'va', sb.alpha, 'eth0', '10.88.0.2/24', 'fd88::2/64');
    await link(host, 'br1', 'vb1', sb.bravo, 'eth0', '10.88.0.3/24');
    await link(host, 'br2', 'vb2', sb.bravo, 'eth1', '10.89.0.3/24');
    await link(host, 'br2', 'vc', sb.charlie, 'eth0', '10.89.0.4/24');
    await link(host, 'br3', 'vd', sb.delta, 'eth0', '10.90.0.5/24');
    for (const [i, up] of ups.entries()) await link(host, 'brU', `vu${i}`, up, 'eth0', `${UP[i]}/24`);
    const upLogs: string[][] = [[], [], []];
    const upProcs: ChildProcess[] = [];
    for (const [i, mode] of ['servfail', 'silent', 'good'].entries()) {
      upProcs.push(await startProc(ups[i] as TestNetns, ['--input-type=module', '-e', FAKE_UPSTREAM, mode, UP[i] as string], (l) => upLogs[i]?.push(l)));
    }
    const tmp = mkdtempSync(join(tmpdir(), 'cnm-dnstest-'));
    const resolvConf = join(tmp, 'host-resolv.conf');
    writeFileSync(resolvConf, `# the host's file\nsearch corp.test\n${UP.map((u) => `nameserver ${u}`).join('\n')}\n`);
    const waiting: ((l: string) => void)[] = [];
    const cfg = { port: 53, resolvConfPath: resolvConf, forwarder: { timeoutMs: 400 }, addresses: [GW1, GW1V6, GW2, GW3] };
    const server = await startProc(host, ['src/dns/standalone.ts', JSON.stringify(cfg)], (l) => waiting.shift()?.(l));
    const ctl = (cmd: object): Promise<string> => new Promise((resolve) => { waiting.push(resolve); server.stdin!.write(`${JSON.stringify(cmd)}\n`); });
    const endpoint = (e: Partial<DnsEndpoint> & { endpointId: string }): object => ({ op: 'add', endpoint: { internal: false, ...e } });
    for (const e of [
      endpoint({ endpointId: 'a1', sandboxId: 'alpha', networkId: 'n1', networkName: 'net1', names: ['alpha', 'alpha-host', 'aaaaaaaaaaaa'], ipv4: '10.88.0.2', ipv6: 'fd88::2' }),
      endpoint({ endpointId: 'b1', sandboxId: 'bravo', networkId: 'n1', networkName: 'net1', names: ['bravo', 'shared'], ipv4: '10.88.0.3' }),
      endpoint({ endpointId: 'b2', sandboxId: 'bravo', networkId: 'n2', networkName: 'net2', names: ['bravo'], ipv4: '10.89.0.3' }),
      endpoint({ endpointId: 'c2', sandboxId: 'charlie', networkId: 'n2', networkName: 'net2', names: ['charlie'], ipv4: '10.89.0.4' }),
      endpoint({ endpointId: 'd3', sandboxId: 'delta', networkId: 'n3', networkName: 'net3', names: ['delta'], ipv4: '10.90.0.5', internal: true }),
      // Many sandboxes (no interfaces needed) sharing the name "many", to overflow 512 bytes.
      ...Array.from({ length: 60 }, (_, i) => endpoint({ endpointId: `m${i}`, sandboxId: `m${i}`, networkId: 'n1', networkName: 'net1', names: ['many'], ipv4: `10.88.1.${i + 1}` })),
    ]) assert.equal(await ctl(e), 'ok');
    return { host, sb, ups, upLogs, upProcs, server, ctl, tmp, resolvConf };
  } catch (e) {
    for (const n of made.reverse()) await n.destroy();
    throw e;
  }
}

const dig = async (ns: TestNetns, args: string): Promise<string> => (await ns.sh(`dig +time=2 +tries=1 ${args}`, { allowFail: true })).stdout;
const digShort = async (ns: TestNetns, server: string, args: string): Promise<string[]> =>
  (await dig(ns, `@${server} +short ${args}`)).split('\n').filter(Boolean).sort();
const status = (out: string): string => /status: (\w+)/.exec(out)?.[1] ?? `no answer: ${out}`;

describe('embedded DNS server in namespaces', { skip: skip ? `skipped: ${skip}` : false }, () => {
  let w: World;
  before(async () => { w = await buildWorld(); });
  after(async () => {
    if (!w) return;
    w.server.kill('SIGTERM');
    for (const p of w.upProcs) p.kill('SIGKILL');
    for (const n of [w.host, ...Object.values(w.sb), ...w.ups]) await n.destroy();
    rmSync(w.tmp, { recursive: true, force: true });
  });

  test('dig: names, <name>.<network>, case, aliases, short id', async () => {
    const { alpha, bravo } = w.sb;
    assert.deepEqual(await digShort(alpha, GW1, 'bravo'), ['10.88.0.3'], 'alpha sees bravo on net1 only');
    assert.deepEqual(await digShort(alpha, GW1, 'BRAVO.Net1'), ['10.88.0.3']);
    assert.deepEqual(await digShort(bravo, GW1, 'alpha-host'), ['10.88.0.2']);
    assert.deepEqual(await digShort(bravo, GW2, 'aaaaaaaaaaaa'), ['10.88.0.2'], 'any gateway, the same view');
    assert.deepEqual(await digShort(bravo, GW1, 'alpha AAAA'), ['fd88::2']);
    assert.deepEqual(await digShort(alpha, GW1V6, 'bravo'), ['10.88.0.3'], 'over IPv6 from alpha\'s IPv6 address');
    const flags = await dig(alpha, `@${GW1} bravo`);
    assert.match(flags, /flags: qr aa rd ra;/);
  });

  test('a sandbox sees every network it is on and nothing of the others', async () => {
    const { alpha, bravo, charlie } = w.sb;
    assert.deepEqual(await digShort(bravo, GW2, 'charlie'), ['10.89.0.4']);
    assert.deepEqual(await digShort(charlie, GW2, 'bravo'), ['10.89.0.3']);
    // charlie is not ours for alpha: forwarded, and the upstream says NXDOMAIN.
    assert.equal(status(await dig(alpha, `@${GW1} charlie`)), 'NXDOMAIN');
    assert.equal(status(await dig(alpha, `@${GW1} charlie.net2`)), 'NXDOMAIN');
    assert.deepEqual(await digShort(alpha, GW1, '-x 10.88.0.3'), ['bravo.net1.']);
    assert.deepEqual(await digShort(bravo, GW1, '-x 10.89.0.4'), ['charlie.net2.']);
    assert.deepEqual(await digShort(alpha, GW1, '-x 10.89.0.4'), [], 'PTR of another network: not answered from the table');
  });

  test('NODATA and NXDOMAIN are told apart', async () => {
    const out = await dig(w.sb.alpha, `@${GW1} bravo AAAA`);
    assert.equal(status(out), 'NOERROR');
    assert.match(out, /ANSWER: 0/);
    assert.equal(status(await dig(w.sb.alpha, `@${GW1} nobody.net1`)), 'NXDOMAIN');
  });

  test('round robin over a shared name', async () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 3; i++) firsts.add((await dig(w.sb.alpha, `@${GW1} +short +tcp many`)).split('\n')[0] ?? '');
    assert.equal(firsts.size, 3, 'each answer starts with a different address');
  });

  test('busybox nslookup', async () => {
    const r = await w.sb.alpha.sh(`busybox nslookup -type=a bravo ${GW1}`, { allowFail: true });
    assert.match(r.stdout, /Address: 10\.88\.0\.3/);
  });

  test('getent hosts through the sandbox\'s own resolv.conf', async () => {
    const file = join(w.tmp, 'alpha-resolv.conf');
    writeFileSync(file, renderResolvConf({ host: parseResolvConf(`search corp.test\nnameserver ${UP[2]}\n`), resolver: GW1 }));
    const getent = (name: string): Promise<string> => w.sb.alpha.sh(
      `unshare -m sh -c 'mount --bind ${file} /etc/resolv.conf && getent hosts ${name}'`, { allowFail: true }).then((r) => r.stdout);
    assert.match(await getent('bravo'), /^10\.88\.0\.3\s+bravo/m);
    assert.match(await getent('alpha'), /^fd88::2\s+alpha/m, 'getent hosts asks AAAA first');
    assert.match(await getent('example.test'), /^203\.0\.113\.7\s+example\.test/m, 'forwarded');
  });

  test('TCP: several queries on one connection, pipelined, half-closed, and dig +keepopen', async () => {
    const r = await w.sb.alpha.sh(`${NODE} --input-type=module -e '${TCP_PIPELINE.replace(/'/g, "'\\''")}' ${GW1} bravo alpha example.test nobody.net1 Bravo.net1`, { allowFail: true });
    const got = JSON.parse(r.stdout) as { id: number; rcode: string; answers: string[] }[];
    assert.deepEqual(got.sort((a, b) => a.id - b.id).map((x) => [x.id, x.rcode, x.answers]), [
      [100, 'NOERROR', ['10.88.0.3']], [101, 'NOERROR', ['10.88.0.2']], [102, 'NOERROR', ['203.0.113.7']],
      [103, 'NXDOMAIN', []], [104, 'NOERROR', ['10.88.0.3']],
    ]);
    const keep = await dig(w.sb.alpha, `@${GW1} +tcp +keepopen +short bravo alpha charlie.net2`);
    assert.deepEqual(keep.split('\n').filter(Boolean), ['10.88.0.3', '10.88.0.2']);
  });

  test('truncation: TC over UDP when the answer does not fit, full answer over TCP', async () => {
    const udp = await dig(w.sb.alpha, `@${GW1} +noedns +ignore many`);
    assert.match(udp, /flags: qr aa tc rd ra;/);
    assert.match(udp, /ANSWER: 0/);
    const fallback = await digShort(w.sb.alpha, GW1, '+noedns many');
    assert.equal(fallback.length, 60, 'dig retried over TCP');
    const edns = await dig(w.sb.alpha, `@${GW1} +bufsize=4096 +ignore many`);
    assert.match(edns, /ANSWER: 60/, 'EDNS0 payload size honoured');
    assert.match(edns, /udp: 1232/, 'our OPT record');
  });

  test('upstream: failover past SERVFAIL and a silent server; NXDOMAIN as is', async () => {
    w.upLogs.forEach((l) => { l.length = 0; });
    assert.deepEqual(await digShort(w.sb.alpha, GW1, 'example.test'), ['203.0.113.7']);
    assert.deepEqual(w.upLogs.map((l) => l.includes('q example.test') || l.includes('q example.test (ignored)')), [true, true, true]);
    assert.equal(status(await dig(w.sb.alpha, `@${GW1} nothing.example.test`)), 'NXDOMAIN');
  });

  test('upstream: a truncated UDP answer is passed on; over TCP we ask upstream over TCP', async () => {
    const udp = await dig(w.sb.alpha, `@${GW1} +ignore big.example.test`);
    assert.match(udp, /flags: qr tc /, "the upstream's TC, passed on");
    w.upLogs[2]!.length = 0;
    assert.equal((await digShort(w.sb.alpha, GW1, 'big.example.test')).length, 80);
    assert.ok(w.upLogs[2]!.includes('q big.example.test tcp'), `${w.upLogs[2]!.join(', ')}`);
  });

  test('upstream: per-sandbox and daemon-wide servers, host file re-read', async () => {
    assert.equal(await w.ctl({ op: 'sandboxServers', sandboxId: 'alpha', servers: [UP[2]] }), 'ok');
    w.upLogs.forEach((l) => { l.length = 0; });
    assert.deepEqual(await digShort(w.sb.alpha, GW1, 'example.test'), ['203.0.113.7']);
    assert.deepEqual(w.upLogs.map((l) => l.length), [0, 0, 1], 'only the sandbox\'s own server');
    assert.equal(await w.ctl({ op: 'daemonServers', servers: [UP[0]] }), 'ok');
    assert.equal(status(await dig(w.sb.bravo, `@${GW1} example.test`)), 'SERVFAIL', 'the daemon-wide list (a SERVFAIL server only)');
    assert.equal(await w.ctl({ op: 'daemonServers', servers: null }), 'ok');
    writeFileSync(w.resolvConf, `nameserver ${UP[2]}\n`);
    // Time has to pass: the file is checked at most once a second.
    await elapse(1100);
    w.upLogs.forEach((l) => { l.length = 0; });
    assert.deepEqual(await digShort(w.sb.bravo, GW1, 'example.test'), ['203.0.113.7']);
    assert.deepEqual(w.upLogs.map((l) => l.length), [0, 0, 1], 'the new host file is used');
    assert.equal(await w.ctl({ op: 'sandboxServers', sandboxId: 'alpha', servers: null }), 'ok');
  });

  test('internal networks never forward (REFUSED), but their names resolve', async () => {
    w.upLogs.forEach((l) => { l.length = 0; });
    assert.equal(status(await dig(w.sb.delta, `@${GW3} example.test`)), 'REFUSED');
    assert.deepEqual(w.upLogs.map((l) => l.length), [0, 0, 0]);
    assert.deepEqual(await digShort(w.sb.delta, GW3, 'delta'), ['10.90.0.5']);
  });

  test('unknown clients are refused; so are zone transfers', async () => {
    assert.equal(status(await dig(w.host, `@${GW1} alpha`)), 'REFUSED');
    assert.match(await dig(w.sb.alpha, `@${GW1} net1 AXFR`), /Transfer failed|REFUSED/);
  });

  test('addresses and endpoints added and removed at runtime', async () => {
    assert.equal(await w.ctl({ op: 'removeAddress', ip: GW2 }), 'ok');
    assert.match(await dig(w.sb.charlie, `@${GW2} +tries=1 +time=1 bravo`), /timed out|connection refused|no servers/);
    assert.equal(await w.ctl({ op: 'addAddress', ip: GW2 }), 'ok');
    assert.deepEqual(await digShort(w.sb.charlie, GW2, 'bravo'), ['10.89.0.3']);
    // A fresh IPv6 gateway address is tentative (DAD) for a while: addAddress waits for it.
    await w.host.sh('ip addr add fd89::1/64 dev br2');
    await w.sb.bravo.sh('ip addr add fd89::3/64 dev eth1 nodad');
    assert.equal(await w.ctl({ op: 'addAddress', ip: 'fd89::1' }), 'ok');
    assert.equal(await w.ctl({ op: 'add', endpoint: { endpointId: 'b2v6', sandboxId: 'bravo', networkId: 'n2', networkName: 'net2', names: ['bravo6'], ipv6: 'fd89::3', internal: false } }), 'ok');
    assert.deepEqual(await digShort(w.sb.bravo, 'fd89::1', 'charlie'), ['10.89.0.4']);
    assert.equal(await w.ctl({ op: 'remove', endpointId: 'b2' }), 'ok');
    assert.equal(status(await dig(w.sb.charlie, `@${GW2} bravo.net2`)), 'NXDOMAIN');
    assert.equal(await w.ctl({ op: 'add', endpoint: { endpointId: 'b2', sandboxId: 'bravo', networkId: 'n2', networkName: 'net2', names: ['bravo'], ipv4: '10.89.0.3', internal: false } }), 'ok');
    assert.deepEqual(await digShort(w.sb.charlie, GW2, 'bravo'), ['10.89.0.3']);
  });

  test('server API: bind errors, idempotent add/remove, close racing an add', async () => {
    const r = await w.host.sh(`${NODE} --input-type=module -e '${SERVER_API.replace(/'/g, "'\\''")}'`, { allowFail: true });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.missing, 'BIND', 'an address that is on no interface');
    assert.deepEqual(out.afterDoubleAdd, [GW1]);
    assert.deepEqual(out.afterRemove, []);
    assert.ok(out.racing === 'bound' || out.racing === 'SERVER_CLOSED', String(out.racing));
    assert.deepEqual(out.afterClose, []);
    assert.equal(out.addAfterClose, 'SERVER_CLOSED');
  });

  test('fuzz: 10,000 random and mutated packets, then still answering', async () => {
    const r = await w.sb.bravo.sh(`${NODE} --input-type=module -e '${FUZZ.replace(/'/g, "'\\''")}' ${GW1}`, { timeoutMs: 120_000 });
    const res = JSON.parse(r.stdout) as { sent: number; answered: number };
    assert.equal(res.sent, 10_000);
    assert.equal(w.server.exitCode, null, 'the server process is alive');
    assert.deepEqual(await digShort(w.sb.alpha, GW1, 'bravo'), ['10.88.0.3']);
    assert.deepEqual(await digShort(w.sb.alpha, GW1, '+tcp alpha'), ['10.88.0.2']);
  });
});
