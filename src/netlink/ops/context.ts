// What every operation needs: the socket of one namespace and that
// namespace's file descriptor (for the addon's ioctl/procfs paths).
import type { RtnlSocket } from '../socket.ts';

export interface OpContext {
  sock: RtnlSocket;
  /** fd of the namespace the socket lives in. */
  nsFd(): number;
}
