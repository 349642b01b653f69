// Observers of the controller's objects: the embedded DNS and the firewall
// follow networks and endpoints through this one seam, so the controller
// does not know how either works. A hook that throws fails the operation,
// which is then undone.
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './model.ts';

export interface ControllerHooks {
  networkAdded?(net: NetworkRecord): Promise<void> | void;
  networkRemoved?(net: NetworkRecord): Promise<void> | void;
  endpointAdded?(ep: EndpointRecord, net: NetworkRecord, sbx: SandboxRecord): Promise<void> | void;
  endpointRemoved?(ep: EndpointRecord, net: NetworkRecord, sbx: SandboxRecord): Promise<void> | void;
  /** The DNS server to put in a sandbox's resolv.conf, if one serves it. */
  resolverFor?(sbx: SandboxRecord, eps: { ep: EndpointRecord; net: NetworkRecord }[]): string | null;
}

/** Runs the same hook on every observer, in order. */
export function combineHooks(list: ControllerHooks[]): Required<ControllerHooks> {
  return {
    async networkAdded(net) { for (const h of list) await h.networkAdded?.(net); },
    async networkRemoved(net) { for (const h of list) await h.networkRemoved?.(net); },
    async endpointAdded(ep, net, sbx) { for (const h of list) await h.endpointAdded?.(ep, net, sbx); },
    async endpointRemoved(ep, net, sbx) { for (const h of list) await h.endpointRemoved?.(ep, net, sbx); },
    resolverFor(sbx, eps) {
      for (const h of list) {
        const r = h.resolverFor?.(sbx, eps);
        if (r) return r;
      }
      return null;
    },
  };
}
