// Rules for the names and tokens that become lines of a sandbox's /etc/hosts
// and resolv.conf, or names in the embedded DNS. A newline in any of them
// would add a line of the caller's choosing, so each is checked against the
// RFC that defines it. Each rule returns why a value is refused, or null.

/** RFC 1123 §2.1: letters, digits and '-', not first or last; 1-63 characters. */
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire, 253 as text. */
export const MAX_DNS_NAME = 253;
/** Linux's HOST_NAME_MAX: sethostname(2) refuses longer names. */
export const MAX_HOSTNAME = 64;

const CONTROL_OR_SPACE = /[\s\p{Cc}]/u;

/** A host name (RFC 1123): dot-separated labels of letters, digits and '-'. */
export function hostNameProblem(s: string, max = MAX_DNS_NAME): string | null {
  if (!s) return 'expected a non-empty host name';
  if (s.length > max) return `expected at most ${max} characters, got ${s.length}`;
  if (s.split('.').every((l) => HOST_LABEL.test(l))) return null;
  return "expected an RFC 1123 host name: dot-separated labels of 1-63 letters, digits or '-', not starting or ending with '-'";
}

/**
 * A name served by the embedded DNS (an alias): any visible characters,
 * labels of 1-63 octets and 253 in all (RFC 1035 §2.3.4), no whitespace or
 * control characters.
 */
export function dnsNameProblem(s: string): string | null {
  if (!s) return 'expected a non-empty DNS name';
  if (CONTROL_OR_SPACE.test(s)) return 'expected a DNS name without whitespace or control characters';
  const bare = s.endsWith('.') ? s.slice(0, -1) : s;
  if (bare.length > MAX_DNS_NAME) return `expected a DNS name of at most ${MAX_DNS_NAME} characters, got ${bare.length}`;
  if (bare.split('.').some((l) => l.length === 0 || l.length > 63)) return 'expected a DNS name of dot-separated labels of 1-63 characters';
  return null;
}

/** A resolv.conf search domain: a host name, an optional final dot; "." alone means none (Docker). */
export function searchDomainProblem(s: string): string | null {
  if (s === '.') return null;
  return hostNameProblem(s.endsWith('.') ? s.slice(0, -1) : s);
}

/** resolv.conf(5) options are a keyword, some with ":n" (ndots:2, timeout:1, rotate, edns0). */
const RESOLV_OPTION = /^[A-Za-z][A-Za-z0-9_-]{0,31}(?::[0-9]{1,5})?$/;

export function resolvOptionProblem(s: string): string | null {
  return RESOLV_OPTION.test(s) ? null : 'expected a resolv.conf option such as ndots:2, timeout:1 or rotate';
}

/** Shows a bad value in a message: escaped (a newline stays visible) and cut short. */
export function quoteValue(s: string): string {
  const q = JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
  return s.length > 80 ? `${q} (${s.length} characters)` : q;
}

/** A value written into a line of a file: a control character (newline, tab, NUL) could end or split the line. */
export function hasControlChar(s: string): boolean {
  return /\p{Cc}/u.test(s);
}
