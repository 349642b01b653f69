// A small push, enough to put test fixtures into a registry: blobs through
// POST /v2/<name>/blobs/uploads/ then PUT <Location>?digest=, then the
// manifest PUT (distribution docs/spec/api.md "Pushing An Image").
import type { RegistryClient } from './client.ts';
import { pushScope } from './client.ts';
import { CnmError } from '../../model/errors.ts';
import { readAll } from './transport.ts';
import { sha256Digest } from './digest.ts';

/** Uploads one blob unless the registry has it; returns its digest. */
export async function pushBlob(client: RegistryClient, path: string, data: Uint8Array): Promise<string> {
  const digest = sha256Digest(data);
  const scope = pushScope(path);
  if (await client.hasBlob(path, digest, scope)) return digest;
  const start = await client.request(scope, { method: 'POST', url: `${client.baseUrl}/v2/${path}/blobs/uploads/`, headers: { 'Content-Length': '0' } });
  await client.expect(start, [202], `upload of ${digest}`);
  await readAll(start.body);
  const loc = start.headers.location;
  if (!loc) throw new CnmError('UNAVAILABLE', `upload of ${digest}: registry sent no Location`);
  const url = new URL(loc, client.baseUrl);
  url.searchParams.set('digest', digest);
  const put = await client.request(scope, {
    method: 'PUT',
    url: url.toString(),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) },
    body: data,
  });
  await client.expect(put, [201], `upload of ${digest}`);
  await readAll(put.body);
  return digest;
}

/** PUTs a manifest (or index) under `ref` (tag or digest); returns its digest. */
export async function pushManifest(client: RegistryClient, path: string, ref: string, mediaType: string, bytes: Uint8Array): Promise<string> {
  const res = await client.request(pushScope(path), {
    method: 'PUT',
    url: `${client.baseUrl}/v2/${path}/manifests/${ref}`,
    headers: { 'Content-Type': mediaType, 'Content-Length': String(bytes.length) },
    body: bytes,
  });
  await client.expect(res, [201], `manifest ${path}:${ref}`);
  await readAll(res.body);
  return sha256Digest(bytes);
}
