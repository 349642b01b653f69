// Image references as Docker parses them (distribution/reference v0.6:
// regexp.go, reference.go, normalize.go). `busybox` is
// docker.io/library/busybox:latest; the familiar form drops docker.io and
// library/ again for display.
import { invalid } from '../model/errors.ts';
import type { CnmError } from '../model/errors.ts';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

// regexp.go, built up the same way.
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const tag = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePat = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;
const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tag}))?(?:@(${digestPat}))?$`);
const ANCHORED_NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${pathComponent}(?:/${pathComponent})*)$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const TAG_RE = new RegExp(`^${tag}$`);

// errors.go: the texts the docker CLI prints.
const ERR_FORMAT = 'invalid reference format';
const ERR_UPPERCASE = `${ERR_FORMAT}: repository name must be lowercase`;
const ERR_EMPTY = `${ERR_FORMAT}: repository name must have at least one component`;
const ERR_TOO_LONG = `${ERR_FORMAT}: repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`;

/** A fully normalised reference: domain, path, and a tag and/or digest. */
export interface ImageReference {
  /** Registry host[:port], `docker.io` for Docker Hub. */
  domain: string;
  /** Repository path in the registry, `library/busybox` for official images. */
  path: string;
  tag?: string;
  digest?: string;
}

const fail = (msg: string): CnmError => invalid(msg);

/** digest.Parse (opencontainers/go-digest): algorithm known, hex of its length. */
function checkDigest(d: string): void {
  const [alg, hex = ''] = d.split(':', 2);
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  const want = lengths[alg ?? ''];
  if (want === undefined) throw fail('unsupported digest algorithm');
  if (hex.length !== want) throw fail('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw fail('invalid checksum digest format');
}

/** splitDockerDomain: the first component is a registry when it has `.` or `:`, is `localhost`, or has upper case. */
function splitDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let rest: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_REPO_PREFIX + rest;
  return [domain, rest];
}

/** reference.Parse on an already-qualified string. */
function parseQualified(s: string): ImageReference {
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (s === '') throw fail(ERR_EMPTY);
    if (REFERENCE_RE.test(s.toLowerCase())) throw fail(ERR_UPPERCASE);
    throw fail(ERR_FORMAT);
  }
  const name = m[1] ?? '';
  if (name.length > NAME_TOTAL_LENGTH_MAX) throw fail(ERR_TOO_LONG);
  const nm = ANCHORED_NAME_RE.exec(name);
  if (!nm || nm[1] === undefined) throw fail(ERR_FORMAT);
  const ref: ImageReference = { domain: nm[1], path: nm[2] ?? '' };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    checkDigest(m[3]);
    ref.digest = m[3];
  }
  return ref;
}

/**
 * ParseNormalizedNamed: `busybox` -> docker.io/library/busybox (no tag
 * added; see withDefaultTag). Throws CnmError INVALID with Docker's text.
 */
export function parseReference(s: string): ImageReference {
  if (IDENTIFIER_RE.test(s)) {
    throw fail(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, rest] = splitDomain(s);
  const colon = rest.indexOf(':');
  const remoteName = colon > -1 ? rest.slice(0, colon) : rest;
  if (remoteName.toLowerCase() !== remoteName) {
    throw fail(`${ERR_FORMAT}: repository name (${remoteName}) must be lowercase`);
  }
  return parseQualified(`${domain}/${rest}`);
}

/** TagNameOnly: a reference without tag or digest gets `latest`. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** Parses and adds `latest` when needed: what `docker pull NAME` pulls. */
export function normalizeReference(s: string): ImageReference {
  return withDefaultTag(parseReference(s));
}

/** Name(): domain/path, e.g. docker.io/library/busybox. */
export const referenceName = (r: ImageReference): string => `${r.domain}/${r.path}`;

/** String(): the full normalised form, e.g. docker.io/library/busybox:latest. */
export function referenceString(r: ImageReference): string {
  return referenceName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** FamiliarName(): busybox, user/img, localhost:5000/x. */
export function familiarName(r: ImageReference): string {
  if (r.domain !== DEFAULT_DOMAIN) return referenceName(r);
  const p = r.path;
  // Only library/<one component> is shortened (normalize.go familiarizeName).
  if (p.startsWith(OFFICIAL_REPO_PREFIX) && !p.slice(OFFICIAL_REPO_PREFIX.length).includes('/')) {
    return p.slice(OFFICIAL_REPO_PREFIX.length);
  }
  return p;
}

/** FamiliarString(): busybox:latest, user/img@sha256:... */
export function familiarString(r: ImageReference): string {
  return familiarName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** A tag as `docker tag` accepts it. */
export const isValidTag = (t: string): boolean => TAG_RE.test(t);
