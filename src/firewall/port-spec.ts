// Docker's -p syntax: [HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTO].
// IPv6 host addresses are written in brackets: [::1]:8080:80.
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp } from './addr.ts';
import { FirewallError } from './errors.ts';
import type { Proto } from './types.ts';

/** One container port to publish, before host ports are allocated. */
export interface PortSpec {
  /** "" = Docker's default (all host addresses). */
  hostIp: string;
  /** Host port range to pick from; both 0 = an ephemeral port. */
  hostPortStart: number;
  hostPortEnd: number;
  containerPort: number;
  proto: Proto;
}

const PROTOS: readonly Proto[] = ['tcp', 'udp', 'sctp'];
const MAX_PORT = 65535;

export function parsePortSpec(spec: string): PortSpec[] {
  const bad = (reason: string): FirewallError => new FirewallError({ code: 'INVALID_PORT_SPEC', spec, reason });
  let rest = spec.trim();
  if (rest === '') throw bad('empty');

  let proto: Proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (!(PROTOS as readonly string[]).includes(p)) throw bad(`unknown protocol "${p}": expected tcp, udp or sctp`);
    proto = p as Proto;
    rest = rest.slice(0, slash);
  }

  let hostIp = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw bad('unclosed "[" around the host IPv6 address');
    hostIp = rest.slice(1, close);
    if (!isIPv6(hostIp)) throw bad(`"${hostIp}" is not an IPv6 address`);
    if (rest[close + 1] !== ':') throw bad('expected ":" after the bracketed host address');
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  let hostPart = '';
  let ctrPart: string;
  if (parts.length === 1) {
    ctrPart = parts[0] ?? '';
  } else if (parts.length === 2) {
    [hostPart = '', ctrPart = ''] = parts;
  } else if (parts.length === 3 && hostIp === '') {
    [hostIp = '', hostPart = '', ctrPart = ''] = parts;
    if (hostIp !== '' && !isIPv4(hostIp)) {
      throw bad(isIPv6(hostIp) ? 'an IPv6 host address must be written in brackets, like [::1]:8080:80' : `"${hostIp}" is not an IP address`);
    }
  } else {
    throw bad('too many ":" (expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO])');
  }
  if (ctrPart === '') throw bad('no container port');

  const [cStart, cEnd] = parseRange(ctrPart, 'container port', bad);
  const count = cEnd - cStart + 1;
  let hStart = 0;
  let hEnd = 0;
  if (hostPart !== '') {
    [hStart, hEnd] = parseRange(hostPart, 'host port', bad);
    const hCount = hEnd - hStart + 1;
    // Docker: a host range with a single container port means "any free one
    // of these"; otherwise the lengths must match port for port.
    if (count > 1 && hCount !== count) {
      throw bad(`host port range ${hStart}-${hEnd} has ${hCount} ports but container range ${cStart}-${cEnd} has ${count}`);
    }
  }
  const ip = hostIp === '' ? '' : canonicalIp(hostIp);
  const out: PortSpec[] = [];
  for (let i = 0; i < count; i++) {
    const single = count > 1 && hStart !== 0;
    out.push({
      hostIp: ip,
      hostPortStart: single ? hStart + i : hStart,
      hostPortEnd: single ? hStart + i : hEnd,
      containerPort: cStart + i,
      proto,
    });
  }
  return out;
}

function parseRange(text: string, what: string, bad: (r: string) => FirewallError): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw bad(`${what} "${text}" is not a number or a range like 8000-8010`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  for (const p of [a, b]) {
    if (p < 1 || p > MAX_PORT) throw bad(`${what} ${p} is out of range 1-${MAX_PORT}`);
  }
  if (b < a) throw bad(`${what} range ${a}-${b} ends before it starts`);
  return [a, b];
}
