// Host port bookkeeping for published ports, Docker's rules:
// ephemeral ports come from 49153-65535, handed out round-robin (the next
// after the last one given, so a port just freed is not reused at once);
// a (host address, protocol, port) is taken by one binding at a time.
import { isIPv6 } from 'node:net';
import { FirewallError } from './errors.ts';
import type { PortSpec } from './port-spec.ts';
import type { PortBinding, Proto } from './types.ts';

export const EPHEMERAL_START = 49153;
export const EPHEMERAL_END = 65535;

type Family = 4 | 6;

/** The families a host IP covers: "" is every address of both. */
function families(hostIp: string): Family[] {
  if (hostIp === '') return [4, 6];
  return isIPv6(hostIp) ? [6] : [4];
}

function isWildcard(hostIp: string): boolean {
  return hostIp === '' || hostIp === '0.0.0.0' || hostIp === '::';
}

/** Two bindings clash when a packet could match both DNAT entries. */
function overlaps(a: string, b: string): boolean {
  if (a === b) return true;
  const fa = families(a);
  if (!families(b).some((f) => fa.includes(f))) return false;
  return isWildcard(a) || isWildcard(b);
}

export class PortAllocator {
  private readonly start: number;
  private readonly end: number;
  /** "proto/port" -> host IPs holding it */
  private readonly used = new Map<string, string[]>();
  private readonly last = new Map<Proto, number>();

  constructor(range: { start: number; end: number } = { start: EPHEMERAL_START, end: EPHEMERAL_END }) {
    this.start = range.start;
    this.end = range.end;
  }

  isFree(hostIp: string, proto: Proto, port: number): boolean {
    return !(this.used.get(`${proto}/${port}`) ?? []).some((ip) => overlaps(ip, hostIp));
  }

  /** Takes a port for one spec; throws PORT_ALLOCATED / PORTS_EXHAUSTED. */
  allocate(spec: PortSpec): PortBinding {
    const { hostIp, proto } = spec;
    if (spec.hostPortStart !== 0 && spec.hostPortStart === spec.hostPortEnd) {
      if (!this.isFree(hostIp, proto, spec.hostPortStart)) {
        throw new FirewallError({ code: 'PORT_ALLOCATED', hostIp, hostPort: spec.hostPortStart, proto });
      }
      return this.take(spec, spec.hostPortStart);
    }
    const lo = spec.hostPortStart || this.start;
    const hi = spec.hostPortEnd || this.end;
    const n = hi - lo + 1;
    const prev = this.last.get(proto) ?? lo - 1;
    const first = prev >= lo && prev < hi ? prev + 1 : lo;
    for (let i = 0; i < n; i++) {
      const p = lo + ((first - lo + i) % n);
      if (this.isFree(hostIp, proto, p)) {
        if (!spec.hostPortStart) this.last.set(proto, p);
        return this.take(spec, p);
      }
    }
    throw new FirewallError({ code: 'PORTS_EXHAUSTED', hostIp, range: `${lo}-${hi}`, proto });
  }

  /** All or nothing: on a failure the ports taken so far are given back. */
  allocateAll(specs: PortSpec[]): PortBinding[] {
    const done: PortBinding[] = [];
    try {
      for (const s of specs) done.push(this.allocate(s));
      return done;
    } catch (e) {
      this.releaseAll(done);
      throw e;
    }
  }

  /** Marks a known binding as taken (daemon restart); throws when it clashes. */
  reserve(b: PortBinding): void {
    this.allocate({ hostIp: b.hostIp, hostPortStart: b.hostPort, hostPortEnd: b.hostPort, containerPort: b.containerPort, proto: b.proto });
  }

  release(b: PortBinding): void {
    const key = `${b.proto}/${b.hostPort}`;
    const ips = this.used.get(key);
    if (!ips) return;
    const i = ips.indexOf(b.hostIp);
    if (i >= 0) ips.splice(i, 1);
    if (ips.length === 0) this.used.delete(key);
  }

  releaseAll(bs: PortBinding[]): void {
    for (const b of bs) this.release(b);
  }

  private take(spec: PortSpec, port: number): PortBinding {
    const key = `${spec.proto}/${port}`;
    const ips = this.used.get(key) ?? [];
    ips.push(spec.hostIp);
    this.used.set(key, ips);
    return { hostIp: spec.hostIp, hostPort: port, containerPort: spec.containerPort, proto: spec.proto };
  }
}
