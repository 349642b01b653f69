// What `images` templates see per row: docker's imageContext
// (cli/command/formatter/image.go). An image shows one row per repository
// and tag (and per digest with --digests); an image with neither is one
// <none> row.
import type { ImageSummaryWire } from '../client/image-wire.ts';
import type { ListSpec } from './format.ts';
import { MARSHAL_JSON, goJsonMarshal } from './go-fmt.ts';
import { goTimeOfUnix, humanDuration, shortId } from './rows.ts';
import { humanSize, humanSizeWithPrecision } from './units.ts';

const HEADERS = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT',
  Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
};

export const IMAGE_LIST: ListSpec = {
  table: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}',
  raw: 'repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n',
  headers: HEADERS,
};

export const IMAGE_LIST_DIGESTS: ListSpec = {
  table: 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}',
  raw: 'repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n',
  headers: HEADERS,
};

export interface ImageRow {
  Containers: string; CreatedAt: string; CreatedSince: string; Digest: string; ID: string; Repository: string;
  SharedSize: string; Size: string; Tag: string; UniqueSize: string; VirtualSize: string;
  [MARSHAL_JSON]: () => string;
}

/** name:tag -> [name, tag]; the tag's colon is the last one after the last slash (a registry port is not a tag). */
function splitTag(ref: string): [string, string] | undefined {
  const at = ref.lastIndexOf(':');
  if (at <= ref.lastIndexOf('/') || at < 0) return undefined;
  return [ref.slice(0, at), ref.slice(at + 1)];
}

function splitDigest(ref: string): [string, string] | undefined {
  const at = ref.indexOf('@');
  return at > 0 ? [ref.slice(0, at), ref.slice(at + 1)] : undefined;
}

function isDangling(i: ImageSummaryWire): boolean {
  const tags = i.RepoTags ?? [];
  const digests = i.RepoDigests ?? [];
  if (!tags.length && !digests.length) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

function row(i: ImageSummaryWire, repo: string, tag: string, digest: string, trunc: boolean, now: number): ImageRow {
  const fields = {
    Containers: i.Containers === -1 ? 'N/A' : String(i.Containers),
    CreatedAt: goTimeOfUnix(i.Created),
    CreatedSince: `${humanDuration(now - i.Created * 1000)} ago`,
    Digest: digest,
    ID: trunc ? shortId(i.Id) : i.Id,
    Repository: repo,
    SharedSize: i.SharedSize === -1 ? 'N/A' : humanSize(i.SharedSize),
    Size: humanSizeWithPrecision(i.Size, 3),
    Tag: tag,
    UniqueSize: i.Size === -1 || i.SharedSize === -1 ? 'N/A' : humanSize(i.Size - i.SharedSize),
    VirtualSize: humanSize(i.Size),
  };
  return { ...fields, [MARSHAL_JSON]: () => goJsonMarshal(fields) };
}

/**
 * The rows of one image. `digests`: --digests, or a format that shows
 * {{.Digest}} (docker's needDigest), which gives a row per tag and digest.
 */
export function imageRows(i: ImageSummaryWire, o: { trunc: boolean; digests: boolean; showDigest: boolean }, now = Date.now()): ImageRow[] {
  if (isDangling(i)) return [row(i, '<none>', '<none>', '<none>', o.trunc, now)];
  const tags = new Map<string, string[]>();
  const digests = new Map<string, string[]>();
  for (const t of i.RepoTags ?? []) {
    const s = splitTag(t);
    if (s) tags.set(s[0], [...(tags.get(s[0]) ?? []), s[1]]);
  }
  for (const d of i.RepoDigests ?? []) {
    const s = splitDigest(d);
    if (s) digests.set(s[0], [...(digests.get(s[0]) ?? []), s[1]]);
  }
  const out: ImageRow[] = [];
  for (const [repo, ts] of tags) {
    const ds = o.showDigest ? (digests.get(repo) ?? []) : [];
    digests.delete(repo);
    for (const t of ts) {
      if (!ds.length) out.push(row(i, repo, t, '<none>', o.trunc, now));
      for (const d of ds) out.push(row(i, repo, t, d, o.trunc, now));
    }
  }
  // Repositories known by digest only.
  for (const [repo, ds] of digests) {
    if (o.digests) for (const d of ds) out.push(row(i, repo, '<none>', d, o.trunc, now));
    else out.push(row(i, repo, '<none>', '', o.trunc, now));
  }
  return out;
}
