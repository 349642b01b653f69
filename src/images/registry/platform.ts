// Choosing one entry of a manifest list / OCI index, as Docker's platform
// matcher does for `docker pull [--platform]`: os and architecture must
// match; a wanted variant must match, and an entry without variant fits any.
import type { Descriptor, Platform } from './media.ts';

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** Parses `linux/arm64/v8` (the --platform syntax). */
export function parsePlatform(s: string): Platform {
  const [os = '', architecture = '', variant] = s.toLowerCase().split('/');
  return variant ? { os, architecture, variant } : { os, architecture };
}

export const platformString = (p: Platform): string =>
  [p.os, p.architecture, p.variant].filter((x) => x).join('/');

function matches(want: Platform, got: Platform | undefined): boolean {
  if (!got) return false;
  if (got.os !== want.os || got.architecture !== want.architecture) return false;
  return !want.variant || !got.variant || got.variant === want.variant;
}

/** The first entry matching one of `wanted` (in preference order), or undefined. */
export function choosePlatform(entries: Descriptor[], wanted: Platform[] = [DEFAULT_PLATFORM]): Descriptor | undefined {
  for (const w of wanted) {
    const exact = entries.find((e) => matches(w, e.platform) && e.platform?.variant === w.variant);
    if (exact) return exact;
    const loose = entries.find((e) => matches(w, e.platform));
    if (loose) return loose;
  }
  return undefined;
}
