// Which source addresses a listener serves: the subnets of its network. A
// sandbox of another network can route to this network's gateway address
// (it is a host address), but it gets no service here: its UDP queries are
// dropped and its TCP connections closed at once, so it can neither read
// this network's names nor tie up this listener's connections.
import { isIPv4 } from 'node:net';
import { DnsError } from './errors.ts';
import { ipv4Bytes, ipv6Bytes } from './ip.ts';

interface Prefix { v4: boolean; bytes: Buffer; len: number }

/** Decisions remembered per source text; a listener sees few distinct clients. */
const CACHE_MAX = 4096;

export class SourceScope {
  private readonly prefixes: Prefix[];
  private readonly seen = new Map<string, boolean>();

  /** `subnets`: CIDRs ("172.18.0.0/16", "fd00::/64"). */
  constructor(subnets: string[]) {
    this.prefixes = subnets.map(parsePrefix);
  }

  /** `ip` as the socket reports it (canonical). */
  allows(ip: string): boolean {
    let ok = this.seen.get(ip);
    if (ok !== undefined) return ok;
    ok = this.match(ip);
    if (this.seen.size >= CACHE_MAX) this.seen.clear();
    this.seen.set(ip, ok);
    return ok;
  }

  private match(ip: string): boolean {
    let bytes: Buffer;
    const v4 = isIPv4(ip);
    try {
      bytes = v4 ? ipv4Bytes(ip) : ipv6Bytes(ip);
    } catch {
      return false;
    }
    return this.prefixes.some((p) => p.v4 === v4 && inPrefix(bytes, p));
  }
}

function parsePrefix(cidr: string): Prefix {
  const [addr = '', lenText = ''] = cidr.split('/');
  const v4 = isIPv4(addr);
  const len = Number(lenText);
  if (!/^\d+$/.test(lenText) || len > (v4 ? 32 : 128)) {
    throw new DnsError({ code: 'BAD_IP', value: cidr, expected: 'a subnet in CIDR form (172.18.0.0/16, fd00::/64)' });
  }
  return { v4, bytes: v4 ? ipv4Bytes(addr) : ipv6Bytes(addr), len };
}

function inPrefix(b: Buffer, p: Prefix): boolean {
  const full = p.len >> 3;
  for (let i = 0; i < full; i++) if (b[i] !== p.bytes[i]) return false;
  const rest = p.len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((b[full] ?? 0) & mask) === ((p.bytes[full] ?? 0) & mask);
}
