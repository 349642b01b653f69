// The cluster store over TLS (--cluster-store-opt kv.cacertfile, kv.certfile,
// kv.keyfile): etcd 3.4 serving https and asking clients for a certificate
// (--client-cert-auth), two hosts sharing an overlay network through it.
// The certificates are made here with openssl, in a temp dir.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { etcdIp, startCluster } from '../helpers/cluster.ts';
import type { TestCluster } from '../helpers/cluster.ts';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { inSandbox, runSandbox } from '../helpers/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = skipUnlessCI('overlay over a TLS cluster store', privilegedSkipReason());

/** A CA and one certificate for etcd's address, usable to serve and as a client. */
function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const sh = (cmd: string): void => { execFileSync('sh', ['-c', cmd], { cwd: dir, stdio: 'ignore' }); };
  sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=cnmt-ca');
  sh('openssl req -newkey rsa:2048 -nodes -keyout key.pem -out req.csr -subj /CN=cnmt-etcd');
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=IP:${etcdIp(0)}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  sh('openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 1 -extfile ext.cnf');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

describe('overlay over a TLS cluster store', { skip }, () => {
  let c: TestCluster;
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnmt-tls-'));
    c = await startCluster(2, { tls: makeCerts(dir) });
  });
  after(async () => {
    await c?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two hosts share an overlay network through etcd over https with client certificates', async () => {
    const [A, B] = c.hosts as [DaemonHandle, DaemonHandle];
    assert.match(c.etcd[0]!.url, /^https:/);
    await A.docker(['network', 'create', '-d', 'overlay', 'sec']);
    await waitFor(async () => (await B.client.networkList()).some((n) => n.Name === 'sec'), { what: 'the network on B' });
    await runSandbox(A, 'ta', { network: 'sec' });
    await runSandbox(B, 'tb', { network: 'sec' });
    await waitFor(async () => (await inSandbox(A, 'ta', 'ping -c 2 -i 0.2 -W 1 tb')).code === 0, { what: 'ta -> tb by name', timeoutMs: 15_000 });
    // The docker CLI of today drops ClusterStore (gone in 23.0): `cnm doctor` shows the cluster.
    const doctor = await A.cli(['doctor'], { allowFail: true });
    assert.match(doctor.stdout, /cluster: +ok \(store etcd:\/\/192\.168\.77\.2:2379/);
    assert.equal(doctor.stdout.match(/^ {2}node [0-9a-f]{12} VTEP /gm)?.length, 2, doctor.stdout);
  });
});
