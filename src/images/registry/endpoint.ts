// Where a reference's registry is reached. Docker Hub's API lives at
// registry-1.docker.io; loopback registries (127.0.0.0/8, ::1, localhost)
// and the configured insecure ones use plain HTTP, all others HTTPS
// (moby registry/config.go: loopback is insecure by default).
import { isIP } from 'node:net';
import { DEFAULT_DOMAIN } from '../reference.ts';

const HUB_API_HOST = 'registry-1.docker.io';

function hostOf(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(1, domain.indexOf(']'));
  const i = domain.lastIndexOf(':');
  return i > -1 ? domain.slice(0, i) : domain;
}

export function isLoopback(domain: string): boolean {
  const h = hostOf(domain).toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return isIP(h) === 6 && (h === '::1' || h === '0:0:0:0:0:0:0:1');
}

/** The base URL (scheme://host[:port]) for a registry domain. */
export function registryBaseUrl(domain: string, insecure: readonly string[] = []): string {
  if (domain === DEFAULT_DOMAIN) return `https://${HUB_API_HOST}`;
  const plain = isLoopback(domain) || insecure.includes(domain) || insecure.includes(hostOf(domain));
  return `${plain ? 'http' : 'https'}://${domain}`;
}
