// DNS numbers (RFC 1035, RFC 3596, RFC 6891) used on the hot path.
export const QTYPE_A = 1;
export const QTYPE_PTR = 12;
export const QTYPE_AAAA = 28;
export const QTYPE_OPT = 41;
export const QTYPE_IXFR = 251;
export const QTYPE_AXFR = 252;
export const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;
/** Extended rcode 16 (BADVERS): upper 8 bits go in the OPT record's TTL. */
export const RCODE_BADVERS = 16;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const OPCODE_MASK = 0x7800;

export const HEADER_LEN = 12;
/** RFC 1035 4.2.1: the UDP limit when the client sent no EDNS0. */
export const UDP_CLASSIC_MAX = 512;
/**
 * What we advertise in our OPT record: 1232 is the DNS Flag Day 2020 value,
 * which fits any path MTU of 1280 (IPv6 minimum) without IP fragmentation.
 */
export const EDNS_OUR_UDP_SIZE = 1232;
/** Largest UDP payload we ever send, whatever a client claims. */
export const EDNS_MAX_UDP_SIZE = 4096;
