// Registry credentials `cnm login` keeps for later pulls: a JSON file
// shaped like docker's config.json ({"auths": {SERVER: {"auth":
// base64(user:password)}}}), mode 0600 in a 0700 directory, written whole
// and renamed into place. CNM_CONFIG_DIR overrides where it lives.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AuthConfigWire } from '../client/image-wire.ts';

interface AuthFile { auths: Record<string, { auth: string }> }

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CNM_CONFIG_DIR) return env.CNM_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'cnm');
}

export const authFile = (dir: string): string => join(dir, 'auth.json');

function read(dir: string): AuthFile {
  let text: string;
  try {
    text = readFileSync(authFile(dir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {} };
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<AuthFile>;
    return { auths: v.auths && typeof v.auths === 'object' ? v.auths : {} };
  } catch {
    throw new Error(`${authFile(dir)} is not valid JSON: fix or remove it`);
  }
}

function write(dir: string, f: AuthFile): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${authFile(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(f, null, '\t')}\n`, { mode: 0o600 });
  // The mode given to open() is masked by the umask: make it 0600 whatever that is.
  chmodSync(tmp, 0o600);
  renameSync(tmp, authFile(dir));
}

export function saveCredentials(dir: string, server: string, username: string, password: string): void {
  const f = read(dir);
  f.auths[server] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  write(dir, f);
}

/** Forgets a server's credentials; false when there were none. */
export function removeCredentials(dir: string, server: string): boolean {
  const f = read(dir);
  if (!(server in f.auths)) return false;
  delete f.auths[server];
  write(dir, f);
  return true;
}

/** What X-Registry-Auth carries for a registry host[:port], if logged in there. */
export function credentialsFor(dir: string, server: string): AuthConfigWire | undefined {
  const e = read(dir).auths[server];
  if (!e?.auth) return undefined;
  const plain = Buffer.from(e.auth, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  if (i < 0) return undefined;
  return { username: plain.slice(0, i), password: plain.slice(i + 1), serveraddress: server };
}
