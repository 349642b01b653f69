// Bad input at the API: each gets a 4xx with a clear message, the state is
// unchanged and the daemon keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { privilegedSkipReason } from '../helpers/netns.ts';
import { skipUnlessCI } from '../helpers/ci.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { DaemonHandle } from '../helpers/daemon.ts';
import { runSandbox } from '../helpers/sandbox.ts';

const skip = skipUnlessCI('bad-input', privilegedSkipReason());

describe(`bad input${skip ? ` (skipped: ${skip})` : ''}`, { skip: skip ?? false }, () => {
  let d: DaemonHandle;
  let before0 = '';
  // Everything a refused request could have left: records in the API,
  // links and addresses in the daemon's namespace, firewall elements, and
  // the networks the running sandbox is on.
  const snapshot = async () => JSON.stringify({
    nets: (await d.client.networkList()).map((n) => n.Name).sort(),
    sandboxes: (await d.client.containerList(true)).map((c) => c.Names[0]).sort(),
    links: (await d.ns.sh('ip -o link show | cut -d: -f2 | sort')).stdout,
    addrs: (await d.ns.sh('ip -o addr show | cut -d" " -f2,7 | sort')).stdout,
    nft: (await d.ns.sh('nft -s list ruleset')).stdout,
    attached: Object.keys((await d.client.containerInspect('runner')).NetworkSettings.Networks).sort(),
  });
  before(async () => {
    d = await startTestDaemon();
    // A user network and a running sandbox on the default bridge, for the
    // endpoint settings and connects below.
    await d.client.networkCreate({ Name: 'usernet', IPAM: { Config: [{ Subnet: '10.77.0.0/24' }] } });
    await runSandbox(d, 'runner');
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

  // Each field that becomes a line of /etc/hosts or resolv.conf, a hostname
  // or a DNS name: a newline would add lines of the caller's choosing
  // (Docker 20.10 lets Hostname and ExtraHosts through).
  test('names that reach /etc/hosts, resolv.conf or the DNS: 400 naming the field', async () => {
    const create = (extra: object) => JSON.stringify({ Cmd: ['sleep', 'infinity'], ...extra });
    const long = 'a'.repeat(1000);
    const cases: [object, RegExp][] = [
      [{ Hostname: 'web\n10.6.6.6 evil' }, /invalid Hostname "web\\n10\.6\.6\.6 evil": expected an RFC 1123 host name/],
      [{ Hostname: long }, /invalid Hostname "a{80}\.\.\." \(1000 characters\): expected at most 64 characters/],
      [{ Hostname: 'under_score' }, /invalid Hostname "under_score"/],
      [{ Hostname: '-web' }, /invalid Hostname "-web"/],
      [{ Domainname: 'example.org\n10.6.6.6 evil' }, /invalid Domainname "example\.org\\n10\.6\.6\.6 evil"/],
      [{ HostConfig: { ExtraHosts: ['db\n10.6.6.6 evil:10.0.0.5'] } }, /invalid ExtraHosts entry "db\\n10\.6\.6\.6 evil:10\.0\.0\.5": host name/],
      [{ HostConfig: { ExtraHosts: ['db:10.0.0.5\n10.6.6.6 evil'] } }, /invalid ExtraHosts entry .*expected HOST:IP/],
      [{ HostConfig: { DnsSearch: ['example.org\nnameserver 10.6.6.6'] } }, /invalid DnsSearch "example\.org\\nnameserver 10\.6\.6\.6"/],
      [{ HostConfig: { DnsOptions: ['ndots:1\nnameserver 10.6.6.6'] } }, /invalid DnsOptions "ndots:1\\nnameserver 10\.6\.6\.6": expected a resolv\.conf option/],
      [{ HostConfig: { Dns: ['0'] } }, /invalid Dns "0": expected an IP address/],
      [{ HostConfig: { Dns: ['10.0.0.1\nnameserver 10.6.6.6'] } }, /invalid Dns /],
      [{ HostConfig: { NetworkMode: 'usernet' }, NetworkingConfig: { EndpointsConfig: { usernet: { Aliases: [long] } } } },
        /invalid Aliases entry "a{80}\.\.\." \(1000 characters\): expected a DNS name of at most 253 characters/],
      [{ HostConfig: { NetworkMode: 'usernet' }, NetworkingConfig: { EndpointsConfig: { usernet: { Aliases: ['x\ny'] } } } }, /invalid Aliases entry "x\\ny"/],
      [{ HostConfig: { NetworkMode: 'usernet' }, NetworkingConfig: { EndpointsConfig: { usernet: { MacAddress: '01:00:5e:00:00:01' } } } },
        /invalid MacAddress "01:00:5e:00:00:01": a multicast address/],
    ];
    for (const [extra, re] of cases) {
      const r = await send('POST', '/containers/create?name=bad', create(extra));
      assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.message ?? '', re, JSON.stringify(extra));
    }
    const name = await send('POST', `/containers/create?name=${'n'.repeat(64)}`, create({}));
    assert.equal(name.status, 400);
    assert.match(name.json.message ?? '', /Invalid container name .*it is also its DNS name/);
  });

  test('connect: a long alias or a multicast MAC is a 400 before anything changes', async () => {
    const cases: [object, RegExp][] = [
      [{ Aliases: ['a'.repeat(1000)] }, /invalid Aliases entry "a{80}\.\.\." \(1000 characters\)/],
      [{ Aliases: ['a'.repeat(64)] }, /labels of 1-63 characters/],
      [{ MacAddress: '01:00:5e:00:00:01' }, /invalid MacAddress "01:00:5e:00:00:01": a multicast address/],
      [{ MacAddress: '00:00:00:00:00:00' }, /invalid MacAddress .*all-zero/],
    ];
    for (const [cfg, re] of cases) {
      const r = await send('POST', '/networks/usernet/connect', JSON.stringify({ Container: 'runner', EndpointConfig: cfg }));
      assert.equal(r.status, 400, `${JSON.stringify(cfg)}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.message ?? '', re, JSON.stringify(cfg));
    }
  });

  // Docker 20.10 answers these with a 500, or accepts the subnets and fails
  // later in odd ways.
  test('unvalidated fields and unusable subnets: 400 naming the field and why', async () => {
    const net = (name: string, subnet: string) => JSON.stringify({ Name: name, EnableIPv6: subnet.includes(':'), IPAM: { Config: [{ Subnet: subnet }] } });
    const cases: [string, string, string, RegExp][] = [
      ['POST', '/containers/create?name=bad', '{"Cmd":5}', /field Cmd of type \[\]string/],
      ['POST', '/containers/create?name=bad', '{"Cmd":["true"],"Entrypoint":5}', /field Entrypoint of type \[\]string/],
      ['POST', '/containers/create?name=bad', '{"Cmd":["true"],"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":{}}]}}}', /PortBindings\["80\/tcp"\]\[0\]\.HostIp of type string/],
      ['POST', '/containers/create?name=bad', '{"Cmd":["true"],"NetworkingConfig":{"EndpointsConfig":{"usernet":{"Aliases":5}}}}', /EndpointsConfig\["usernet"\]\.Aliases/],
      ['GET', '/networks/%zz', '', /invalid id in the path "%zz": malformed percent-encoding/],
      ['GET', '/containers/%e2%82/json', '', /invalid id in the path "%e2%82"/],
      ['POST', '/networks/create', net('lo4', '127.0.0.0/8'), /invalid subnet 127\.0\.0\.0\/8: it overlaps the loopback range/],
      ['POST', '/networks/create', net('lo6', '::1/128'), /invalid subnet ::1\/128: it overlaps the loopback address ::1/],
      ['POST', '/networks/create', net('mc4', '224.0.0.0/24'), /invalid subnet 224\.0\.0\.0\/24: it overlaps the multicast range/],
      ['POST', '/networks/create', net('mc6', 'ff00::/8'), /invalid subnet ff00::\/8: it overlaps the multicast range/],
      ['POST', '/networks/create', net('all6', '::/0'), /invalid subnet ::\/0: it overlaps the loopback address ::1/],
      ['POST', '/networks/create', net('one6', 'fd00::/128'), /invalid subnet fd00::\/128: no room for a gateway and an endpoint/],
      ['POST', '/networks/create', net('one4', '10.1.0.0/32'), /invalid subnet 10\.1\.0\.0\/32: no room for a gateway and an endpoint/],
    ];
    for (const [method, path, body, re] of cases) {
      const r = await send(method, path, body);
      assert.equal(r.status, 400, `${method} ${path} ${body}: ${JSON.stringify(r.json)}`);
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
