// "Is this address assigned to an interface of the namespace?" — answered
// from the namespace's own /proc files (read through the runner, so from
// inside the namespace): IPv4 local routes in fib_trie, IPv6 in if_inet6.
import { isIPv6 } from 'node:net';
import { ipv6Bytes } from './addr.ts';
import type { NftRunner } from './nft-runner.ts';

export type LocalAddressCheck = (ip: string) => Promise<boolean>;

/** Addresses with a "/32 host LOCAL" leaf in /proc/net/fib_trie. */
export function parseFibTrieLocal(text: string): Set<string> {
  const out = new Set<string>();
  let leaf = '';
  for (const line of text.split('\n')) {
    const m = /\|--\s+(\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (m?.[1]) { leaf = m[1]; continue; }
    const l = /\/(\d+)\s+host\s+LOCAL/.exec(line);
    if (l && leaf) out.add(l[1] === '32' ? leaf : `${leaf}/${l[1]}`);
  }
  return out;
}

export function parseIfInet6(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((h) => /^[0-9a-f]{32}$/.test(h)));
}

export function localAddressCheck(runner: NftRunner): LocalAddressCheck {
  return async (ip: string): Promise<boolean> => {
    if (isIPv6(ip)) {
      const hex = ipv6Bytes(ip).map((b) => b.toString(16).padStart(2, '0')).join('');
      return parseIfInet6(await runner.readFile('/proc/thread-self/net/if_inet6')).has(hex);
    }
    const local = parseFibTrieLocal(await runner.readFile('/proc/thread-self/net/fib_trie'));
    // lo's 127.0.0.0/8 route makes every 127.x address local.
    if (ip.startsWith('127.')) return local.has('127.0.0.0/8') || local.has(ip);
    return local.has(ip);
  };
}
