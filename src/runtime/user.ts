// `--user` as Docker takes it: name, uid, name:group or uid:gid, resolved
// against the sandbox's /etc/passwd and /etc/group (the host's, read-only,
// for sandboxes), as moby daemon/oci_linux.go getUser does.
import { readFileSync } from 'node:fs';

export interface ResolvedUser { uid: number; gid: number; additionalGids: number[] }

const USER_SPEC = /^([a-z_][a-z0-9_.-]*\$?|\d+)(?::([a-z_][a-z0-9_.-]*|\d+))?$/i;

/** Syntax only (at create time); null when valid, else why not. */
export function checkUserSyntax(spec: string): string | null {
  if (spec === '' || USER_SPEC.test(spec)) return null;
  return `invalid user "${spec}": expected NAME, UID, NAME:GROUP or UID:GID`;
}

function table(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

export function resolveUser(spec: string, etc = '/etc'): ResolvedUser {
  if (!spec) return { uid: 0, gid: 0, additionalGids: [] };
  const m = USER_SPEC.exec(spec);
  if (!m) throw new Error(checkUserSyntax(spec) ?? spec);
  const [, u = '', g] = m;
  const passwd = table(`${etc}/passwd`);
  const groups = table(`${etc}/group`);
  const byName = passwd.find((p) => p[0] === u);
  const numeric = /^\d+$/.test(u);
  if (!byName && !numeric) throw new Error(`unable to find user ${u}: no matching entries in passwd file`);
  const uid = byName ? Number(byName[2]) : Number(u);
  const entry = byName ?? passwd.find((p) => Number(p[2]) === uid);
  let gid = entry ? Number(entry[3]) : 0;
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const grp = groups.find((x) => x[0] === g);
      if (!grp) throw new Error(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(grp[2]);
    }
  }
  const name = entry?.[0];
  const additionalGids = name
    ? groups.filter((x) => (x[3] ?? '').split(',').includes(name)).map((x) => Number(x[2])).filter((x) => x !== gid)
    : [];
  return { uid, gid, additionalGids };
}
