// A minimal registry that wants Bearer tokens from its own token endpoint,
// for the client's token flow over real HTTP (docker-registry's token auth
// needs a signing setup a test does not). Serves one image from files:
// argv: <addr:port> <repo> <tag> <manifest file> <mediaType> <blob file>...
// Blobs answer 307 to /storage/<digest>. GET /stats: tokens issued.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [addr = '127.0.0.1:5002', repo = 'x', tag = '1', manifestFile = '', mediaType = '', ...blobFiles] = process.argv.slice(2);
const [host, port] = addr.split(':');
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const manifest = readFileSync(manifestFile);
const blobs = new Map(blobFiles.map((f) => { const b = readFileSync(f); return [sha(b), b] as const; }));
const scope = `repository:${repo}:pull`;
let tokens = 0;

http.createServer((req, res) => {
  const u = new URL(req.url ?? '/', `http://${addr}`);
  const send = (status: number, body: Buffer | string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  if (u.pathname === '/stats') return send(200, JSON.stringify({ tokens }));
  if (u.pathname === '/token') {
    if (u.searchParams.get('service') !== 'fake' || u.searchParams.get('scope') !== scope) return send(400, 'bad token request');
    tokens++;
    return send(200, JSON.stringify({ access_token: `T-${scope}`, expires_in: 300 }));
  }
  if (u.pathname.startsWith('/storage/')) {
    const b = blobs.get(u.pathname.slice('/storage/'.length));
    return b ? send(200, b) : send(404, '');
  }
  if (req.headers.authorization !== `Bearer T-${scope}`) {
    const err = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    return send(401, err, { 'WWW-Authenticate': `Bearer realm="http://${addr}/token",service="fake",scope="${scope}"`, 'Content-Type': 'application/json' });
  }
  if (u.pathname === `/v2/${repo}/manifests/${tag}` || u.pathname === `/v2/${repo}/manifests/${sha(manifest)}`) {
    return send(200, manifest, { 'Content-Type': mediaType, 'Docker-Content-Digest': sha(manifest) });
  }
  const m = new RegExp(`^/v2/${repo}/blobs/(sha256:[a-f0-9]{64})$`).exec(u.pathname);
  if (m && blobs.has(m[1] ?? '')) return send(307, '', { Location: `/storage/${m[1]}` });
  return send(404, JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
}).listen(Number(port), host, () => console.log('listening'));
