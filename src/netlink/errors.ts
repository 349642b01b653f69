// The one error class of the kernel layer. `code` is either the errno name
// the kernel answered (EEXIST, ENODEV, ...) or one of the validation codes
// raised before any kernel call. `op` and `object` say what was being done
// to what: `EEXIST creating link "br-1a2b"`.
import { constants } from 'node:os';

export type ValidationCode =
  | 'INVALID_NAME' | 'INVALID_ADDRESS' | 'INVALID_CIDR' | 'INVALID_MAC'
  | 'FAMILY_MISMATCH' | 'INVALID_VALUE' | 'INVALID_PATH' | 'CLOSED';
/** An errno name as the kernel returns it, e.g. 'EEXIST'. */
export type ErrnoCode = `E${string}`;
export type NetlinkErrorCode = ValidationCode | ErrnoCode;

export interface NetlinkErrorInit {
  code: NetlinkErrorCode;
  op: string;       // a verb phrase: "creating", "deleting", "adding"
  object: string;   // what: `link "eth0"`, `address 10.0.0.1/24 on "eth0"`
  detail?: string;  // why, in words: expected form, or the kernel's extended ack
  errno?: number;
}

export class NetlinkError extends Error {
  readonly code: NetlinkErrorCode;
  readonly op: string;
  readonly object: string;
  readonly errno: number | undefined;
  readonly detail: string | undefined;

  constructor(init: NetlinkErrorInit, options?: ErrorOptions) {
    super(`${init.code} ${init.op} ${init.object}${init.detail ? `: ${init.detail}` : ''}`, options);
    this.name = 'NetlinkError';
    this.code = init.code;
    this.op = init.op;
    this.object = init.object;
    this.errno = init.errno;
    this.detail = init.detail;
  }
}

const errnoNames = new Map<number, ErrnoCode>(
  Object.entries(constants.errno).map(([name, n]) => [n, name as ErrnoCode]),
);

export const errnoName = (errno: number): ErrnoCode => errnoNames.get(errno) ?? `E${errno}`;

/** Wraps an error thrown by the addon ({ code, errno, syscall }). */
export function fromNative(e: unknown, op: string, object: string): NetlinkError {
  if (e instanceof NetlinkError) return e;
  const n = e as { code?: string; errno?: number; syscall?: string; message?: string };
  const code: NetlinkErrorCode = typeof n.code === 'string' && n.code.startsWith('E') ? (n.code as ErrnoCode) : 'EIO';
  return new NetlinkError({ code, op, object, detail: n.message, errno: n.errno }, { cause: e });
}
