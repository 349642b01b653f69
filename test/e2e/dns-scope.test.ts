// A network's resolver serves that network's sandboxes only: a sandbox of
// another network (it can route to the gateway address, a host address)
// gets no UDP answers and its TCP connections are closed at once, so it can
// neither read the names nor starve TCP DNS by holding connections; within
// the network one source address cannot hold them all either.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { inSandbox, ipOf, runSandbox } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('dns-scope', privilegedSkipReason());
const GW_B = '10.72.0.1';
const HOLD = 300; // more than the listener's 256 connections

// Opens n TCP connections to ip:53, says how many it got, and keeps them idle.
const HOLDER = `import socket,sys,time
ss=[]
for i in range(int(sys.argv[2])):
  try: ss.append(socket.create_connection((sys.argv[1],53),timeout=2))
  except OSError: pass
print('opened',len(ss),flush=True)
time.sleep(60)`;

/** Starts a holder in the sandbox; resolves once its connections are open. */
async function holdConnections(d: DaemonHandle, from: string, ip: string, n: number): Promise<ChildProcess> {
  const pid = (await d.client.containerInspect(from)).State.Pid;
  const p = spawn('nsenter', ['-t', String(pid), '-n', 'python3', '-c', HOLDER, ip, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    let out = '';
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /opened (\d+)/.exec(out);
      if (!m) return;
      // The kernel completes the handshakes whatever the listener then does.
      if (Number(m[1]) === n) res();
      else rej(new Error(`only ${m[1]} of ${n} connections opened`));
    });
    p.on('exit', (c) => rej(new Error(`holder exited ${c}: ${out}`)));
  });
  return p;
}

const stopHolder = (p: ChildProcess): void => { if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGKILL'); };

describe(`DNS listener scope${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  before(async () => {
    d = await startTestDaemon();
    await d.client.networkCreate({ Name: 'neta', IPAM: { Config: [{ Subnet: '10.71.0.0/24' }] } });
    await d.client.networkCreate({ Name: 'netb', IPAM: { Config: [{ Subnet: '10.72.0.0/24' }] } });
    await runSandbox(d, 'outsider', { network: 'neta' });
    await runSandbox(d, 'insider', { network: 'netb' });
    await runSandbox(d, 'hog', { network: 'netb' });
  });
  after(async () => { await d?.destroy(); });

  test("a sandbox of another network gets no answer from this network's resolver, over UDP or TCP", async () => {
    const own = await inSandbox(d, 'insider', `dig +tries=1 +time=2 +short @${GW_B} hog`);
    assert.equal(own.code, 0, 'control: a member is answered');
    assert.match(own.stdout, /^10\.72\.0\.\d+$/m);
    const udp = await inSandbox(d, 'outsider', `dig +tries=1 +time=1 @${GW_B} insider`);
    assert.notEqual(udp.code, 0, `no UDP answer for an outsider: ${udp.stdout}`);
    const tcp = await inSandbox(d, 'outsider', `dig +tcp +tries=1 +time=1 @${GW_B} insider`);
    assert.notEqual(tcp.code, 0, `no TCP answer for an outsider: ${tcp.stdout}`);
  });

  for (const [hog, whose] of [['outsider', 'from another network'], ['hog', 'from one member']] as const) {
    test(`${HOLD} idle TCP connections ${whose} do not starve the members' TCP DNS`, async () => {
      const holder = await holdConnections(d, hog, GW_B, HOLD);
      try {
        const r = await inSandbox(d, 'insider', `dig +tcp +tries=1 +time=2 +short @${GW_B} hog`);
        assert.equal(r.code, 0, `TCP query answered: ${r.stdout}`);
        assert.match(r.stdout, /^10\.72\.0\.\d+$/m);
      } finally {
        stopHolder(holder);
      }
    });
  }

  // The resolver's UDP on a network's own gateway bypasses conntrack (one
  // entry per query source port otherwise); the scope above must not
  // depend on it, and queries from another network stay tracked.
  test('UDP queries to the own gateway leave no conntrack entry; from another network they are tracked', async () => {
    const insider = await ipOf(d, 'insider', 'netb');
    const outsider = await ipOf(d, 'outsider', 'neta');
    const own = await inSandbox(d, 'insider', `dig +tries=1 +time=2 +short @${GW_B} hog`);
    assert.equal(own.code, 0, 'control: a member is answered');
    await inSandbox(d, 'outsider', `dig +tries=1 +time=1 @${GW_B} insider`);
    // Nor for its answer (the output path would open one of its own).
    const ct = await d.ns.sh('conntrack -L -p udp 2>/dev/null', { allowFail: true });
    assert.doesNotMatch(ct.stdout, new RegExp(`(src|dst)=${insider.replace(/\./g, '\\.')} `), `no entry for a member's query or its answer:\n${ct.stdout}`);
    assert.match(ct.stdout, new RegExp(`src=${outsider.replace(/\./g, '\\.')} `), `an outsider's query is tracked:\n${ct.stdout}`);
  });
});
