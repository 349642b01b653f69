// Bad input at the API: each gets a 4xx with a clear message, the state is
// unchanged and the daemon keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';

const skip = privilegedSkipReason();

describe(`bad input${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let before0 = '';
  const snapshot = async () => JSON.stringify({
    nets: (await d.client.networkList()).map((n) => n.Name).sort(),
    links: (await d.ns.sh('ip -o link show | cut -d: -f2 | sort')).stdout,
  });
  before(async () => {
    d = await startTestDaemon();
    before0 = await snapshot();
  });
  after(async () => { await d?.destroy(); });

  const send = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
    const { request } = await import('node:http');
    return new Promise<{ status: number; json: { message?: string } }>((resolve, reject) => {
      const req = request({ socketPath: d.socket, method, path, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => {
          let json = {};
          try { json = JSON.parse(text); } catch { /* empty */ }
          resolve({ status: res.statusCode ?? 0, json });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };

  test('malformed and mistyped bodies', async () => {
    const cases: [string, string, string, number, RegExp][] = [
      ['POST', '/networks/create', '{"Name": "x",', 400, /invalid JSON/],
      ['POST', '/networks/create', '[1,2]', 400, /expected an object/],
      ['POST', '/networks/create', '', 400, /body is empty/],
      ['POST', '/networks/create', '{"Name": 42}', 400, /field Name of type string/],
      ['POST', '/networks/create', '{"Name": "x", "Internal": "yes"}', 400, /field Internal of type bool/],
      ['POST', '/networks/create', '{"Name": "x", "IPAM": {"Config": [{"Subnet": 10}]}}', 400, /IPAM\.Config\[0\]\.Subnet/],
      ['POST', '/networks/create', '{"Name": "x", "Labels": {"a": 1}}', 400, /Labels\.a/],
      ['POST', '/networks/create', '{"Name": "has space"}', 400, /invalid network name "has space"/],
      ['POST', '/networks/create', '{"Name": "   "}', 400, /network name is required/],
      ['POST', '/networks/create', '{"Name": "x", "IPAM": {"Config": [{"Subnet": "10.0.0.0/33"}]}}', 400, /10\.0\.0\.0\/33/],
      ['POST', '/networks/create', '{"Name": "x", "IPAM": {"Config": [{"Subnet": "not-a-cidr"}]}}', 400, /not-a-cidr/],
      ['POST', '/networks/create', '{"Name": "x", "Options": {"com.docker.network.driver.mtu": "abc"}}', 400, /invalid MTU "abc"/],
      ['POST', '/networks/create', '{"Name": "x", "Options": {"com.docker.network.bridge.enable_icc": "maybe"}}', 400, /expected true or false/],
      ['POST', '/networks/create', '{"Name": "x", "Options": {"com.docker.network.bridge.name": "waytoolongbridgename0"}}', 400, /invalid bridge name/],
      ['POST', '/networks/bridge/connect', '{"Container": 5}', 400, /field Container of type string/],
      ['POST', '/networks/bridge/connect', '{}', 400, /no container specified/],
      ['POST', '/networks/nosuch/connect', '{"Container": "x"}', 404, /network nosuch not found/],
      ['POST', '/networks/bridge/disconnect', '{"Container": "nosuch"}', 404, /No such container: nosuch/],
      ['GET', '/networks?filters=notjson', '', 400, /invalid filters/],
      ['GET', '/networks/create/extra/path', '', 404, /page not found/],
      ['GET', '/v1.12/networks', '', 400, /client version 1\.12 is too old/],
      ['GET', '/v1.99/networks', '', 400, /client version 1\.99 is too new/],
      ['POST', '/containers/create?name=a%20b', '{"Cmd":["true"]}', 400, /Invalid container name/],
      ['POST', '/containers/create?name=p', '{"Cmd":["true"],"HostConfig":{"PortBindings":{"99999/tcp":[]}}}', 400, /invalid port "99999\/tcp"/],
      ['DELETE', '/containers/nosuch', '', 404, /No such container/],
    ];
    for (const [method, path, body, status, re] of cases) {
      const r = await send(method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${body}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.message ?? '', re, `${method} ${path} ${body}`);
    }
  });

  test('a 10 MB body is refused with 413', async () => {
    const big = Buffer.alloc(10 << 20, 'a');
    const r = await send('POST', '/networks/create', big).catch((e: Error) => ({ status: -1, json: { message: e.message } }));
    assert.ok(r.status === 413 || r.status === -1, `status ${r.status}`);
    if (r.status === 413) assert.match(r.json.message ?? '', /too large/);
  });

  test('state is unchanged and the daemon keeps serving', async () => {
    assert.equal(await snapshot(), before0);
    assert.equal(await d.client.ping(), 'OK');
  });
});
