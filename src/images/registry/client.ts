// A registry v2 client for one registry: the /v2/ probe, manifests, blobs,
// and (for test fixtures) uploads. Auth challenges are answered once per
// request and the answer reused for the scope.
import { CnmError } from '../../model/errors.ts';
import { Authenticator } from './auth.ts';
import type { Credentials } from './auth.ts';
import { checkSupportedDigest, mismatch, sha256Digest } from './digest.ts';
import { registryBaseUrl } from './endpoint.ts';
import { RegistryError, cnmCodeFor, describeRegistryErrors, schema1Error } from './errors.ts';
import { MANIFEST_ACCEPT, MT_SCHEMA1, MT_SCHEMA1_SIGNED, isIndexType, isManifestType } from './media.ts';
import { nodeTransport, readAll, withRedirects } from './transport.ts';
import type { HttpRequest, HttpResponse, Transport } from './transport.ts';

export interface RegistryClientOptions {
  /** Registry domain as in a reference: docker.io, localhost:5000, 127.0.0.1:5000. */
  domain: string;
  credentials?: Credentials;
  /** Domains (or hosts) reached over plain HTTP besides loopback. */
  insecureRegistries?: readonly string[];
  transport?: Transport;
  /** Overrides the computed base URL (tests). */
  baseUrl?: string;
}

export interface FetchedManifest {
  /** The digest of `bytes` (checked against the one asked for). */
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface BlobStream {
  size: number;
  body: AsyncIterable<Uint8Array>;
}

// distribution's client refuses manifests over 4 MiB (maxManifestBodySize).
const MAX_MANIFEST_BYTES = 4 << 20;

export const pullScope = (path: string): string => `repository:${path}:pull`;
export const pushScope = (path: string): string => `repository:${path}:pull,push`;

export class RegistryClient {
  readonly domain: string;
  readonly baseUrl: string;
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  constructor(opts: RegistryClientOptions) {
    this.domain = opts.domain;
    this.baseUrl = opts.baseUrl ?? registryBaseUrl(opts.domain, opts.insecureRegistries);
    this.transport = withRedirects(opts.transport ?? nodeTransport);
    this.auth = new Authenticator(this.transport, opts.credentials);
  }

  /** Sends a request with what auth is known, answering one 401 challenge. */
  async request(scope: string, req: HttpRequest): Promise<HttpResponse> {
    const send = (authz: string | undefined): Promise<HttpResponse> =>
      this.transport({ ...req, headers: { ...req.headers, ...(authz ? { Authorization: authz } : {}) } });
    let res = await send(this.auth.header(scope));
    if (res.status !== 401) return res;
    const denied = await readAll(res.body, 1 << 20).catch(() => Buffer.alloc(0));
    const authz = await this.auth.answer(header(res, 'www-authenticate'), scope);
    // Nothing to answer with: the 401 itself (its body names the error) is the result.
    if (!authz) return { ...res, body: replay(denied) };
    res = await send(authz);
    return res;
  }

  /** GET /v2/: resolves when the registry speaks v2 (200, after answering a 401 challenge if one comes). */
  async ping(): Promise<void> {
    const res = await this.request('', { method: 'GET', url: `${this.baseUrl}/v2/` });
    await this.expect(res, [200], `ping ${this.baseUrl}/v2/`);
    // An unread body keeps the socket (and the process) busy until the server times it out.
    await readAll(res.body, 1 << 20);
  }

  /** GET a manifest by tag or digest, verified, schema 1 refused. `display` names the image in errors. */
  async getManifest(path: string, ref: string, display: string): Promise<FetchedManifest> {
    const res = await this.request(pullScope(path), {
      method: 'GET',
      url: `${this.baseUrl}/v2/${path}/manifests/${ref}`,
      headers: { Accept: MANIFEST_ACCEPT.join(', ') },
    });
    if (res.status === 404) {
      const { code, text } = describeRegistryErrors(404, (await readAll(res.body, 1 << 20)).toString('utf8'));
      throw new RegistryError('NOT_FOUND', `manifest for ${display} not found: ${text}`, code, 404);
    }
    await this.expect(res, [200], `manifest for ${display}`);
    const bytes = await readAll(res.body, MAX_MANIFEST_BYTES);
    const mediaType = detectMediaType(header(res, 'content-type'), bytes);
    if (mediaType === MT_SCHEMA1 || mediaType === MT_SCHEMA1_SIGNED) throw schema1Error(display);
    if (!isIndexType(mediaType) && !isManifestType(mediaType)) {
      throw new CnmError('INVALID', `manifest for ${display} has unsupported media type ${JSON.stringify(mediaType)}`);
    }
    const digest = sha256Digest(bytes);
    const want = ref.includes(':') ? ref : header(res, 'docker-content-digest');
    if (want && want !== digest) throw mismatch(`manifest for ${display}`, want, digest);
    return { digest, mediaType, bytes };
  }

  /** GET a blob (redirects followed); the caller verifies while streaming. */
  async getBlob(path: string, digest: string): Promise<BlobStream> {
    checkSupportedDigest(digest);
    const res = await this.request(pullScope(path), { method: 'GET', url: `${this.baseUrl}/v2/${path}/blobs/${digest}` });
    await this.expect(res, [200], `blob ${digest}`);
    const len = Number(header(res, 'content-length') ?? -1);
    return { size: Number.isFinite(len) ? len : -1, body: res.body };
  }

  /** HEAD a blob: true when the registry has it. */
  async hasBlob(path: string, digest: string, scope = pullScope(path)): Promise<boolean> {
    const res = await this.request(scope, { method: 'HEAD', url: `${this.baseUrl}/v2/${path}/blobs/${digest}` });
    await readAll(res.body).catch(() => undefined);
    if (res.status === 404) return false;
    if (res.status === 200) return true;
    throw await this.failure(res, `blob ${digest}`);
  }

  /** Throws the mapped error unless the status is one of `ok`; drains nothing on success. */
  async expect(res: HttpResponse, ok: number[], what: string): Promise<void> {
    if (!ok.includes(res.status)) throw await this.failure(res, what);
  }

  private async failure(res: HttpResponse, what: string): Promise<RegistryError> {
    const body = (await readAll(res.body, 1 << 20).catch(() => Buffer.alloc(0))).toString('utf8');
    const { code, text } = describeRegistryErrors(res.status, body);
    if (res.status === 401) {
      // What the docker CLI shows for a registry that wants credentials.
      const why = text.startsWith('unauthorized:') ? text : 'unauthorized: authentication required';
      return new RegistryError('FORBIDDEN', `${what}: ${why}`, 'UNAUTHORIZED', 401);
    }
    return new RegistryError(cnmCodeFor(res.status), `${what}: ${text}`, code, res.status);
  }
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function* replay(b: Buffer): AsyncGenerator<Uint8Array> {
  if (b.length) yield b;
}

/** Content-Type without parameters; for a bare application/json, the manifest's own mediaType or shape. */
function detectMediaType(contentType: string | undefined, bytes: Buffer): string {
  const ct = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (ct && ct !== 'application/json' && ct !== 'text/plain') return ct;
  let j: { mediaType?: string; schemaVersion?: number; manifests?: unknown; config?: unknown };
  try {
    j = JSON.parse(bytes.toString('utf8')) as typeof j;
  } catch {
    throw new CnmError('INVALID', 'manifest is not valid JSON');
  }
  if (j.schemaVersion === 1) return MT_SCHEMA1;
  if (j.mediaType) return j.mediaType;
  if (j.manifests) return 'application/vnd.oci.image.index.v1+json';
  return 'application/vnd.oci.image.manifest.v1+json';
}
