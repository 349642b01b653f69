// Registry authentication (distribution docs/spec/auth/token.md): a 401
// carries `WWW-Authenticate: Basic realm=...` (htpasswd) or `Bearer
// realm=...,service=...,scope=...` (token server). Bearer tokens are cached
// per scope until they expire.
import { CnmError } from '../../model/errors.ts';
import { readAll } from './transport.ts';
import type { Transport } from './transport.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one WWW-Authenticate header value (quoted or token params). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (const p of (m[2] ?? '').matchAll(re)) {
    params[(p[1] ?? '').toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: (m[1] ?? '').toLowerCase(), params };
}

// token.md: a token without expires_in lives at least 60 seconds.
const MIN_TOKEN_SECONDS = 60;

/** Answers challenges for one registry: Basic from credentials, Bearer from its token server. */
export class Authenticator {
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  private basic = false;
  private readonly transport: Transport;
  private readonly creds: Credentials | undefined;
  private readonly now: () => number;
  constructor(transport: Transport, creds?: Credentials, now: () => number = Date.now) {
    this.transport = transport;
    this.creds = creds;
    this.now = now;
  }

  /** The Authorization header to send for `scope`, if one is known already. */
  header(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t && t.expires > this.now()) return `Bearer ${t.token}`;
    if (this.basic && this.creds) return basicHeader(this.creds);
    return undefined;
  }

  /** Handles a 401's challenge; returns the header to retry with, or undefined when there is nothing to try. */
  async answer(wwwAuthenticate: string | undefined, scope: string): Promise<string | undefined> {
    const c = wwwAuthenticate ? parseChallenge(wwwAuthenticate) : undefined;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!this.creds) return undefined;
      this.basic = true;
      return basicHeader(this.creds);
    }
    if (c.scheme !== 'bearer' || !c.params.realm) return undefined;
    const url = new URL(c.params.realm);
    if (c.params.service) url.searchParams.set('service', c.params.service);
    const s = c.params.scope ?? scope;
    if (s) url.searchParams.set('scope', s);
    const headers: Record<string, string> = {};
    if (this.creds) headers.Authorization = basicHeader(this.creds);
    const res = await this.transport({ method: 'GET', url: url.toString(), headers });
    const text = (await readAll(res.body, 1 << 20)).toString('utf8');
    if (res.status === 401 || res.status === 403) {
      throw new CnmError('FORBIDDEN', `unauthorized: authentication required (token server ${url.origin} answered ${res.status})`);
    }
    if (res.status !== 200) throw new CnmError('UNAVAILABLE', `token server ${url.origin} answered ${res.status}: ${text.trim()}`);
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new CnmError('UNAVAILABLE', `token server ${url.origin} sent no JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new CnmError('UNAVAILABLE', `token server ${url.origin} sent no token`);
    const secs = Math.max(body.expires_in ?? 0, MIN_TOKEN_SECONDS);
    this.tokens.set(scope, { token, expires: this.now() + secs * 1000 });
    return `Bearer ${token}`;
  }
}

const basicHeader = (c: Credentials): string =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
