// The Store contract against a real etcd 3.4 (EtcdStore, src/store/etcd-store.ts).
// Tests never use the root namespace's network, not even its loopback: this
// file makes a test namespace and runs itself again inside it (nsenter), and
// that child runs the contract, each test against a fresh etcd listening on
// the namespace's own 127.0.0.1 (the contract starts every store empty, at
// revision 0). etcd's data is in a temp dir; it is killed by its PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after } from 'node:test';
import { EtcdStore } from '../../src/store/etcd-store.ts';
import { storeContract } from '../helpers/store-contract.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { EtcdHandle } from '../helpers/etcd.ts';
import { TestNetns, privilegedSkipReason } from '../helpers/netns.ts';

const CHILD_ENV = 'CNMT_ETCD_CONTRACT_CHILD';

if (process.env[CHILD_ENV] === '1') {
  const running: EtcdHandle[] = [];
  after(async () => { for (const h of running) await h.stop(); });
  let port = 23000;
  storeContract('EtcdStore', async (options) => {
    // A fresh member per store: the contract expects an empty store at revision 0.
    for (const h of running.splice(0)) await h.stop();
    port += 2;
    const h = await startEtcd({ name: `c${port}`, ip: '127.0.0.1', clientPort: port, peerPort: port + 1 });
    running.push(h);
    return EtcdStore.open({ endpoints: [h.url], historyRevisions: options?.historyRevisions });
  });
} else {
  const skip = privilegedSkipReason();
  test('the Store contract holds against etcd 3.4, with the client inside a test namespace', { skip: skip ?? false, timeout: 600_000 }, async () => {
    const ns = await TestNetns.create('etcd');
    try {
      // NODE_TEST_CONTEXT would make the child report to this runner instead of running on its own.
      const env: NodeJS.ProcessEnv = { ...process.env, [CHILD_ENV]: '1' };
      delete env.NODE_TEST_CONTEXT;
      const child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, '--test-reporter=spec', '--disable-warning=ExperimentalWarning', import.meta.filename],
        { stdio: ['ignore', 'pipe', 'pipe'], env });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      const failed = out.split('\n').filter((l) => /✖|not ok|Error/.test(l)).slice(0, 40).join('\n');
      assert.match(out, /ℹ pass [1-9]/, `the contract did not run inside ${ns.name}:\n${out.slice(-4000)}`);
      assert.equal(code, 0, `contract run inside ${ns.name} failed:\n${failed}\n--- tail ---\n${out.slice(-4000)}`);
    } finally {
      await ns.destroy();
    }
  });
}
