// A daemon's identity: a random instance id kept in its data root and
// written into the exec root it uses (and as the comment of its nftables
// tables), so that a daemon can tell its own runtime state from another
// instance's, or from what an instance whose data root was deleted left.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ID_FILE = 'instance-id';

async function readId(dir: string): Promise<string | null> {
  try {
    return (await readFile(join(dir, ID_FILE), 'utf8')).trim() || null;
  } catch {
    return null;
  }
}

/** The data root's instance id, created on first start. */
export async function dataInstanceId(dataRoot: string): Promise<string> {
  const have = await readId(dataRoot);
  if (have) return have;
  const id = randomBytes(8).toString('hex');
  await writeFile(join(dataRoot, ID_FILE), `${id}\n`, { mode: 0o600 });
  return id;
}

export async function claimExecRoot(execRoot: string, id: string): Promise<void> {
  await writeFile(join(execRoot, ID_FILE), `${id}\n`, { mode: 0o600 });
}

export interface ExecRootState {
  /** The instance id written in the exec root (null: none). */
  owner: string | null;
  /** Whether this daemon may treat what it finds there as its own. */
  ours: boolean;
  /** Namespace files in <exec-root>/netns that no sandbox record names. */
  unknownNamespaces: string[];
}

/**
 * An exec root is ours when it carries our id, or when it carries none and
 * holds nothing we do not know (a fresh one). Anything else holds another
 * instance's state, or an instance's whose data root was deleted.
 */
export async function execRootState(execRoot: string, id: string, knownNetns: Iterable<string>): Promise<ExecRootState> {
  const owner = await readId(execRoot);
  const known = new Set(knownNetns);
  const dir = join(execRoot, 'netns');
  const unknownNamespaces = (await readdir(dir).catch(() => [] as string[])).map((n) => join(dir, n)).filter((p) => !known.has(p)).sort();
  const ours = owner === id || (owner === null && unknownNamespaces.length === 0);
  return { owner, ours, unknownNamespaces };
}

/** Lines for logs and `cnm doctor` ([] when the exec root is ours). */
export function describeForeign(execRoot: string, id: string, s: ExecRootState): string[] {
  if (s.ours) return [];
  const whose = s.owner ? `another cnm instance (${s.owner}; this daemon is ${id})` : 'no instance this daemon knows (its data root may have been deleted)';
  const out = [`exec root ${execRoot} holds state of ${whose}`];
  if (s.unknownNamespaces.length) {
    const names = s.unknownNamespaces.slice(0, 10).join(', ') + (s.unknownNamespaces.length > 10 ? ', ...' : '');
    out.push(`${s.unknownNamespaces.length} namespace file(s) no sandbox of this daemon owns, left untouched: ${names}`);
  }
  return out;
}
