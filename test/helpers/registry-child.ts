// Runs one registry client operation and prints its outcome as JSON, so a
// privileged test can run the client inside a test namespace
// (`nsenter --net=<ns> node registry-child.ts '<json>'`).
// Ops: ping {domain}; push {domain, repo, ref, blobs: [file], manifest: file,
// mediaType}; pull {ref, sinkDir, platform?}. All take `credentials?`.
import { readFile } from 'node:fs/promises';
import { parseReference } from '../../src/images/reference.ts';
import { RegistryClient, parsePlatform, pullImage, pushBlob, pushManifest } from '../../src/images/registry/index.ts';
import type { Credentials, ProgressEvent } from '../../src/images/registry/index.ts';
import { DirBlobSink } from './dir-blob-sink.ts';

interface Op {
  op: 'ping' | 'push' | 'pull';
  domain?: string;
  credentials?: Credentials;
  repo?: string;
  ref?: string;
  blobs?: string[];
  manifest?: string;
  mediaType?: string;
  sinkDir?: string;
  platform?: string;
}

async function run(o: Op): Promise<unknown> {
  if (o.op === 'pull') {
    const ref = parseReference(o.ref ?? '');
    const client = new RegistryClient({ domain: ref.domain, credentials: o.credentials });
    const events: ProgressEvent[] = [];
    const r = await pullImage(client, ref, new DirBlobSink(o.sinkDir ?? ''), {
      onProgress: (e) => events.push(e),
      platforms: o.platform ? [parsePlatform(o.platform)] : undefined,
    });
    return { digest: r.digest, manifestDigest: r.manifest.digest, config: r.config.digest, layers: r.layers.map((l) => l.digest), upToDate: r.upToDate, events };
  }
  const client = new RegistryClient({ domain: o.domain ?? '', credentials: o.credentials });
  if (o.op === 'ping') {
    await client.ping();
    return { ok: true };
  }
  const repo = o.repo ?? '';
  for (const f of o.blobs ?? []) await pushBlob(client, repo, await readFile(f));
  const digest = await pushManifest(client, repo, o.ref ?? 'latest', o.mediaType ?? '', await readFile(o.manifest ?? ''));
  return { digest };
}

try {
  const out = await run(JSON.parse(process.argv[2] ?? '{}') as Op);
  process.stdout.write(JSON.stringify(out));
} catch (e) {
  const err = e as Error & { code?: string; registryCode?: string };
  process.stdout.write(JSON.stringify({ error: err.message, code: err.code, registryCode: err.registryCode }));
}
