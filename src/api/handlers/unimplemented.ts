// Every other route of the Docker Engine API, answered clearly instead of
// with "page not found": 501 naming the route cnm does not serve, and for
// swarm mode what a Docker engine outside a swarm answers (503 "This node is
// not part of a swarm", moby's errNoSwarm), so that clients which tidy up
// swarm state (docker-py's leave_swarm(force=True) swallows exactly that
// error) keep working. Added after the served routes: a route served later
// takes precedence by being matched first.
import { CnmError } from '../../model/errors.ts';
import type { Route } from '../router.ts';

type Method = Route['method'];

/** Routes of API v1.50 cnm does not serve (method, path template). */
const UNSERVED: [Method, string][] = [
  // containers
  ['POST', '/containers/{id}/update'],
  ['GET', '/containers/{id}/attach/ws'],
  // images, build, distribution
  ['GET', '/images/search'], ['POST', '/images/{name*}/push'],
  ['POST', '/build'], ['POST', '/build/cancel'],
  ['GET', '/distribution/{name*}/json'],
  // system
  ['POST', '/session'],
  // plugins
  ['GET', '/plugins'], ['GET', '/plugins/privileges'], ['POST', '/plugins/pull'], ['POST', '/plugins/create'],
  ['GET', '/plugins/{name*}/json'], ['DELETE', '/plugins/{name*}'], ['POST', '/plugins/{name*}/enable'],
  ['POST', '/plugins/{name*}/disable'], ['POST', '/plugins/{name*}/upgrade'], ['POST', '/plugins/{name*}/push'],
  ['POST', '/plugins/{name*}/set'],
  // joining or creating a swarm is something cnm cannot do
  ['POST', '/swarm/init'], ['POST', '/swarm/join'],
];

/** Swarm-mode routes: a Docker engine that is in no swarm answers these with 503. */
const NO_SWARM: [Method, string][] = [
  ['GET', '/swarm'], ['POST', '/swarm/leave'], ['POST', '/swarm/update'], ['GET', '/swarm/unlockkey'], ['POST', '/swarm/unlock'],
  ['GET', '/nodes'], ['GET', '/nodes/{id}'], ['DELETE', '/nodes/{id}'], ['POST', '/nodes/{id}/update'],
  ['GET', '/services'], ['POST', '/services/create'], ['GET', '/services/{id}'], ['DELETE', '/services/{id}'],
  ['POST', '/services/{id}/update'], ['GET', '/services/{id}/logs'],
  ['GET', '/tasks'], ['GET', '/tasks/{id}'], ['GET', '/tasks/{id}/logs'],
  ['GET', '/secrets'], ['POST', '/secrets/create'], ['GET', '/secrets/{id}'], ['DELETE', '/secrets/{id}'], ['POST', '/secrets/{id}/update'],
  ['GET', '/configs'], ['POST', '/configs/create'], ['GET', '/configs/{id}'], ['DELETE', '/configs/{id}'], ['POST', '/configs/{id}/update'],
];

export const NOT_IN_SWARM = 'This node is not part of a swarm';

export function unimplementedRoutes(): Route[] {
  return [
    ...UNSERVED.map(([method, path]): Route => ({
      method, path, handler: () => {
        throw new CnmError('NOT_IMPLEMENTED', `cnm does not implement ${method} ${path.replace('*', '')} yet`);
      },
    })),
    ...NO_SWARM.map(([method, path]): Route => ({
      method, path, handler: () => {
        throw new CnmError('UNAVAILABLE', NOT_IN_SWARM);
      },
    })),
  ];
}
