import { randomBytes } from 'node:crypto';

/** A Docker-style object ID: 64 lowercase hex characters, random. */
export const newId = (): string => randomBytes(32).toString('hex');

export const shortId = (id: string): string => id.slice(0, 12);

/** RFC3339 with nanoseconds, as Docker prints `Created`. */
export function rfc3339Nano(d = new Date()): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000000Z`;
}

/** A random locally administered unicast MAC (Docker >= 28 does the same). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
