// cnm's two tables, whose shape never depends on how many networks or
// endpoints exist: base chains dispatch through verdict maps keyed by
// interface name (or subnet), and per-port data lives in set elements, so
// every daemon operation adds or removes elements and per-network chains,
// never rewrites a rule list (Docker 29's nftables layout does the same).
import type { BaseTables } from './model.ts';

// Map and set names (inet cnm).
export const FWD_IN = 'fwd-in';         // oifname -> per-network chain: traffic into a bridge
export const FWD_OUT = 'fwd-out';       // iifname -> per-network chain: traffic out of a bridge
export const INPUT_JUMPS = 'input';     // iifname -> per-network chain: internal networks talking to the host
export const SNAT_OUT = 'snat-out';     // iifname -> masquerade / SNAT of outbound traffic
export const SNAT_IN = 'snat-in';       // oifname -> hairpin and from-host masquerade
export const DNAT4_ADDR = 'dnat4-addr'; // host addr . proto . port -> ctr addr . port
export const DNAT4_ANY = 'dnat4-any';   // proto . port -> ctr addr . port (every host address)
export const DNAT6_ADDR = 'dnat6-addr';
export const DNAT6_ANY = 'dnat6-any';
export const ROUTED4 = 'routed4';       // ctr addr . proto . port open to direct routing
export const ROUTED6 = 'routed6';
export const LOOPBACK4 = 'lo4';         // 127.x . proto . port published on a loopback address
export const NO_DNAT = 'no-dnat';       // bridges of internal networks: published ports are no way out

// Set names (bridge cnm).
export const GUARDED = 'guarded';       // bridge ports with anti-spoofing
export const NO_ICC = 'no-icc';         // bridge ports of networks with enable_icc=false
export const PORT_MAC = 'port-mac';     // port . own MAC
export const PORT_IP4 = 'port-ip4';     // port . own MAC . own IPv4
export const PORT_IP6 = 'port-ip6';     // port . own MAC . own IPv6
export const PORT_ND6 = 'port-nd6';     // port . own MAC . ND target it may advertise

/**
 * Priorities: the filter chains run after a host firewall at the standard
 * "filter" priority (a drop there is final, so users filter ahead of cnm in
 * a table of their own, see docs/firewall.md); nat at the standard dstnat /
 * srcnat; raw before conntrack.
 */
export function baseTables(): BaseTables {
  const vmapIf = 'type ifname : verdict;';
  return {
    sets: [
      { family: 'inet', name: FWD_IN, decl: vmapIf },
      { family: 'inet', name: FWD_OUT, decl: vmapIf },
      { family: 'inet', name: INPUT_JUMPS, decl: vmapIf },
      { family: 'inet', name: SNAT_OUT, decl: vmapIf },
      { family: 'inet', name: SNAT_IN, decl: vmapIf },
      { family: 'inet', name: DNAT4_ADDR, decl: 'type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;' },
      { family: 'inet', name: DNAT4_ANY, decl: 'type inet_proto . inet_service : ipv4_addr . inet_service;' },
      { family: 'inet', name: DNAT6_ADDR, decl: 'type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;' },
      { family: 'inet', name: DNAT6_ANY, decl: 'type inet_proto . inet_service : ipv6_addr . inet_service;' },
      { family: 'inet', name: ROUTED4, decl: 'type ipv4_addr . inet_proto . inet_service;' },
      { family: 'inet', name: ROUTED6, decl: 'type ipv6_addr . inet_proto . inet_service;' },
      { family: 'inet', name: LOOPBACK4, decl: 'type ipv4_addr . inet_proto . inet_service;' },
      { family: 'inet', name: NO_DNAT, decl: 'type ifname;' },
      { family: 'bridge', name: GUARDED, decl: 'type ifname;' },
      { family: 'bridge', name: NO_ICC, decl: 'type ifname;' },
      { family: 'bridge', name: PORT_MAC, decl: 'type ifname . ether_addr;' },
      { family: 'bridge', name: PORT_IP4, decl: 'type ifname . ether_addr . ipv4_addr;' },
      { family: 'bridge', name: PORT_IP6, decl: 'type ifname . ether_addr . ipv6_addr;' },
      // nft 1.0.6 has no "icmpv6 taddr": the Neighbor Advertisement target
      // sits at bytes 8-23 of the ICMPv6 header (RFC 4861 4.4).
      { family: 'bridge', name: PORT_ND6, decl: 'typeof iifname . ether saddr . @th,64,128;', opaque: true },
    ],
    chains: [
      {
        family: 'inet', name: 'filter-forward', base: 'type filter hook forward priority filter + 10; policy accept;',
        // With br_netfilter loaded, frames bridged between two ports of one
        // bridge pass here too, with iif = oif = the bridge.
        rules: [`oifname vmap @${FWD_IN}`, `iifname vmap @${FWD_OUT}`],
      },
      {
        family: 'inet', name: 'filter-input', base: 'type filter hook input priority filter + 10; policy accept;',
        rules: [`iifname vmap @${INPUT_JUMPS}`],
      },
      {
        family: 'inet', name: 'nat-prerouting', base: 'type nat hook prerouting priority dstnat; policy accept;',
        rules: [`iifname @${NO_DNAT} return`, 'fib daddr type local jump nat-ports'],
      },
      {
        // Locally generated traffic to a published port, 127.0.0.1 included
        // (cnm has no userland proxy: the kernel DNATs it).
        family: 'inet', name: 'nat-output', base: 'type nat hook output priority -100; policy accept;',
        rules: ['fib daddr type local jump nat-ports'],
      },
      {
        family: 'inet', name: 'nat-ports',
        rules: [
          `dnat ip to ip daddr . meta l4proto . th dport map @${DNAT4_ADDR}`,
          `meta nfproto ipv4 dnat ip to meta l4proto . th dport map @${DNAT4_ANY}`,
          `dnat ip6 to ip6 daddr . meta l4proto . th dport map @${DNAT6_ADDR}`,
          `meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @${DNAT6_ANY}`,
        ],
      },
      {
        family: 'inet', name: 'nat-postrouting', base: 'type nat hook postrouting priority srcnat; policy accept;',
        rules: [`iifname vmap @${SNAT_OUT}`, `oifname vmap @${SNAT_IN}`],
      },
      {
        family: 'inet', name: 'raw-prerouting', base: 'type filter hook prerouting priority raw; policy accept;',
        rules: [
          // route_localnet=1 on the bridges lets 127.0.0.1 DNAT work, and
          // would also let a neighbour send to 127.0.0.1: drop that for
          // ports published on loopback (Docker, CVE-2020-8558).
          `iifname != "lo" ip daddr . meta l4proto . th dport @${LOOPBACK4} drop`,
        ],
      },
      {
        family: 'bridge', name: 'prerouting', base: 'type filter hook prerouting priority filter; policy accept;',
        rules: [`iifname @${GUARDED} jump port-guard`],
      },
      {
        family: 'bridge', name: 'port-guard',
        rules: [
          `iifname . ether saddr != @${PORT_MAC} drop`,
          'ether type arp jump guard-arp',
          'ether type ip jump guard-ip4',
          'ether type ip6 jump guard-ip6',
          'drop',
        ],
      },
      {
        family: 'bridge', name: 'guard-arp',
        rules: [
          `iifname . arp saddr ether . arp saddr ip @${PORT_IP4} accept`,
          // ARP probes (RFC 5227) carry sender IP 0.0.0.0.
          `arp saddr ip 0.0.0.0 iifname . arp saddr ether @${PORT_MAC} accept`,
          'drop',
        ],
      },
      {
        family: 'bridge', name: 'guard-ip4',
        rules: [
          'udp sport 67 udp dport 68 drop comment "rogue DHCP server"',
          `iifname . ether saddr . ip saddr @${PORT_IP4} accept`,
          'ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept comment "DHCP client"',
          'drop',
        ],
      },
      {
        family: 'bridge', name: 'guard-ip6',
        rules: [
          'icmpv6 type { nd-router-advert, nd-redirect } drop comment "rogue router"',
          `icmpv6 type nd-neighbor-advert iifname . ether saddr . @th,64,128 != @${PORT_ND6} drop`,
          `iifname . ether saddr . ip6 saddr @${PORT_IP6} accept`,
          'ip6 saddr fe80::/10 accept',
          // Duplicate address detection sends from the unspecified address.
          'ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } accept',
          'drop',
        ],
      },
      {
        // Frames switched port to port. With br_netfilter a DNATed frame to
        // a published port of the same bridge is switched here too, so with
        // enable_icc=false members cannot reach each other's published ports
        // through a host address either, as in Docker (whose ICC drop comes
        // before its published-port accept). The bridge family has no
        // conntrack match here without nf_conntrack_bridge (EPROTO).
        family: 'bridge', name: 'forward', base: 'type filter hook forward priority filter; policy accept;',
        rules: [`iifname @${NO_ICC} counter drop comment "ICC"`],
      },
    ],
  };
}
