// One error class for the engine's domain, keyed by `code` (Docker's error
// classes: not found, invalid, conflict, forbidden, ...). A leaf: drivers,
// the core and the API all use it; the API maps codes to HTTP statuses
// (src/api/status.ts).

export type CnmErrorCode =
  | 'NOT_FOUND'
  | 'INVALID'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAVAILABLE'
  | 'NOT_IMPLEMENTED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

export const CNM_ERROR_STATUS: Record<CnmErrorCode, number> = {
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
    return CNM_ERROR_STATUS[this.code];
  }
}

export const notFound = (msg: string): CnmError => new CnmError('NOT_FOUND', msg);
export const invalid = (msg: string): CnmError => new CnmError('INVALID', msg);
export const conflict = (msg: string): CnmError => new CnmError('CONFLICT', msg);
export const forbidden = (msg: string): CnmError => new CnmError('FORBIDDEN', msg);

