// `-v SRC:DST[:ro|rw]` with a host path (named volumes come with the images
// work). Parsed at create time so a bad one is a 400 and nothing is made.
import type { BindMount } from './types.ts';

export function parseBind(spec: string): BindMount {
  const parts = spec.split(':');
  const [source = '', destination = '', mode = 'rw', ...rest] = parts;
  if (rest.length || parts.length < 2) throw new Error(`invalid volume specification "${spec}": expected SRC:DST[:ro|rw]`);
  if (!source.startsWith('/')) {
    throw new Error(`invalid volume specification "${spec}": named volumes are not supported yet, expected an absolute host path as SRC`);
  }
  if (!destination.startsWith('/')) throw new Error(`invalid volume specification "${spec}": expected an absolute path as DST`);
  const opts = mode.split(',');
  if (opts.some((o) => !['ro', 'rw', 'z', 'Z', 'rprivate', 'private'].includes(o))) {
    throw new Error(`invalid volume specification "${spec}": mode "${mode}" is not one of ro, rw`);
  }
  if (/[\0\n]/.test(spec)) throw new Error(`invalid volume specification ${JSON.stringify(spec)}: control characters`);
  return { source, destination, readonly: opts.includes('ro') };
}
