// Imports flow one way. Each top-level folder of src/ may import only the
// folders listed for it here; a new arrow against the flow fails the build
// (npm test runs this). The client commands of the CLI load no addon: the
// static import graph of src/cli/main.ts reaches no native module and no
// SQLite (the daemon is imported dynamically, by `cnm daemon` alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

/** The layers, lowest first; a folder may import those listed for it. */
const ALLOWED: Record<string, string[]> = {
  model: [],
  netlink: ['model'],
  ipam: ['model'],
  store: ['model'],
  dns: ['model', 'udp'],
  firewall: ['model'],
  logs: ['model'],
  runtime: ['model'],
  sandbox: ['model'],
  images: ['model'],
  drivers: ['model', 'netlink'],
  // DHCP: the wire format, the server on bridges, the client for LAN leases.
  dhcp: ['model', 'netlink', 'udp'],
  core: ['model', 'netlink', 'ipam', 'store', 'dns', 'firewall', 'logs', 'runtime', 'sandbox', 'drivers', 'images', 'dhcp'],
  // A daemon's place in a cluster of hosts (overlay on etcd): follows the
  // global store and feeds the core's state, the DNS, the overlay data plane.
  cluster: ['model', 'netlink', 'store', 'dns', 'firewall', 'drivers', 'core'],
  // The API maps every layer's errors to HTTP statuses (api/status.ts); /info and doctor show the cluster.
  api: ['model', 'netlink', 'ipam', 'store', 'dns', 'firewall', 'logs', 'runtime', 'sandbox', 'drivers', 'core', 'images', 'dhcp', 'cluster'],
  // The client speaks the API's wire types, nothing else.
  client: ['api'],
  // The composition root.
  daemon: ['model', 'netlink', 'ipam', 'store', 'dns', 'firewall', 'logs', 'runtime', 'sandbox', 'drivers', 'core', 'api', 'client', 'images', 'dhcp', 'cluster'],
  // images: reference.ts alone (names as Docker normalises them); the
  // addon-free check below keeps the rest of the image store out.
  // cluster: config.ts alone (the --cluster-* flags are checked before the daemon loads).
  cli: ['model', 'ipam', 'runtime', 'api', 'client', 'daemon', 'images', 'cluster'],
  walkthrough: ['client', 'cli', 'api', 'model'],
  native: [],
  // The batched UDP addon's loader and record layout (DNS, DHCP).
  udp: [],
};

function* tsFiles(dir: string): Generator<string> {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (n.endsWith('.ts')) yield p;
  }
}

/**
 * Static imports (`import ... from`, `export ... from`); dynamic import() is
 * not one. `runtime`: only those that load code (not `import type`).
 */
function staticImports(file: string, runtime = false): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s)?[^;]*?from\s+'(\.[^']+)'/gms)) {
    if (runtime && m[2]) continue;
    out.push(normalize(join(dirname(file), m[3] ?? '')));
  }
  return out;
}

const topOf = (file: string): string => relative(SRC, file).split('/')[0] ?? '';

test('every import follows the layering', () => {
  const bad: string[] = [];
  for (const f of tsFiles(SRC)) {
    const from = topOf(f);
    const allowed = ALLOWED[from];
    assert.ok(allowed, `src/${from} has no entry in the layering table`);
    for (const target of staticImports(f)) {
      const to = topOf(target);
      if (to !== from && !allowed.includes(to)) bad.push(`${relative(SRC, f)} -> ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(bad, [], `imports against the layering:\n${bad.join('\n')}`);
});

test('the CLI takes only image references from src/images', () => {
  const bad: string[] = [];
  for (const f of tsFiles(join(SRC, 'cli'))) {
    for (const target of staticImports(f)) {
      if (topOf(target) === 'images' && relative(SRC, target) !== 'images/reference.ts') bad.push(`${relative(SRC, f)} -> ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the CLI loads no addon and no SQLite for its client commands', () => {
  const seen = new Set<string>();
  const todo = [join(SRC, 'cli', 'main.ts')];
  while (todo.length) {
    const f = todo.pop() ?? '';
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...staticImports(f, true));
  }
  const heavy = [...seen].filter((f) => {
    const text = readFileSync(f, 'utf8');
    return /\.node'\)|node:sqlite|build\/[a-z]+\.node/.test(text);
  }).map((f) => relative(SRC, f));
  assert.deepEqual(heavy, []);
});

test('one IP parser: the netlink, DNS and firewall forms agree with model/net.ts', async () => {
  const net = await import('../../src/model/net.ts');
  const nl = await import('../../src/netlink/address.ts');
  const dns = await import('../../src/dns/ip.ts');
  const fw = await import('../../src/firewall/addr.ts');
  for (const ip of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '::', '::1', 'fd00::1', '2001:DB8:0:0:1:0:0:1', '::ffff:10.1.2.3', 'fe80::1%eth0']) {
    const b = net.ipBytes(ip);
    assert.ok(b, ip);
    const bare = ip.split('%')[0] ?? ip;
    if (!ip.includes('%')) assert.deepEqual([...(nl.parseIp(ip)?.bytes ?? [])], [...b], `netlink ${ip}`);
    assert.deepEqual([...(b.length === 4 ? dns.ipv4Bytes(ip) : dns.ipv6Bytes(ip))], [...b], `dns ${ip}`);
    if (b.length === 16) assert.deepEqual(fw.ipv6Bytes(bare), [...b], `firewall ${ip}`);
    assert.equal(dns.canonicalIp(ip), net.canonicalIp(ip));
  }
  assert.equal(net.canonicalIp('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  for (const bad of ['1.2.3', '01.2.3.4', '1.2.3.256', ':::', '1::2::3', 'x', '']) assert.equal(net.ipBytes(bad), null, bad);
});
