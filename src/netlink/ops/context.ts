// What every operation needs: the socket of one namespace, that namespace's
// file descriptor (for the addon's ioctl/procfs paths), and where to send a
// change. Reads go straight to the socket; changes go through `send`, which a
// batch replaces to collect them into one sendmsg.
import type { NlRequest, RtnlSocket } from '../socket.ts';

export interface OpContext {
  sock: RtnlSocket;
  /** Runs fn with the fd of the namespace the socket lives in, kept open until fn settles. */
  withNs<T>(fn: (nsFd: number) => Promise<T>): Promise<T>;
  /** Sends one change and waits for its ack (or, in a batch, queues it). */
  send(req: NlRequest): Promise<void>;
}
