// One NETLINK_ROUTE socket bound in one namespace. Requests on it run one at
// a time (the addon reads replies until the ones it waits for are answered,
// so two exchanges must not interleave); each runs on the libuv threadpool.
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR } from './constants.ts';
import { decodeError, decodeMessages, encodeMessage } from './codec/nlmsghdr.ts';
import type { NlMsg } from './codec/nlmsghdr.ts';
import { NetlinkError, errnoName, fromNative } from './errors.ts';
import { native } from './native.ts';

export interface NlRequest {
  type: number;
  flags?: number;     // NLM_F_CREATE etc.; REQUEST and ACK (or DUMP) are added
  payload: Buffer;    // fixed struct + attributes
  dump?: boolean;
  op: string;         // for errors: "creating"
  object: string;     // for errors: `link "br0"`
}

/** The outcome of one request: reply messages (dumps, gets) or an error. */
export interface NlResult { messages: NlMsg[]; error?: NetlinkError }

const SEQ_MAX = 0x7fffffff; // the addon takes sequence numbers as int32
const DUMP_RETRIES = 5;

export class RtnlSocket {
  readonly where: string; // the namespace path, for messages
  #fd: number;
  #seq = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(fd: number, where: string) {
    this.#fd = fd;
    this.where = where;
  }

  /** One request; throws its NetlinkError; returns its reply messages. */
  async run(req: NlRequest): Promise<NlMsg[]> {
    for (let attempt = 0; ; attempt++) {
      const [res] = await this.batch([req]);
      if (!res) throw new Error('netlink: no result');
      if (res.error) throw res.error;
      // A dump that raced with a change is flagged inconsistent: ask again.
      const interrupted = req.dump && res.messages.some((m) => m.flags & NLM_F_DUMP_INTR);
      if (!interrupted || attempt >= DUMP_RETRIES) return res.messages;
    }
  }

  /** Several requests in one sendmsg. The kernel runs them in order but not
   *  as a transaction: a failing one does not stop the next. */
  batch(reqs: NlRequest[]): Promise<NlResult[]> {
    if (this.#closed) {
      return Promise.reject(new NetlinkError({ code: 'CLOSED', op: reqs[0]?.op ?? 'using', object: reqs[0]?.object ?? 'netlink socket', detail: `the socket of ${this.where} is closed` }));
    }
    const run = (): Promise<NlResult[]> => this.#exchange(reqs);
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async #exchange(reqs: NlRequest[]): Promise<NlResult[]> {
    if (this.#seq + reqs.length >= SEQ_MAX) this.#seq = 0;
    const first = this.#seq + 1;
    this.#seq += reqs.length;
    const wire = Buffer.concat(reqs.map((r, i) =>
      encodeMessage(r.type, NLM_F_REQUEST | (r.dump ? NLM_F_DUMP : NLM_F_ACK) | (r.flags ?? 0), first + i, r.payload)));
    let raw: Buffer;
    try {
      raw = await native.request(this.#fd, wire, first, reqs.length);
    } catch (e) {
      const r = reqs[0];
      throw fromNative(e, r?.op ?? 'sending', r?.object ?? 'netlink request');
    }
    const results: NlResult[] = reqs.map(() => ({ messages: [] }));
    for (const m of decodeMessages(raw)) {
      const i = m.seq - first;
      const req = reqs[i];
      const res = results[i];
      if (!req || !res) continue;
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
        const { errno, message } = m.type === NLMSG_ERROR ? decodeError(m) : { errno: m.payload.length >= 4 ? -m.payload.readInt32LE(0) : 0, message: undefined };
        if (errno > 0) res.error = new NetlinkError({ code: errnoName(errno), op: req.op, object: req.object, detail: message, errno });
      } else {
        res.messages.push(m);
      }
    }
    return results;
  }

  /** Closes the socket once the requests already queued are done. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const fd = this.#fd;
    void this.#tail.then(() => native.close(fd));
  }
}
