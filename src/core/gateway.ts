// Which endpoint gives a sandbox its default route. Docker's rule: highest
// GwPriority, then a non-internal network, then a dual-stack one, then the
// network name ascending. Re-chosen on every connect and disconnect.
import type { EndpointRecord, NetworkRecord } from './model.ts';

export interface Candidate { ep: EndpointRecord; net: NetworkRecord }

export function chooseGateway(cands: Candidate[], family: 4 | 6): Candidate | null {
  const usable = cands.filter(({ ep, net }) => {
    // Internal networks never route outside their subnet.
    if (net.internal) return false;
    return family === 4 ? !!(net.ipv4 && ep.ipv4) : !!(net.ipv6 && ep.ipv6);
  });
  usable.sort((a, b) =>
    b.ep.gwPriority - a.ep.gwPriority
    || Number(a.net.internal) - Number(b.net.internal)
    || Number(!!(b.ep.ipv4 && b.ep.ipv6)) - Number(!!(a.ep.ipv4 && a.ep.ipv6))
    || (a.net.name < b.net.name ? -1 : a.net.name > b.net.name ? 1 : 0));
  return usable[0] ?? null;
}
