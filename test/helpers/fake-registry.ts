// An in-memory v2 registry behind the client's Transport seam (no sockets):
// manifests and blobs by digest, tags, optional Bearer auth with a token
// server, optional 307 redirects for blobs. Records every request.
import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponse, Transport } from '../../src/images/registry/transport.ts';

export const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function* chunks(b: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += 7) yield b.subarray(i, i + 7);
}

export interface FakeRegistryOptions {
  /** Require `Authorization: Bearer <token>`; the token server hands out tokens at REALM. */
  bearer?: boolean;
  /** Blobs answer 307 to a storage URL. */
  redirectBlobs?: boolean;
}

export const BASE = 'http://reg.test';
export const REALM = 'http://auth.test/token';

export class FakeRegistry {
  readonly requests: HttpRequest[] = [];
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { mediaType: string; bytes: Buffer }>();
  readonly tags = new Map<string, string>();
  tokensIssued = 0;
  /** Bytes served for a blob instead of its real content (corruption tests). */
  readonly tamper = new Map<string, Buffer>();
  private readonly opts: FakeRegistryOptions;
  constructor(opts: FakeRegistryOptions = {}) {
    this.opts = opts;
  }

  addBlob(b: Uint8Array): string {
    const d = sha(b);
    this.blobs.set(d, Buffer.from(b));
    return d;
  }
  addManifest(repoTag: string | undefined, mediaType: string, json: unknown): { digest: string; size: number } {
    const bytes = Buffer.from(JSON.stringify(json));
    const d = sha(bytes);
    this.manifests.set(d, { mediaType, bytes });
    if (repoTag) this.tags.set(repoTag, d);
    return { digest: d, size: bytes.length };
  }

  transport: Transport = async (req) => {
    this.requests.push(req);
    const u = new URL(req.url);
    const reply = (status: number, body: string | Buffer = '', headers: Record<string, string> = {}): HttpResponse =>
      ({ status, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, url: req.url, body: chunks(Buffer.from(body)) });
    if (u.origin === 'http://auth.test') {
      this.tokensIssued++;
      return reply(200, JSON.stringify({ token: `tok-${u.searchParams.get('scope')}`, expires_in: 300 }));
    }
    if (u.origin === 'http://storage.test') {
      const b = this.blobs.get(u.pathname.slice(1));
      return b ? reply(200, this.tamper.get(u.pathname.slice(1)) ?? b) : reply(404);
    }
    const m = /^\/v2\/(.*?)\/(manifests|blobs)\/([^/]+)$/.exec(u.pathname);
    const scope = m ? `repository:${m[1]}:pull` : '';
    if (this.opts.bearer) {
      const want = `Bearer tok-${scope}`;
      if (req.headers?.Authorization !== want) {
        const ch = `Bearer realm="${REALM}",service="reg.test"${scope ? `,scope="${scope}"` : ''}`;
        return reply(401, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }), { 'www-authenticate': ch });
      }
    }
    if (u.pathname === '/v2/') return reply(200, '{}');
    if (!m) return reply(404);
    const [, repo, kind, ref = ''] = m;
    if (kind === 'manifests') {
      const d = ref.startsWith('sha256:') ? ref : this.tags.get(`${repo}:${ref}`);
      const man = d ? this.manifests.get(d) : undefined;
      if (!man || !d) return reply(404, JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: ref } }] }));
      return reply(200, man.bytes, { 'content-type': man.mediaType, 'docker-content-digest': d });
    }
    const b = this.blobs.get(ref);
    if (!b) return reply(404, JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] }));
    if (this.opts.redirectBlobs) return reply(307, '', { location: `http://storage.test/${ref}` });
    return reply(200, this.tamper.get(ref) ?? b);
  };
}
