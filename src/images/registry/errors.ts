// Registry answers as errors. A v2 registry sends
// `{"errors":[{"code":"MANIFEST_UNKNOWN","message":...,"detail":...}]}`;
// Docker prints each as `<code, lower case, spaces>: <message>`
// (distribution registry/api/errcode Error.Error()).
import { CnmError } from '../../model/errors.ts';
import type { CnmErrorCode } from '../../model/errors.ts';

export class RegistryError extends CnmError {
  /** The registry's error code (MANIFEST_UNKNOWN, UNAUTHORIZED, ...), UNKNOWN when it sent none. */
  readonly registryCode: string;
  readonly httpStatus: number;
  constructor(code: CnmErrorCode, message: string, registryCode: string, httpStatus: number) {
    super(code, message);
    this.name = 'RegistryError';
    this.registryCode = registryCode;
    this.httpStatus = httpStatus;
  }
}

interface WireError { code?: string; message?: string }

/** `manifest unknown: manifest unknown` from a registry error body (or the HTTP status when it has none). */
export function describeRegistryErrors(status: number, body: string): { code: string; text: string } {
  try {
    const errs = (JSON.parse(body) as { errors?: WireError[] }).errors;
    if (Array.isArray(errs) && errs.length > 0) {
      const code = (errs[0]?.code ?? 'UNKNOWN').toUpperCase();
      const text = errs.map((e) => `${(e.code ?? 'unknown').toLowerCase().replaceAll('_', ' ')}: ${e.message ?? ''}`).join(', ');
      return { code, text };
    }
  } catch { /* not JSON */ }
  const code = status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : 'UNKNOWN';
  return { code, text: `unexpected status ${status}${body.trim() ? `: ${body.trim().slice(0, 200)}` : ''}` };
}

/** The CnmError class for an HTTP status of the registry. */
export function cnmCodeFor(status: number): CnmErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 401 || status === 403) return 'FORBIDDEN';
  if (status === 400) return 'INVALID';
  return 'UNAVAILABLE';
}

/** Docker 28 refuses schema 1 manifests with this text (moby distribution/errors.go DeprecatedSchema1ImageError). */
export function schema1Error(ref: string): CnmError {
  return new CnmError('INVALID',
    'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed.'
    + ` Suggest the author of ${ref} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.`
    + ' More information at https://docs.docker.com/go/deprecated-image-specs/');
}
