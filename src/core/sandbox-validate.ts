// The fields of a sandbox request that end up in its /etc/hosts, its
// resolv.conf, its hostname or the embedded DNS. Each is checked before
// anything is created: a newline in any of them would write lines of the
// caller's choosing, and a name the DNS or sethostname(2) refuses would fail
// a later start or connect half way.
import { isIP } from 'node:net';
import {
  MAX_HOSTNAME, dnsNameProblem, hostNameProblem, parseExtraHost, quoteValue, resolvOptionProblem, searchDomainProblem,
} from '../dns/index.ts';
import { DnsError } from '../dns/index.ts';
import { invalid } from '../model/errors.ts';

export interface SandboxNames {
  name: string;
  hostname: string;
  domainname: string;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: string[];
}

const refuse = (field: string, value: string, why: string): Error => invalid(`invalid ${field} ${quoteValue(value)}: ${why}`);

export function checkSandboxNames(r: SandboxNames): void {
  // The container name is also a name in the embedded DNS.
  const nameBad = dnsNameProblem(r.name.replace(/^\//, ''));
  if (nameBad) throw invalid(`Invalid container name (${quoteValue(r.name)}), it is also its DNS name: ${nameBad}`);
  if (r.hostname) {
    const bad = hostNameProblem(r.hostname, MAX_HOSTNAME);
    if (bad) throw refuse('Hostname', r.hostname, bad);
  }
  if (r.domainname) {
    const bad = hostNameProblem(r.domainname);
    if (bad) throw refuse('Domainname', r.domainname, bad);
  }
  for (const ip of r.dns) {
    // Docker parses --dns with net.ParseIP: an address, no port, no name.
    if (isIP(ip) === 0) throw refuse('Dns', ip, 'expected an IP address');
  }
  for (const d of r.dnsSearch) {
    const bad = searchDomainProblem(d);
    if (bad) throw refuse('DnsSearch', d, bad);
  }
  for (const o of r.dnsOptions) {
    const bad = resolvOptionProblem(o);
    if (bad) throw refuse('DnsOptions', o, bad);
  }
  for (const h of r.extraHosts) {
    // The same parser renders /etc/hosts later; any placeholder stands in
    // for host-gateway, which becomes the sandbox's gateway at start.
    try {
      parseExtraHost(h, '0.0.0.0');
    } catch (e) {
      const why = e instanceof DnsError && e.info.code === 'BAD_NAME' ? `host name: ${e.info.reason}` : 'expected HOST:IP';
      throw refuse('ExtraHosts entry', h, why);
    }
  }
}
