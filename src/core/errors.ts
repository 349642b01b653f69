// One error class for the engine's domain. The payload is a union keyed by
// `code`; one table maps codes to HTTP status, following Docker's error
// classes (not found 404, invalid 400, conflict 409, forbidden 403, ...).

export type CnmErrorCode =
  | 'NOT_FOUND'
  | 'INVALID'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAVAILABLE'
  | 'NOT_IMPLEMENTED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

const STATUS: Record<CnmErrorCode, number> = {
  NOT_FOUND: 404,
  INVALID: 400,
  CONFLICT: 409,
  FORBIDDEN: 403,
  UNAVAILABLE: 503,
  NOT_IMPLEMENTED: 501,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
};

export class CnmError extends Error {
  readonly code: CnmErrorCode;
  constructor(code: CnmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CnmError';
    this.code = code;
  }
  get status(): number {
    return STATUS[this.code];
  }
}

export const notFound = (msg: string): CnmError => new CnmError('NOT_FOUND', msg);
export const invalid = (msg: string): CnmError => new CnmError('INVALID', msg);
export const conflict = (msg: string): CnmError => new CnmError('CONFLICT', msg);
export const forbidden = (msg: string): CnmError => new CnmError('FORBIDDEN', msg);

/** The HTTP status for any error: domain errors carry theirs, others are 500. */
export function statusOf(err: unknown): number {
  if (err instanceof CnmError) return err.status;
  const code = (err as { code?: unknown })?.code;
  // Errors from the IPAM and port layers carry their own codes; map the
  // classes Docker uses for them (DOCKER-REFERENCE.md, "Errors users see").
  switch (code) {
    case 'NON_CANONICAL':
    case 'INVALID':
    case 'FAMILY':
    case 'OUTSIDE':
    case 'EXHAUSTED':
    case 'INVALID_SPEC':
      return 400;
    case 'OVERLAP':
    case 'IN_USE':
      return 403;
    case 'PORT_ALLOCATED':
      return 500;
    default:
      return 500;
  }
}
