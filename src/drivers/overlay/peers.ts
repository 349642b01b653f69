// Remote endpoints of an overlay network, programmed into its vxlan0 as
// static entries (learning is off: the cluster store, not flooded traffic,
// says where a MAC lives; PROTOCOLS §6.4 item 8):
//   per remote endpoint   FDB  <mac> dst <vtep> self permanent
//                         neigh <ip> lladdr <mac> nud permanent (IPv4 and IPv6)
//   per remote VTEP       FDB  00:00:00:00:00:00 dst <vtep> self permanent
// The all-zeros entries are the flood list: broadcast and unknown unicast
// (ARP, neighbour discovery, DHCP) are copied to every VTEP that has
// members (head-end replication), so ARP works even before, or without, a
// neighbour entry. setPeers makes the tables equal the list it is given
// (adds what is missing, removes what is no longer listed) and is
// idempotent: the control plane calls it with the full set after every
// change and after a resync.
import { invalid } from '../../model/errors.ts';
import { formatIp, parseIp, parseMac } from '../../netlink/index.ts';
import type { Netns, RtnlBatch } from '../../netlink/index.ts';
import { OVL_VXLAN } from './options.ts';

/** One remote endpoint, plain data (what the cluster store holds for it). */
export interface OverlayPeer {
  /** Its IPv4 address, bare or with a prefix ("10.0.0.3" or "10.0.0.3/24"). */
  ip?: string;
  /** Its IPv6 address, bare or with a prefix. */
  ip6?: string;
  /** Its MAC. */
  mac: string;
  /** The VTEP (underlay address) of the host it lives on. */
  vtep: string;
}

const ZERO_MAC = '00:00:00:00:00:00';
const bare = (ip: string): string => ip.split('/')[0]!;
const isMissing = (e: unknown): boolean => ['ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL'].includes((e as { code?: string }).code ?? '');

/** The address in the kernel's spelling, or null when it is none of `family`. */
function canon(ip: string | undefined, family: 4 | 6): string | null {
  const p = typeof ip === 'string' ? parseIp(bare(ip)) : null;
  return p && p.family === family ? formatIp(p.bytes) : null;
}

function check(p: OverlayPeer, i: number): void {
  const where = `peer ${i} (${JSON.stringify(p)})`;
  if (!p || typeof p !== 'object') throw invalid(`${where}: expected { ip, ip6?, mac, vtep }`);
  if (typeof p.mac !== 'string' || !parseMac(p.mac) || p.mac === ZERO_MAC) throw invalid(`${where}: invalid mac, expected a unicast MAC such as 02:42:0a:00:00:03`);
  if (typeof p.vtep !== 'string' || !parseIp(p.vtep)) throw invalid(`${where}: invalid vtep, expected an IP address`);
  if (p.ip !== undefined && !canon(p.ip, 4)) throw invalid(`${where}: invalid ip, expected an IPv4 address`);
  if (p.ip6 !== undefined && !canon(p.ip6, 6)) throw invalid(`${where}: invalid ip6, expected an IPv6 address`);
}

/** The entries the tables should hold, own VTEP left out. */
export function desiredTables(peers: readonly OverlayPeer[], ownVtep: string): { fdb: Map<string, { mac: string; dst: string }>; neigh: Map<string, string> } {
  peers.forEach(check);
  const fdb = new Map<string, { mac: string; dst: string }>();
  const neigh = new Map<string, string>();
  const own = parseIp(ownVtep);
  for (const p of peers) {
    const v = parseIp(p.vtep)!;
    // A local endpoint is on br0 already; traffic to it never leaves the host.
    if (own && v.family === own.family && v.bytes.equals(own.bytes)) continue;
    const dst = formatIp(v.bytes);
    const mac = p.mac.toLowerCase();
    fdb.set(`${mac}|${dst}`, { mac, dst });
    fdb.set(`${ZERO_MAC}|${dst}`, { mac: ZERO_MAC, dst });
    const ip = canon(p.ip, 4);
    const ip6 = canon(p.ip6, 6);
    if (ip) neigh.set(ip, mac);
    if (ip6) neigh.set(ip6, mac);
  }
  return { fdb, neigh };
}

/** Changes per sendmsg: one round trip each, the acknowledgements well inside a socket buffer. */
const BATCH = 256;

type Change = (b: RtnlBatch) => RtnlBatch;

/** Runs the changes in batches; `tolerant`: entries already gone are fine (deletions). */
async function run(ns: Netns, changes: readonly Change[], tolerant: boolean): Promise<void> {
  for (let i = 0; i < changes.length; i += BATCH) {
    try {
      await ns.rtnl.batch((b) => { for (const c of changes.slice(i, i + BATCH)) c(b); });
    } catch (e) {
      const errors = e instanceof AggregateError ? e.errors : [e];
      const real = errors.filter((x) => !(tolerant && isMissing(x)));
      if (real.length) throw real.length === 1 ? real[0] : new AggregateError(real, (e as Error).message);
    }
  }
}

/**
 * Makes vxlan0's FDB and neighbour tables in `ns` match `peers`: one dump
 * of each, then the removals and the additions, each in as few requests as
 * possible (a full resync of a large network is a handful of round trips).
 */
export async function programPeers(ns: Netns, peers: readonly OverlayPeer[], ownVtep: string): Promise<{ added: number; removed: number }> {
  const want = desiredTables(peers, ownVtep);
  const [fdb, neigh] = await Promise.all([ns.rtnl.fdbList(OVL_VXLAN), ns.rtnl.neighList(OVL_VXLAN)]);
  const dels: Change[] = [];
  const adds: Change[] = [];
  // The device's own remote entries carry a destination; the bridge's
  // entries for the vxlan0 port (learned MACs) do not, and are the bridge's.
  const haveFdb = new Set<string>();
  for (const e of fdb) {
    if (!e.dst || !e.self) continue;
    const key = `${e.mac}|${e.dst}`;
    if (want.fdb.has(key)) { haveFdb.add(key); continue; }
    // With dst: only that remote goes (a MAC can have several).
    dels.push((b) => b.fdbDel({ dev: OVL_VXLAN, mac: e.mac, dst: e.dst, self: true }));
  }
  const haveNeigh = new Map<string, string>();
  for (const n of neigh) {
    if (!n.permanent) continue;
    if (want.neigh.get(n.ip) === n.mac) { haveNeigh.set(n.ip, n.mac); continue; }
    if (want.neigh.has(n.ip)) continue; // replaced below
    dels.push((b) => b.neighDel({ dev: OVL_VXLAN, ip: n.ip }));
  }
  for (const [key, f] of want.fdb) {
    if (haveFdb.has(key)) continue;
    // append: the flood list (all zeros) holds one remote per VTEP, and a
    // moved MAC briefly has its old remote (removed first) and the new one.
    adds.push((b) => b.fdbAdd({ dev: OVL_VXLAN, mac: f.mac, dst: f.dst, self: true, permanent: true, append: true }));
  }
  for (const [ip, mac] of want.neigh) {
    if (haveNeigh.get(ip) === mac) continue;
    adds.push((b) => b.neighAdd({ dev: OVL_VXLAN, ip, mac, replace: true }));
  }
  await run(ns, dels, true);
  await run(ns, adds, false);
  return { added: adds.length, removed: dels.length };
}
