// Sysctls the firewall needs in the namespace it runs in. The setter is a
// dependency (the netlink layer's Netns.sysctlSet can stand in); the default
// writes /proc/sys through the runner, i.e. from inside the namespace.
import type { NftRunner } from './nft-runner.ts';

/** path relative to /proc/sys, slash-separated: "net/ipv4/ip_forward". */
export type SysctlSet = (path: string, value: string) => Promise<void>;

export function runnerSysctl(runner: NftRunner): SysctlSet {
  return (path, value) => runner.writeFile(`/proc/sys/${path}`, value);
}

export const IPV4_FORWARD = 'net/ipv4/ip_forward';
export const IPV6_FORWARD = 'net/ipv6/conf/all/forwarding';
/** Lets 127.0.0.1 sources leave through the bridge after DNAT (published on loopback). */
export const routeLocalnet = (bridge: string): string => `net/ipv4/conf/${bridge}/route_localnet`;
