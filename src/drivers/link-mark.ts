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
