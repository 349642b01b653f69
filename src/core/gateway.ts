// Which endpoint gives a sandbox its default route. Docker's rule: highest
// GwPriority, then a non-internal network, then a dual-stack one, then the
// network name ascending. Re-chosen on every connect and disconnect.
import type { EndpointRecord, NetworkRecord } from '../model/records.ts';

export interface Candidate { ep: EndpointRecord; net: NetworkRecord }

export function chooseGateway(cands: Candidate[], family: 4 | 6): Candidate | null {
  // The driver's join said which families an endpoint offers a gateway for
  // (none on internal networks, which never route outside their subnet).
  const usable = cands.filter(({ ep }) => (family === 4 ? !!(ep.gateway.ipv4 && ep.ipv4) : !!(ep.gateway.ipv6 && ep.ipv6)));
  usable.sort((a, b) =>
    b.ep.gwPriority - a.ep.gwPriority
    || Number(a.net.internal) - Number(b.net.internal)
    || Number(!!(b.ep.ipv4 && b.ep.ipv6)) - Number(!!(a.ep.ipv4 && a.ep.ipv6))
    || (a.net.name < b.net.name ? -1 : a.net.name > b.net.name ? 1 : 0));
  return usable[0] ?? null;
}
