// Addresses inside one subnet: reserved addresses, dynamic allocation (next-fit
// with wraparound inside the ip-range), static requests anywhere in the subnet,
// release, and rebuilding from persisted endpoint addresses.
//
// Positions are numbers relative to a "window" of at most 2^32 addresses, kept
// in a RunSet (runs of used positions), so a /8 or an IPv6 /64 costs what its
// runs cost and no operation walks addresses one by one. IPv4 subnets and IPv6
// subnets of /96 or longer fit the window whole. For larger IPv6 subnets the
// window is the first 2^32 addresses of the ip-range (or subnet): dynamic
// allocation stays inside it (4.29e9 addresses, beyond any daemon's memory)
// and statics beyond it go to a Set keyed by offset.
import { TWO_32 } from './addr-codec.ts';
import { ADDRESS_BITS, formatAddress, parseAddress, parseAddressOf } from './addr.ts';
import type { Family } from './addr.ts';
import { IpamError } from './errors.ts';
import { formatPrefix, parsePrefix, prefixContains, prefixSize } from './prefix.ts';
import { RunSet } from './run-set.ts';
import { POS_FAR, POS_OUTSIDE, SubnetWindow } from './subnet-window.ts';

export interface SubnetAllocatorConfig {
  /** Canonical CIDR (10.0.0.0/24, fd00::/64). */
  subnet: string;
  /** Canonical CIDR inside the subnet: dynamic allocation stays in it. */
  ipRange?: string;
  /** A given gateway; undefined or '' picks the first usable address; null reserves none. */
  gateway?: string | null;
  /** Auxiliary addresses (name -> address), reserved: never handed out. */
  auxAddresses?: Record<string, string>;
  /** Same as auxAddresses (the brief's name); both may be given. */
  aux?: Record<string, string>;
}

export interface RestoreOptions {
  /** The `cursor` saved before the restart; default: after the highest restored address in the range. */
  cursor?: string;
}

export interface AllocatorStats {
  /** Addresses handed out (dynamic, static, restored); reserved ones not counted. */
  used: number;
  /** Network, broadcast, gateway and auxiliary addresses. */
  reserved: number;
  /** Addresses in the subnet. */
  size: bigint;
  /** Addresses dynamic allocation may hand out from (ip-range or subnet, window-limited). */
  rangeSize: bigint;
  /** Runs in the used set: memory grows with this, not with `used`. */
  runs: number;
  /** Approximate bytes held by the used set (statics beyond the 2^32 window not included). */
  bytes: number;
}

export class SubnetAllocator {
  readonly family: Family;
  readonly subnet: string;
  readonly ipRange: string | null;
  readonly gateway: string | null;
  private readonly size: bigint;
  private readonly win: SubnetWindow;
  /** Dynamic allocation range, as window positions. */
  private readonly dynLo: number;
  private readonly dynHi: number;
  /** Next-fit cursor (a window position). */
  private next: number;
  private readonly used = new RunSet();
  /** Statics beyond the window, by offset from the network address. */
  private readonly far = new Set<bigint>();
  /** Reserved addresses by canonical text, and by position for the hot path. */
  private readonly reservedRoles = new Map<string, string>();
  private readonly reservedPos = new Map<number, string>();
  private readonly reservedFar = new Map<bigint, string>();

  constructor(cfg: SubnetAllocatorConfig) {
    const p = parsePrefix(cfg.subnet);
    this.family = p.family;
    this.subnet = formatPrefix(p);
    this.size = prefixSize(p);
    const hostBits = ADDRESS_BITS[p.family] - p.bits;

    let rangeOff = 0n;
    let rangeSize = this.size;
    this.ipRange = null;
    if (cfg.ipRange !== undefined && cfg.ipRange !== '') {
      const r = parsePrefix(cfg.ipRange, { what: 'ip-range' });
      if (r.family !== p.family) {
        throw new IpamError({ code: 'FAMILY', what: 'ip-range', value: cfg.ipRange, expected: p.family, subnet: this.subnet });
      }
      if (!prefixContains(p, r)) {
        throw new IpamError({ code: 'OUTSIDE', what: 'ip-range', address: formatPrefix(r), subnet: this.subnet });
      }
      this.ipRange = formatPrefix(r);
      rangeOff = r.addr - p.addr;
      rangeSize = prefixSize(r);
    }
    if (hostBits <= 32) {
      this.win = new SubnetWindow(p, 0n, Number(this.size));
      this.dynLo = Number(rangeOff);
      this.dynHi = Number(rangeOff + rangeSize - 1n);
    } else {
      // Dynamic allocation within the first 2^32 addresses of the range.
      this.win = new SubnetWindow(p, rangeOff, rangeSize > BigInt(TWO_32) ? TWO_32 : Number(rangeSize));
      this.dynLo = 0;
      this.dynHi = this.win.length - 1;
    }
    this.next = this.dynLo;

    // RFC 3021 (/31) and RFC 6164 (/127) use both addresses as hosts, and a /32
    // or /128 has only one: no network or broadcast reservation there.
    const pointToPoint = hostBits <= 1;
    if (!pointToPoint) {
      this.reserve(p.addr, 'network');
      // IPv6 has no broadcast; the first address (subnet-router anycast) is reserved above.
      if (p.family === 4) this.reserve(p.addr + this.size - 1n, 'broadcast');
    }

    let gateway: string | null = null;
    // '' means "not given" as in Docker's IPAMConfig.Gateway; only null means none.
    if (cfg.gateway === undefined || cfg.gateway === '') {
      // First usable address of the subnet (.1; .0 of a /31, ::0 of a /127). A
      // /32 or /128 has room for the endpoint only. Docker takes the gateway
      // from the ip-range when one is set; we keep it at the subnet's start so
      // it does not move when a range is added (documented in docs/ipam.md).
      if (hostBits > 0) {
        const off = pointToPoint ? 0n : 1n;
        gateway = formatAddress({ family: p.family, value: p.addr + off });
        this.reserve(p.addr + off, 'gateway');
      }
    } else if (cfg.gateway !== null) {
      const a = parseAddressOf(cfg.gateway, p.family, 'gateway', this.subnet);
      gateway = formatAddress(a);
      if (!prefixContains(p, a)) throw new IpamError({ code: 'OUTSIDE', what: 'gateway', address: gateway, subnet: this.subnet });
      this.reserve(a.value, 'gateway', 'gateway');
    }
    this.gateway = gateway;

    for (const [name, text] of [...Object.entries(cfg.auxAddresses ?? {}), ...Object.entries(cfg.aux ?? {})]) {
      const what = `auxiliary address ${name}`;
      const a = parseAddressOf(text, p.family, what, this.subnet);
      if (!prefixContains(p, a)) throw new IpamError({ code: 'OUTSIDE', what, address: formatAddress(a), subnet: this.subnet });
      this.reserve(a.value, 'auxiliary', what);
    }
  }

  /** Rebuilds an allocator after a restart from the addresses endpoints hold. */
  static restore(cfg: SubnetAllocatorConfig, used: Iterable<string>, opts: RestoreOptions = {}): SubnetAllocator {
    const a = new SubnetAllocator(cfg);
    let highest = -1;
    for (const text of used) {
      const pos = a.locateOrThrow(text);
      if (a.roleAt(pos) !== undefined) {
        throw new IpamError({ code: 'IN_USE', address: a.win.text(pos) });
      }
      a.markPos(pos);
      if (pos >= a.dynLo && pos <= a.dynHi && pos > highest) highest = pos;
    }
    if (opts.cursor !== undefined) {
      const pos = a.locateOrThrow(opts.cursor);
      if (pos >= a.dynLo && pos <= a.dynHi) a.next = pos;
    } else if (highest >= 0) {
      a.next = highest + 1 > a.dynHi ? a.dynLo : highest + 1;
    }
    return a;
  }

  /**
   * Hands out an address. Without `requested`: the next free address at or
   * after the cursor inside the ip-range, wrapping once to its start (next-fit).
   * With `requested`: that address, which may lie anywhere in the subnet.
   */
  allocate(requested?: string): string {
    if (requested !== undefined) {
      const pos = this.locateOrThrow(requested);
      if (!this.markPos(pos)) throw new IpamError({ code: 'IN_USE', address: this.win.text(pos) });
      return this.win.text(pos);
    }
    let pos = this.used.nextFree(this.next);
    if (pos > this.dynHi) {
      pos = this.used.nextFree(this.dynLo);
      if (pos > this.dynHi) throw new IpamError({ code: 'FULL', subnet: this.subnet, range: this.ipRange ?? this.subnet });
    }
    this.used.add(pos);
    this.next = pos + 1 > this.dynHi ? this.dynLo : pos + 1;
    return this.win.text(pos);
  }

  /** Frees an address; false if it was not in use. Reserved addresses throw RESERVED. */
  release(addr: string): boolean {
    const pos = this.locateOrThrow(addr);
    const role = this.roleAt(pos);
    if (role !== undefined) throw new IpamError({ code: 'RESERVED', address: this.win.text(pos), role });
    return pos === POS_FAR ? this.far.delete(this.win.farOffset) : this.used.delete(pos);
  }

  /** Marks an address used without moving the cursor; false if it already was. */
  markUsed(addr: string): boolean {
    return this.markPos(this.locateOrThrow(addr));
  }

  /** Whether the address is handed out or reserved; false outside the subnet. */
  isUsed(addr: string): boolean {
    const pos = this.win.locate(addr);
    if (pos === POS_OUTSIDE) return false;
    return pos === POS_FAR ? this.far.has(this.win.farOffset) : this.used.has(pos);
  }

  /** The role of a reserved address (network, broadcast, gateway, auxiliary), else null. */
  reservedRole(addr: string): string | null {
    const pos = this.win.locate(addr);
    if (pos === POS_OUTSIDE) return null;
    return this.roleAt(pos) ?? null;
  }

  /** Where the next dynamic search starts; persist it to keep next-fit across restarts. */
  get cursor(): string {
    return this.win.text(this.next);
  }

  stats(): AllocatorStats {
    const total = this.used.size + this.far.size;
    return {
      used: total - this.reservedRoles.size,
      reserved: this.reservedRoles.size,
      size: this.size,
      rangeSize: BigInt(this.dynHi - this.dynLo + 1),
      runs: this.used.runCount,
      bytes: this.used.byteSize,
    };
  }

  private reserve(value: bigint, role: string, what = role): void {
    const text = formatAddress({ family: this.family, value });
    const taken = this.reservedRoles.get(text);
    if (taken !== undefined) {
      throw new IpamError({
        code: 'INVALID', what, value: text, expected: `an address of ${this.subnet} that is not already reserved`,
        reason: `${text} is already the ${taken} address of ${this.subnet}`,
      });
    }
    const pos = this.locateOrThrow(text);
    this.markPos(pos);
    this.reservedRoles.set(text, role);
    if (pos === POS_FAR) this.reservedFar.set(this.win.farOffset, role);
    else this.reservedPos.set(pos, role);
  }

  /** Role of the reserved address at pos (POS_FAR: at farOffset). */
  private roleAt(pos: number): string | undefined {
    return pos === POS_FAR ? this.reservedFar.get(this.win.farOffset) : this.reservedPos.get(pos);
  }

  private markPos(pos: number): boolean {
    if (pos === POS_FAR) {
      if (this.far.has(this.win.farOffset)) return false;
      this.far.add(this.win.farOffset);
      return true;
    }
    return this.used.add(pos);
  }

  private locateOrThrow(text: string): number {
    const pos = this.win.locate(text);
    if (pos === POS_OUTSIDE) {
      throw new IpamError({ code: 'OUTSIDE', address: formatAddress(parseAddress(text)), subnet: this.subnet });
    }
    return pos;
  }
}
