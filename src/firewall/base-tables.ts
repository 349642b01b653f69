// cnm's two tables, whose shape never depends on how many networks or
// endpoints exist: fixed chains match against sets keyed by bridge or port
// name (Docker 29 reaches per-network chains through verdict maps keyed by
// interface; cnm goes one step further and has no per-network chains), so
// every daemon operation adds or removes set elements, never a rule.
import type { BaseTables } from './model.ts';

// Set and map names (inet cnm). Per network they hold a few elements keyed
// by the bridge name; there are no per-network chains, so libnftables'
// cache (it reloads the chains of a table before each command) stays the
// same size however many networks exist. No set has the interval flag
// either: for those libnftables loads every element before each change.
export const BRIDGES = 'bridges';       // every cnm bridge
export const INTERNAL = 'internal';     // bridges of --internal networks (no way in or out, no DNAT)
export const SAME_BRIDGE = 'same-bridge'; // br . br: traffic that stays on one bridge
export const ICC = 'icc';               // br . br for networks with enable_icc=true
export const NAT_PROTECTED = 'nat';     // br . ipv4|ipv6 in gateway mode nat
export const UNPROTECTED = 'nat-unprotected';
export const ROUTED = 'routed';         // br . family in gateway mode routed
export const ISOLATED = 'isolated';     // br . family of internal networks the host is hidden from
export const GATEWAY4 = 'gateway4';     // br . gateway address of internal networks (host reachable there)
export const GATEWAY6 = 'gateway6';
export const MASQ = 'masq';            // br . family: masquerade outbound
export const SNAT4 = 'snat4';           // br : host_ipv4 (SNAT instead of masquerade)
export const MEMBERS4 = 'members4';     // container addresses of non-internal networks (hairpin)
export const MEMBERS6 = 'members6';
export const DNAT4_ADDR = 'dnat4-addr'; // host addr . proto . port -> ctr addr . port
export const DNAT4_ANY = 'dnat4-any';   // proto . port -> ctr addr . port (every host address)
export const DNAT6_ADDR = 'dnat6-addr';
export const DNAT6_ANY = 'dnat6-any';
export const ROUTED4 = 'routed4';       // ctr addr . proto . port open to direct routing
export const ROUTED6 = 'routed6';
export const LOOPBACK4 = 'lo4';         // 127.x . proto . port published on a loopback address
export const VXLAN_PORTS = 'vxlan-ports'; // the VXLAN port, while the guard is on (vxlan-guard.ts)
export const VTEPS4 = 'vteps4';         // the cluster's VTEPs: the only senders of VXLAN accepted
export const VTEPS6 = 'vteps6';
export const DNS4 = 'dns4';             // br . gateway . port of the embedded DNS: UDP not tracked
export const DNS6 = 'dns6';

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
  return {
    sets: [
      { family: 'inet', name: BRIDGES, decl: 'type ifname;' },
      { family: 'inet', name: INTERNAL, decl: 'type ifname;' },
      { family: 'inet', name: SAME_BRIDGE, decl: 'type ifname . ifname;' },
      { family: 'inet', name: ICC, decl: 'type ifname . ifname;' },
      { family: 'inet', name: NAT_PROTECTED, decl: 'type ifname . nf_proto;' },
      { family: 'inet', name: UNPROTECTED, decl: 'type ifname . nf_proto;' },
      { family: 'inet', name: ROUTED, decl: 'type ifname . nf_proto;' },
      { family: 'inet', name: ISOLATED, decl: 'type ifname . nf_proto;' },
      { family: 'inet', name: GATEWAY4, decl: 'type ifname . ipv4_addr;' },
      { family: 'inet', name: GATEWAY6, decl: 'type ifname . ipv6_addr;' },
      { family: 'inet', name: MASQ, decl: 'type ifname . nf_proto;' },
      { family: 'inet', name: SNAT4, decl: 'type ifname : ipv4_addr;' },
      { family: 'inet', name: MEMBERS4, decl: 'type ipv4_addr;' },
      { family: 'inet', name: MEMBERS6, decl: 'type ipv6_addr;' },
      { family: 'inet', name: DNAT4_ADDR, decl: 'type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;' },
      { family: 'inet', name: DNAT4_ANY, decl: 'type inet_proto . inet_service : ipv4_addr . inet_service;' },
      { family: 'inet', name: DNAT6_ADDR, decl: 'type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;' },
      { family: 'inet', name: DNAT6_ANY, decl: 'type inet_proto . inet_service : ipv6_addr . inet_service;' },
      { family: 'inet', name: ROUTED4, decl: 'type ipv4_addr . inet_proto . inet_service;' },
      { family: 'inet', name: ROUTED6, decl: 'type ipv6_addr . inet_proto . inet_service;' },
      { family: 'inet', name: LOOPBACK4, decl: 'type ipv4_addr . inet_proto . inet_service;' },
      { family: 'inet', name: VXLAN_PORTS, decl: 'type inet_service;' },
      { family: 'inet', name: VTEPS4, decl: 'type ipv4_addr;' },
      { family: 'inet', name: VTEPS6, decl: 'type ipv6_addr;' },
      { family: 'inet', name: DNS4, decl: 'type ifname . ipv4_addr . inet_service;' },
      { family: 'inet', name: DNS6, decl: 'type ifname . ipv6_addr . inet_service;' },
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
        rules: [`oifname @${BRIDGES} jump into-bridge`, `iifname @${BRIDGES} jump out-of-bridge`],
      },
      {
        family: 'inet', name: 'into-bridge',
        rules: [
          'ct state established,related accept',
          `iifname . oifname @${ICC} accept comment "ICC"`,
          // Also hairpin to a published port of the same network: Docker's
          // ICC drop comes before its published-port accept too.
          `iifname . oifname @${SAME_BRIDGE} drop comment "ICC off"`,
          `oifname @${INTERNAL} drop comment "internal network"`,
          // Only DNATed flows (published ports) get into a nat-mode network:
          // other networks and other hosts cannot route to containers.
          `oifname . meta nfproto @${NAT_PROTECTED} ct status dnat accept`,
          `oifname . meta nfproto @${UNPROTECTED} accept`,
          `oifname . meta nfproto @${ROUTED} meta l4proto { icmp, ipv6-icmp } accept`,
          `ip daddr . meta l4proto . th dport @${ROUTED4} accept`,
          `ip6 daddr . meta l4proto . th dport @${ROUTED6} accept`,
          'drop',
        ],
      },
      {
        family: 'inet', name: 'out-of-bridge',
        rules: [`iifname @${INTERNAL} drop comment "internal network"`, 'accept'],
      },
      {
        family: 'inet', name: 'filter-input', base: 'type filter hook input priority filter + 10; policy accept;',
        rules: [
          `iifname @${INTERNAL} jump internal-input`,
          // VXLAN is unauthenticated: only the cluster's hosts may send it.
          `udp dport @${VXLAN_PORTS} ip saddr != @${VTEPS4} drop comment "VXLAN from an unknown host"`,
          `udp dport @${VXLAN_PORTS} ip6 saddr != @${VTEPS6} drop comment "VXLAN from an unknown host"`,
        ],
      },
      {
        // Docker leaves the host reachable through the gateway address of an
        // internal network; cnm keeps that (and link-local for IPv6) but drops
        // unicast to the host's other addresses. Gateway mode "isolated": the
        // bridge has no address and the host is not reachable at all.
        family: 'inet', name: 'internal-input',
        rules: [
          `iifname . meta nfproto @${ISOLATED} drop`,
          `iifname . ip daddr @${GATEWAY4} accept`,
          `iifname . ip6 daddr @${GATEWAY6} accept`,
          'ip6 daddr fe80::/10 accept',
          'fib daddr type local drop',
        ],
      },
      {
        family: 'inet', name: 'nat-prerouting', base: 'type nat hook prerouting priority dstnat; policy accept;',
        // Members of an internal network must not leave through another
        // network's published port.
        rules: [`iifname @${INTERNAL} return`, 'fib daddr type local jump nat-ports'],
      },
      {
        // Locally generated traffic to a published port, 127.0.0.1 included
        // (cnm has no userland proxy: the kernel DNATs it). The "dstnat"
        // keyword is only accepted at prerouting; -100 is its value.
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
        rules: [
          // Hairpin: a container reaching a published port through a host
          // address; without masquerade the reply would go container to
          // container and miss the reverse NAT (and a container reaching its
          // own port would see its own address as source). Matched on the
          // source being a container, not on the input interface: with
          // br_netfilter the DNATed frame is bridged straight back and
          // postrouting sees no input interface. From another network this
          // masquerades too, as Docker's outbound rule does.
          `ct status dnat oifname @${BRIDGES} ip saddr @${MEMBERS4} masquerade comment "hairpin"`,
          `ct status dnat oifname @${BRIDGES} ip6 saddr @${MEMBERS6} masquerade comment "hairpin"`,
          // From the host, 127.0.0.1 included (route_localnet lets it leave lo).
          `ct status dnat oifname @${BRIDGES} fib saddr type local masquerade comment "from host"`,
          `iifname . oifname @${SAME_BRIDGE} return`,
          `iifname . meta nfproto @${MASQ} masquerade`,
          `meta nfproto ipv4 snat ip to iifname map @${SNAT4} comment "host_ipv4"`,
        ],
      },
      {
        family: 'inet', name: 'raw-prerouting', base: 'type filter hook prerouting priority raw; policy accept;',
        rules: [
          // route_localnet=1 on the bridges lets 127.0.0.1 DNAT work, and
          // would also let a neighbour send to 127.0.0.1: drop that for
          // ports published on loopback (Docker, CVE-2020-8558).
          `iifname != "lo" ip daddr . meta l4proto . th dport @${LOOPBACK4} drop`,
          // The embedded DNS's UDP queries on a network's own gateway: each
          // new source port would cost a conntrack entry (created, hashed,
          // timed out 30 s later), the largest per-query cost in the kernel
          // under load. The listener needs no state (it scopes by source
          // address); the input filter never matches ct state for them, so
          // it drops what it dropped. Queries from another bridge to this
          // gateway do not match the key and stay tracked. (Untracked
          // packets skip nat too: a published host port 53 no longer
          // shadows the resolver on the gateway.)
          `meta l4proto udp iifname . ip daddr . udp dport @${DNS4} notrack`,
          `meta l4proto udp iifname . ip6 daddr . udp dport @${DNS6} notrack`,
        ],
      },
      {
        // Their answers: without this each answer would open a conntrack
        // entry of its own in the output path.
        family: 'inet', name: 'raw-output', base: 'type filter hook output priority raw; policy accept;',
        rules: [
          `meta l4proto udp oifname . ip saddr . udp sport @${DNS4} notrack`,
          `meta l4proto udp oifname . ip6 saddr . udp sport @${DNS6} notrack`,
        ],
      },
      {
        family: 'bridge', name: 'prerouting', base: 'type filter hook prerouting priority filter; policy accept;',
        rules: [
          // Fast path for the bulk of traffic: a TCP segment whose port,
          // MAC and source address are the endpoint's own is accepted after
          // one lookup (the same check guard-ip4/-ip6 make, minus their
          // DHCP and ND special cases, which are not TCP). Bridge throughput
          // goes from ~0.83x to ~0.9x+ of a bare veth with it.
          `ip protocol tcp iifname . ether saddr . ip saddr @${PORT_IP4} accept`,
          `ip6 nexthdr tcp iifname . ether saddr . ip6 saddr @${PORT_IP6} accept`,
          `iifname @${GUARDED} jump port-guard`,
        ],
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
          // Link-local addresses included: each port's own is in the set.
          `iifname . ether saddr . ip6 saddr @${PORT_IP6} accept`,
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
