// One query in, one response out: the resolver without sockets. Local
// answers are returned synchronously (no promise on the hot path); only
// forwarded queries return a promise. null means "send nothing".
import {
  CLASS_IN, QTYPE_AXFR, QTYPE_IXFR, RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL,
} from './constants.ts';
import type { Forwarder } from './forwarder.ts';
import type { NameTable } from './name-table.ts';
import type { UpstreamConfig } from './upstream.ts';
import { buildResponse, parseQuery, relayResponse, udpLimit } from './wire.ts';

export type Transport = 'udp' | 'tcp';

/** Largest DNS message over TCP (the 2-byte length prefix). */
const TCP_MAX = 65535;

export interface ResponderOptions {
  table: NameTable;
  /** Without these, names that are not ours get REFUSED. (Any object with Forwarder's forward(): tests pass fakes.) */
  forwarder?: Pick<Forwarder, 'forward'>;
  upstreams?: UpstreamConfig;
}

export class DnsResponder {
  readonly table: NameTable;
  private readonly forwarder: Pick<Forwarder, 'forward'> | undefined;
  private readonly upstreams: UpstreamConfig | undefined;

  constructor(opts: ResponderOptions) {
    this.table = opts.table;
    this.forwarder = opts.forwarder;
    this.upstreams = opts.upstreams;
  }

  /** `clientIp` as the socket reports it (canonical). */
  handle(query: Buffer, clientIp: string, transport: Transport): Buffer | null | Promise<Buffer | null> {
    return this.respond(query, clientIp, false, transport);
  }

  /** The same answer for a listener of one sandbox: the query is `sandboxId`'s, whatever its source. */
  handleAs(query: Buffer, sandboxId: string, transport: Transport): Buffer | null | Promise<Buffer | null> {
    return this.respond(query, sandboxId, true, transport);
  }

  /** `who`: the client's address, or with `bySandbox` its sandbox's ID. */
  private respond(query: Buffer, who: string, bySandbox: boolean, transport: Transport): Buffer | null | Promise<Buffer | null> {
    const q = parseQuery(query);
    if (!q) return null;
    const limit = transport === 'udp' ? udpLimit(q) : TCP_MAX;
    if (q.rcode) return buildResponse(query, q, q.rcode, { limit });
    // Zone transfers are multi-message TCP streams; nobody should ask a stub resolver for one.
    if (q.qtype === QTYPE_AXFR || q.qtype === QTYPE_IXFR) return buildResponse(query, q, RCODE_REFUSED, { limit });
    // Names with a '.' inside a label, and classes other than IN, are never
    // ours: they are looked up as a name no table holds.
    const local = q.qclass === CLASS_IN && !q.oddName;
    const qname = local ? q.qname : '\0';
    const r = bySandbox ? this.table.lookupSandbox(who, qname, q.qtype) : this.table.lookupLower(who, qname, q.qtype);
    switch (r.status) {
      case 'answer':
        return buildResponse(query, q, RCODE_NOERROR, { aa: true, set: r.set, start: r.start, ttl: this.table.ttl, limit });
      case 'nodata':
        return buildResponse(query, q, RCODE_NOERROR, { aa: true, limit });
      case 'nxdomain':
        return buildResponse(query, q, RCODE_NXDOMAIN, { aa: true, limit });
      case 'unknown-client':
        return buildResponse(query, q, RCODE_REFUSED, { limit });
      case 'not-ours': {
        // Sandboxes only on internal networks get REFUSED: a policy answer
        // (RFC 1035: "refuses ... for policy reasons"), not a failure that
        // invites retries. Docker does not forward for them either.
        if (!r.forward || !this.forwarder || !this.upstreams) return buildResponse(query, q, RCODE_REFUSED, { limit });
        const servers = this.upstreams.serversFor(r.sandboxId);
        return this.forwarder.forward(query, q.questionEnd, servers, transport === 'tcp').then(
          (reply) => reply ? relayResponse(reply, query, q, limit) : buildResponse(query, q, RCODE_SERVFAIL, { limit }),
        );
      }
    }
  }
}
