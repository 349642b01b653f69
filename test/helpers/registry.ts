// Debian's docker-registry (distribution 2.8) in a test namespace, with a
// config of its own: filesystem storage under `dir`, deletes enabled, an
// optional auth section. The caller ends it by PID (stopRegistries).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestNetns } from './netns.ts';

export function startRegistry(ns: TestNetns, dir: string, name: string, addr: string, auth = ''): ChildProcess {
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  const cfg = join(dir, `${name}.yml`);
  writeFileSync(cfg, [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${root}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${addr}`,
    auth,
  ].join('\n'));
  return ns.spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
}

export function stopRegistries(ps: ChildProcess[]): void {
  for (const p of ps) {
    if (p.pid) {
      try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ }
    }
  }
}
