// The host's resolver configuration: where names that are not ours go.
// glibc's rules (resolv.conf(5)): at most 3 nameservers (MAXNS) are used,
// "search" and "domain" replace each other (the last one wins), "options"
// accumulate, comments start with '#' or ';'.
import { statSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** glibc's MAXNS: nameservers past the third are ignored. */
export const MAX_NAMESERVERS = 3;

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...args] = line.split(/\s+/);
    switch (key) {
      case 'nameserver': {
        const ip = args[0] ?? '';
        // glibc skips addresses it cannot parse; a zone id (fe80::1%eth0) is allowed.
        if (isIP(ip.split('%')[0] ?? '') && conf.nameservers.length < MAX_NAMESERVERS) conf.nameservers.push(ip);
        break;
      }
      case 'search': conf.search = args; break;
      case 'domain': conf.search = args.slice(0, 1); break;
      case 'options': conf.options.push(...args); break;
      default: break; // sortlist and unknown keywords do not concern us
    }
  }
  return conf;
}

/**
 * The host's resolv.conf, re-read when it changes. Checking costs one stat(),
 * done at most once per `checkIntervalMs` and only when a query needs the
 * file; nothing runs while nobody asks. (Network managers replace the file by
 * rename, so an inotify watch on it would go stale; a stat by path does not.)
 */
export class HostResolvConf {
  readonly path: string;
  private readonly checkIntervalMs: number;
  private conf: ResolvConf = { nameservers: [], search: [], options: [] };
  private stamp = '';
  private checkedAt = -Infinity;

  constructor(path = '/etc/resolv.conf', opts: { checkIntervalMs?: number } = {}) {
    this.path = path;
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
  }

  get(): ResolvConf {
    const now = performance.now();
    if (now - this.checkedAt >= this.checkIntervalMs) {
      this.checkedAt = now;
      this.reload();
    }
    return this.conf;
  }

  /** Re-reads the file if its identity, size or mtime changed. A missing file means no nameservers. */
  reload(): void {
    let stamp = 'missing';
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch { /* missing: no upstreams */ }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.conf = parseResolvConf(readFileSync(this.path, 'utf8'));
    } catch {
      this.conf = { nameservers: [], search: [], options: [] };
    }
  }
}
