// One DNS-over-TCP connection (RFC 1035 4.2.2, RFC 7766): 2-byte length
// framing, several queries per connection, pipelined; answers go out as they
// are ready (forwarded ones may overtake each other; clients match by ID).
import type { Socket } from 'node:net';
import type { DnsResponder } from './responder.ts';

export interface TcpLimits {
  /** RFC 7766 6.2.3: close idle connections after a few seconds. */
  idleMs: number;
  /** Queries of one connection being answered at once; reading pauses above it. */
  maxPending: number;
}

export function serveTcpConnection(sock: Socket, responder: Pick<DnsResponder, 'handle'>, limits: TcpLimits): void {
  const clientIp = sock.remoteAddress ?? '';
  let buf: Buffer = Buffer.alloc(0);
  let pending = 0;
  sock.setNoDelay(true);
  sock.setTimeout(limits.idleMs, () => sock.destroy());
  sock.on('error', () => sock.destroy());

  let clientEnded = false;
  const send = (resp: Buffer | null): void => {
    if (!resp || sock.destroyed || sock.writableEnded) return;
    const framed = Buffer.allocUnsafe(2 + resp.length);
    framed.writeUInt16BE(resp.length, 0);
    resp.copy(framed, 2);
    sock.write(framed);
  };
  // The client shut its side: finish ours once every answer is out.
  const maybeEnd = (): void => { if (clientEnded && pending === 0 && !sock.destroyed) sock.end(); };
  sock.on('end', () => { clientEnded = true; maybeEnd(); });

  sock.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      // Copy: the forwarder may keep the query beyond this chunk's life.
      const msg = Buffer.from(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      let r: ReturnType<DnsResponder['handle']>;
      try {
        r = responder.handle(msg, clientIp, 'tcp');
      } catch {
        r = null; // a bug must not take the server down; the client times out
      }
      if (r instanceof Promise) {
        pending++;
        if (pending >= limits.maxPending) sock.pause();
        r.then(send, () => undefined).catch(() => undefined).finally(() => {
          pending--;
          if (pending < limits.maxPending) sock.resume();
          maybeEnd();
        });
      } else {
        send(r);
      }
    }
  });
}
