// The peers from ../shared/bench/anchors.sh: Docker's daemon (20.10) in
// namespace anchor-host, netavark and aardvark-dns.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const ANCHORS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'bench', 'anchors.sh');
export const DOCKER_SOCK = '/run/anchor-docker.sock';

/** Starts the peers when they are not up (installs Debian's docker.io once). */
export function anchorsUp(): boolean {
  if (existsSync(DOCKER_SOCK)) return true;
  if (!existsSync(ANCHORS)) return false;
  try {
    execFileSync('bash', [ANCHORS, 'up'], {
      stdio: 'inherit',
      env: { ...process.env, ANCHOR_DOCKERD_ARGS: process.env.ANCHOR_DOCKERD_ARGS ?? '--default-address-pool base=10.128.0.0/9,size=24' },
    });
  } catch {
    return false;
  }
  return existsSync(DOCKER_SOCK);
}

export function dockerdPid(): number {
  try {
    return Number(readFileSync('/run/anchor-docker.pid', 'utf8').trim());
  } catch {
    return 0;
  }
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Stops the peers (for a benchmark that started them itself). */
export function anchorsDown(): void {
  try {
    execFileSync('bash', [ANCHORS, 'down'], { stdio: 'inherit' });
  } catch { /* already down */ }
}
