// The resolver's batched UDP path (src/native/udpbatch, src/dns/udp-batch.ts)
// under load: a "host" namespace with one bridge (IPv4 and IPv6 gateway),
// three sandbox namespaces querying it at once, over IPv4 and IPv6, and the
// same run again with CNM_DNS_UDP=dgram, whose answers must be the same.
// Then addresses removed and the server closed while floods are running.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { elapse } from '../helpers/wait.ts';

const NODE = process.execPath;
const CWD = process.cwd();
const GW4 = '10.66.0.1', GW6 = 'fd66::1';
const SANDBOXES = 3;
const OTHERS = 50; // endpoints without interfaces: names to ask for
const skip = skipUnlessCI('dns-batch', privilegedSkipReason()
  ?? (existsSync(`${CWD}/build/udpbatch.node`) ? null : 'build/udpbatch.node not built (node scripts/build-native.mjs)'));

// The resolver in-process (like the daemon), plus a fake upstream on the host
// namespace's loopback so that forwarded (asynchronous) answers are covered.
// stdin: "remove <ip>", "add <ip>", "close"; each answered "ok <cmd>".
const SERVER = String.raw`
import { createResolver } from '${CWD}/src/dns/index.ts';
import { createInterface } from 'node:readline';
import dgram from 'node:dgram'; import packet from 'dns-packet';
const [sandboxes, others] = process.argv.slice(1).map(Number);
const up = dgram.createSocket('udp4');
up.on('message', (m, r) => { const q = packet.decode(m);
  up.send(packet.encode({ type: 'response', id: q.id, flags: packet.RECURSION_AVAILABLE, questions: q.questions,
    answers: q.questions[0].name.toLowerCase() === 'fwd.test' ? [{ type: 'A', name: q.questions[0].name, ttl: 30, data: '203.0.113.9' }] : [] }), r.port, r.address); });
await new Promise((res) => up.bind(5353, '127.0.0.1', res));
const r = createResolver({ port: 53, resolvConfPath: null });
r.upstreams.setDaemonServers(['127.0.0.1:5353']);
for (let i = 0; i < sandboxes; i++) r.table.addEndpoint({ endpointId: 's' + i, sandboxId: 's' + i, networkId: 'n', networkName: 'net',
  names: ['sb' + i], ipv4: '10.66.0.' + (10 + i), ipv6: 'fd66::' + (10 + i), internal: false });
for (let k = 0; k < others; k++) r.table.addEndpoint({ endpointId: 'o' + k, sandboxId: 'o' + k, networkId: 'n', networkName: 'net',
  names: ['n' + k], ipv4: '10.66.1.' + (k + 1), internal: false });
await r.server.addAddress('${GW4}');
await r.server.addAddress('${GW6}');
console.log(JSON.stringify({ mode: r.server.udpMode() }));
console.log('ready');
createInterface({ input: process.stdin }).on('line', async (line) => {
  const [op, ip] = line.split(' ');
  if (op === 'remove') await r.server.removeAddress(ip);
  else if (op === 'add') await r.server.addAddress(ip);
  else if (op === 'close') { await r.close(); up.close(); console.log('ok ' + line); process.exit(0); }
  console.log('ok ' + line);
});
`;

// Sends every query in QUERIES `rounds` times, at most 64 outstanding, each
// with its own ID; resends what is unanswered after 300 ms (UDP may drop),
// up to 10 times. Checks that each answer has the ID and the exact question
// (letter case included) of its query, and sums up the answers per question.
const CLIENT = String.raw`
import dgram from 'node:dgram'; import packet from 'dns-packet';
const [server, roundsArg, queriesJson] = process.argv.slice(1);
const queries = JSON.parse(queriesJson); const rounds = Number(roundsArg);
const s = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
const total = queries.length * rounds; const pending = new Map(); let next = 0, answered = 0, wrongName = 0, unknownId = 0, resent = 0;
const summary = {}; const inconsistent = new Set();
const send = (id) => { const [name, type, edns] = queries[id % queries.length];
  const q = { type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type, name }], additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] : [] };
  s.send(packet.encode(q), 53, server); pending.set(id, { name, type, at: Date.now(), tries: (pending.get(id)?.tries ?? 0) + 1 }); };
const fill = () => { while (pending.size < 64 && next < total) send(next++); if (answered === total) done(); };
s.on('message', (m) => { const r = packet.decode(m); const p = pending.get(r.id);
  // A second answer to a query that was sent again under load is a duplicate, not a stray.
  if (!p) { if (r.id >= next) unknownId++; return; }
  pending.delete(r.id); answered++;
  if (r.questions[0]?.name !== p.name || r.questions[0]?.type !== p.type) wrongName++;
  const key = p.type + ' ' + p.name;
  const sum = JSON.stringify({ rcode: r.rcode, aa: r.flag_aa, tc: r.flag_tc, ra: r.flag_ra, answers: r.answers.map((a) => a.type + ' ' + a.ttl + ' ' + a.data).sort(), opt: r.additionals.some((a) => a.type === 'OPT') });
  if (summary[key] === undefined) summary[key] = sum; else if (summary[key] !== sum) inconsistent.add(key);
  fill(); });
const timer = setInterval(() => { for (const [id, p] of pending) if (Date.now() - p.at > 300) { if (p.tries >= 10) { pending.delete(id); answered++; } else { resent++; send(id); } } fill(); }, 100);
const done = () => { clearInterval(timer); s.close(); console.log(JSON.stringify({ total, answered, wrongName, unknownId, resent, inconsistent: [...inconsistent], summary })); };
fill();
`;

// Fires queries as fast as it can for `ms` milliseconds, without waiting for
// answers (load for the remove/close test), then prints how many came back.
const FLOOD = String.raw`
import dgram from 'node:dgram'; import packet from 'dns-packet';
const [server, ms] = process.argv.slice(1);
const s = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4'); let got = 0, sent = 0;
s.on('message', () => got++); s.on('error', () => {});
const q = packet.encode({ type: 'query', id: 7, flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name: 'n1' }] });
const end = Date.now() + Number(ms);
const pump = () => { if (Date.now() > end) { setTimeout(() => { console.log(JSON.stringify({ sent, got })); s.close(); }, 200); return; }
  for (let i = 0; i < 100; i++) { s.send(q, 53, server); sent++; } setImmediate(pump); };
console.log('ready'); pump();
`;

// name, type, with EDNS; mixed letter case, NODATA, NXDOMAIN, forwarded, PTR.
const QUERIES: [string, string, boolean][] = [
  ...Array.from({ length: 10 }, (_, k): [string, string, boolean] => [`n${k * 5}`, 'A', k % 2 === 0]),
  ['N7', 'A', false], ['n8.NET', 'A', true], ['sb1', 'AAAA', false], ['sb2', 'A', true], ['n3', 'AAAA', false],
  ['nothere.net', 'A', false], ['fwd.test', 'A', false], ['1.1.66.10.in-addr.arpa', 'PTR', false], ['n9', 'MX', true],
];

interface ClientResult { total: number; answered: number; wrongName: number; unknownId: number; resent: number; inconsistent: string[]; summary: Record<string, string> }

async function startProc(ns: TestNetns, args: string[], env: NodeJS.ProcessEnv, onLine: (l: string) => void): Promise<ChildProcess> {
  const p = ns.spawn(NODE, args, { cwd: CWD, env });
  const rl = createInterface({ input: p.stdout! });
  let stderr = '';
  p.stderr!.on('data', (d) => { stderr += String(d); });
  await new Promise<void>((resolve, reject) => {
    rl.on('line', (l) => { if (l === 'ready') resolve(); else onLine(l); });
    p.on('exit', (code, sig) => reject(new Error(`${args.join(' ').slice(0, 60)} exited ${code ?? sig}: ${stderr}`)));
  });
  return p;
}

async function runNode(ns: TestNetns, script: string, args: string[]): Promise<string> {
  const r = await ns.sh(`${NODE} --input-type=module -e '${script.replace(/'/g, `'\\''`)}' ${args.map((a) => `'${a}'`).join(' ')}`, { timeoutMs: 120_000 });
  return r.stdout.trim();
}

interface Server { proc: ChildProcess; mode: string; lines: string[]; cmd: (c: string) => Promise<void>; exited: Promise<{ code: number | null; signal: string | null }> }

async function startServer(host: TestNetns, udp: 'default' | 'dgram'): Promise<Server> {
  const env = { ...process.env };
  if (udp === 'dgram') env.CNM_DNS_UDP = 'dgram'; else delete env.CNM_DNS_UDP;
  const lines: string[] = [];
  const waiting = new Map<string, () => void>();
  const proc = await startProc(host, ['--input-type=module', '-e', SERVER, String(SANDBOXES), String(OTHERS)], env, (l) => {
    lines.push(l);
    waiting.get(l)?.();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  const mode = (JSON.parse(lines.find((l) => l.startsWith('{')) ?? '{}') as { mode?: string }).mode ?? '?';
  const cmd = (c: string): Promise<void> => new Promise((res) => { waiting.set(`ok ${c}`, res); proc.stdin!.write(`${c}\n`); });
  return { proc, mode, lines, cmd, exited };
}

describe('embedded DNS, batched UDP path', { skip: skip ?? false }, () => {
  const made: TestNetns[] = [];
  let host: TestNetns;
  const sb: TestNetns[] = [];

  before(async () => {
    host = await TestNetns.create('dnsbh'); made.push(host);
    await host.sh(`ip link add br0 type bridge && ip addr add ${GW4}/16 dev br0 && ip addr add ${GW6}/64 dev br0 nodad && ip link set br0 up`);
    for (let i = 0; i < SANDBOXES; i++) {
      const n = await TestNetns.create(`dnsb${i}`); made.push(n); sb.push(n);
      await host.sh(`ip link add vb${i} type veth peer name eth0 netns ${n.name} && ip link set vb${i} master br0 up`);
      await n.sh(`ip addr add 10.66.0.${10 + i}/16 dev eth0 && ip addr add fd66::${10 + i}/64 dev eth0 nodad && ip link set eth0 up`);
    }
  });
  after(async () => { for (const n of made.reverse()) await n.destroy(); });

  /** Every sandbox asks over IPv4 and IPv6 at once; returns the results in order. */
  async function askAll(rounds: number): Promise<ClientResult[]> {
    const runs = sb.flatMap((n) => [GW4, GW6].map((gw) => runNode(n, CLIENT, [gw, String(rounds), JSON.stringify(QUERIES)])));
    return (await Promise.all(runs)).map((o) => JSON.parse(o) as ClientResult);
  }

  function checkResults(results: ClientResult[]): void {
    for (const [i, r] of results.entries()) {
      const who = `sandbox ${Math.floor(i / 2)} over ${i % 2 ? 'IPv6' : 'IPv4'}`;
      assert.equal(r.answered, r.total, `${who}: every query answered`);
      assert.equal(r.wrongName, 0, `${who}: each answer repeats its query's question`);
      assert.equal(r.unknownId, 0, `${who}: no answer with an ID we did not send`);
      assert.deepEqual(r.inconsistent, [], `${who}: the same question always gets the same answer`);
    }
  }

  const answersOf = (results: ClientResult[]): Record<string, string>[] => results.map((r) => r.summary);
  let batchAnswers: Record<string, string>[] = [];

  test('many concurrent queries from 3 namespaces, IPv4 and IPv6: right IDs, names and answers', async () => {
    const srv = await startServer(host, 'default');
    try {
      assert.equal(srv.mode, 'batch');
      const results = await askAll(200); // 19 questions x 200 rounds x 6 clients
      checkResults(results);
      batchAnswers = answersOf(results);
      const s0 = results[0]?.summary ?? {};
      assert.match(s0['A n0'] ?? '', /"A 5 10\.66\.1\.1"/);
      assert.match(s0['A N7'] ?? '', /"A 5 10\.66\.1\.8"/);
      assert.match(s0['A fwd.test'] ?? '', /"A 30 203\.0\.113\.9"/, 'forwarded answers are sent too');
      assert.match(s0['AAAA sb1'] ?? '', /"AAAA 5 fd66::11"/);
      assert.match(s0['A nothere.net'] ?? '', /"rcode":"NXDOMAIN"/);
      assert.match(s0['PTR 1.1.66.10.in-addr.arpa'] ?? '', /n0\.net/);
      assert.match(s0['A n0'] ?? '', /"opt":true/, 'EDNS answered with OPT');
    } finally {
      await srv.cmd('close');
      assert.deepEqual(await srv.exited, { code: 0, signal: null });
    }
  });

  test('CNM_DNS_UDP=dgram gives the same answers', async () => {
    const srv = await startServer(host, 'dgram');
    try {
      assert.equal(srv.mode, 'dgram');
      const results = await askAll(20);
      checkResults(results);
      assert.ok(batchAnswers.length > 0, 'the batched run came first');
      assert.deepEqual(answersOf(results), batchAnswers);
    } finally {
      await srv.cmd('close');
      assert.deepEqual(await srv.exited, { code: 0, signal: null });
    }
  });

  test('removeAddress, addAddress and close while under load: no crash, answers after re-adding', async () => {
    const srv = await startServer(host, 'default');
    assert.equal(srv.mode, 'batch');
    const floods = sb.flatMap((n) => [GW4, GW6].map((gw) => runNode(n, FLOOD.replace("console.log('ready'); ", ''), [gw, '4000'])));
    // Under load: the floods run for a while before the changes (each stops
    // by itself after its 4 s), so some time passes here.
    await elapse(300);
    for (let k = 0; k < 5; k++) {
      await srv.cmd(`remove ${GW4}`);
      await srv.cmd(`remove ${GW6}`);
      await srv.cmd(`add ${GW4}`);
      await srv.cmd(`add ${GW6}`);
    }
    const again = await runNode(sb[0]!, CLIENT, [GW6, '2', JSON.stringify(QUERIES)]);
    checkResults([JSON.parse(again) as ClientResult]);
    await srv.cmd('close'); // still under load
    assert.deepEqual(await srv.exited, { code: 0, signal: null });
    for (const f of await Promise.all(floods)) {
      const r = JSON.parse(f) as { sent: number; got: number };
      assert.ok(r.got > 0, `some flood queries were answered (${r.got} of ${r.sent})`);
    }
  });
});
