// Observers of the controller's objects: the embedded DNS and the firewall
// follow networks and endpoints through this one seam, so the controller
// does not know how either works. A hook that throws fails the operation,
// which is then undone.
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/records.ts';

export interface ControllerHooks {
  networkAdded?(net: NetworkRecord): Promise<void> | void;
  networkRemoved?(net: NetworkRecord): Promise<void> | void;
  endpointAdded?(ep: EndpointRecord, net: NetworkRecord, sbx: SandboxRecord): Promise<void> | void;
  endpointRemoved?(ep: EndpointRecord, net: NetworkRecord, sbx: SandboxRecord): Promise<void> | void;
  /** The DNS server to put in a sandbox's resolv.conf, if one serves it. */
  resolverFor?(sbx: SandboxRecord, eps: { ep: EndpointRecord; net: NetworkRecord }[]): string | null;
  /** The sandbox has a new name (docker rename); `eps` are its endpoints, already renamed. */
  sandboxRenamed?(sbx: SandboxRecord, eps: { ep: EndpointRecord; net: NetworkRecord }[]): Promise<void> | void;
}

/**
 * Runs `add` on every observer in order. When one fails, `remove` runs on it
 * (it may have done part of its work) and on every one before it, newest
 * first, so a failed add leaves no observer holding the object: the caller's
 * undo cannot know how far the adds got. Removal is best effort here.
 */
async function addAll(list: ControllerHooks[], add: (h: ControllerHooks) => unknown, remove: (h: ControllerHooks) => unknown): Promise<void> {
  for (let i = 0; i < list.length; i++) {
    try {
      await add(list[i]!);
    } catch (e) {
      for (let j = i; j >= 0; j--) {
        try { await remove(list[j]!); } catch { /* it held nothing, or the first error says enough */ }
      }
      throw e;
    }
  }
}

/** Runs the same hook on every observer, in order. */
export function combineHooks(list: ControllerHooks[]): Required<ControllerHooks> {
  return {
    networkAdded: (net) => addAll(list, (h) => h.networkAdded?.(net), (h) => h.networkRemoved?.(net)),
    async networkRemoved(net) { for (const h of list) await h.networkRemoved?.(net); },
    endpointAdded: (ep, net, sbx) => addAll(list, (h) => h.endpointAdded?.(ep, net, sbx), (h) => h.endpointRemoved?.(ep, net, sbx)),
    async endpointRemoved(ep, net, sbx) { for (const h of list) await h.endpointRemoved?.(ep, net, sbx); },
    async sandboxRenamed(sbx, eps) { for (const h of list) await h.sandboxRenamed?.(sbx, eps); },
    resolverFor(sbx, eps) {
      for (const h of list) {
        const r = h.resolverFor?.(sbx, eps);
        if (r) return r;
      }
      return null;
    },
  };
}
