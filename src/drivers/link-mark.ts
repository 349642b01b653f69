// Every host-side link cnm creates (a bridge, the host end of a veth) carries
// an interface alias (IFLA_IFALIAS) that names the daemon and the object:
// "cnm:<owner>:<12 hex of the network or endpoint ID>". The alias is the
// proof of ownership: a bridge or a veth without it is the user's, and cnm
// neither deletes nor sweeps it. `owner` is derived from the daemon's data
// root (its host id), so two daemons in one namespace keep apart.
import { shortId } from '../model/ids.ts';

const PREFIX = 'cnm:';

/** The alias of a link cnm makes for the object `id`. */
export function linkMark(owner: string, id: string): string {
  return `${PREFIX}${owner}:${shortId(id)}`;
}

/** True when `alias` marks a link made by the daemon `owner`. */
export function isOwnMark(alias: string | undefined, owner: string): boolean {
  return alias !== undefined && alias.startsWith(`${PREFIX}${owner}:`);
}

/** The owner part of the mark, from the daemon's host id. */
export function markOwner(hostId: string): string {
  return hostId.slice(0, 12);
}

/**
 * The device group (IFLA_GROUP) of links that are done with and wait for
 * the reaper (core/reaper.ts): deleting a veth or a bridge costs the kernel
 * 10-20 ms of RCU grace periods under the rtnl lock, so a disconnect or a
 * network rm takes its link out of service at once (down, no traffic, its
 * name free) and the reaper deletes all such links later in one request. A
 * number no one uses by accident ("cnm" + 1); group 0 is every link's.
 */
export const REAP_GROUP = 0x636e6d01;

/** The name a doomed link moves to when its own name is wanted again. */
export function reapName(index: number): string {
  return `cnmgc${index}`;
}
