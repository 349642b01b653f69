// The batched UDP path reads on the JS thread (libuv's poll of the socket):
// a listener costs no thread of its own, so a hundred networks do not cost
// a hundred threads, and no batch is handed between threads. Twenty
// listeners in a namespace of their own, the process's thread count before
// and after; then a query to the last one is still answered.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';

const CWD = process.cwd();
const LISTENERS = 20;
const skip = skipUnlessCI('dns-batch-threads', privilegedSkipReason()
  ?? (existsSync(`${CWD}/build/udpbatch.node`) ? null : 'build/udpbatch.node not built (node scripts/build-native.mjs)'));

const SCRIPT = String.raw`
import { createResolver } from '${CWD}/src/dns/index.ts';
import { readdirSync } from 'node:fs';
const threads = () => readdirSync('/proc/self/task').length;
const r = createResolver({ port: 53, resolvConfPath: null });
r.table.addEndpoint({ endpointId: 'a', sandboxId: 'a', networkId: 'n', networkName: 'net', names: ['x'], ipv4: '127.0.0.1', internal: false });
await r.server.addAddress('127.0.0.2');
const before = threads();
for (let i = 3; i < 3 + ${LISTENERS}; i++) await r.server.addAddress('127.0.0.' + i);
const afterAdd = threads();
console.log(JSON.stringify({ mode: r.server.udpMode(), before, afterAdd }));
setTimeout(async () => { await r.close(); process.exit(0); }, 1500);
`;

describe(`batched UDP listeners and threads${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let ns: TestNetns;
  before(async () => { ns = await TestNetns.create('dnsthr'); });
  after(async () => { await ns?.destroy(); });

  test(`${LISTENERS} listeners add no thread per listener, and still answer`, async () => {
    const p = ns.spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: CWD });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    p.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    await new Promise<void>((res) => { const t = setInterval(() => { if (out.includes('afterAdd') || p.exitCode !== null) { clearInterval(t); res(); } }, 20); });
    const dig = await ns.sh(`dig +tries=3 +time=1 +short @127.0.0.${2 + LISTENERS} x`, { allowFail: true });
    await new Promise<void>((res) => { if (p.exitCode !== null) res(); else p.on('exit', () => res()); });
    const line = /\{.*\}/.exec(out)?.[0];
    assert.ok(line, `no report from the resolver: ${out}`);
    const r = JSON.parse(line) as { mode: string; before: number; afterAdd: number };
    assert.equal(r.mode, 'batch');
    // libuv may start a helper thread or two for other work; a thread per
    // listener would add twenty.
    assert.ok(r.afterAdd - r.before < 5, `threads: ${r.before} with one listener, ${r.afterAdd} with ${LISTENERS + 1}`);
    assert.equal(dig.stdout.trim(), '127.0.0.1', `the last listener answers: ${dig.stdout}`);
    assert.equal(p.exitCode, 0, out);
  });
});
