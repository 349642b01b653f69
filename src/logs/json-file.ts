// Reading Docker's json-file logs as the monitor writes them: one JSON
// record a line ({"log","stream","time"}), rotated as <log>.1, <log>.2, ...
// (.1 the newest). Read in chunks from disk, never whole: --tail seeks back
// from the end, --follow waits for growth and follows a rotation.
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with 9 fractional digits, UTC: compares as a string. */
  time: string;
  log: string;
}

export interface ReadOptions {
  /** Records from the end only ('all': every record). */
  tail: number | 'all';
  /** Only records at or after / before these times (RFC 3339, 9 digits). */
  since?: string;
  until?: string;
  /** Keep reading as the log grows, until `running()` says false. */
  follow: boolean;
  running: () => boolean;
  signal: AbortSignal;
}

const CHUNK = 64 * 1024;
const FOLLOW_POLL_MS = 100;
const NEWLINE = 0x0a;

/** Oldest first: <log>.N ... <log>.1, <log>. */
export async function logFiles(path: string): Promise<string[]> {
  const rotated: string[] = [];
  for (let i = 1; ; i++) {
    try {
      await stat(`${path}.${i}`);
      rotated.unshift(`${path}.${i}`);
    } catch {
      break;
    }
  }
  return [...rotated, path];
}

/** Unix seconds ("1700000000.5") or RFC 3339 -> the log's time format. */
export function toLogTime(v: string): string {
  let ms: number;
  let nanos = 0;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const [s = '0', frac = ''] = v.split('.');
    ms = Number(s) * 1000;
    nanos = Number(frac.padEnd(9, '0').slice(0, 9));
  } else {
    ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new Error(`invalid time "${v}": expected unix seconds or RFC 3339`);
    const m = /\.(\d+)/.exec(v);
    nanos = m ? Number((m[1] ?? '').padEnd(9, '0').slice(0, 9)) : (ms % 1000) * 1e6;
    ms -= ms % 1000;
  }
  const base = new Date(ms).toISOString().slice(0, 19);
  return `${base}.${String(nanos).padStart(9, '0')}Z`;
}

function parse(line: string): LogRecord | null {
  try {
    const r = JSON.parse(line) as Partial<LogRecord>;
    if (typeof r.log !== 'string' || typeof r.time !== 'string') return null;
    return { log: r.log, time: r.time, stream: r.stream === 'stderr' ? 'stderr' : 'stdout' };
  } catch {
    return null; // a torn last line of a crashed writer
  }
}

/** Where the last `n` records start: [file index, byte offset]. */
async function tailStart(files: string[], n: number): Promise<[number, number]> {
  const last = files.length - 1;
  if (n <= 0) return [last, (await stat(files[last] ?? '').catch(() => ({ size: 0 }))).size];
  let need = n;
  const buf = Buffer.alloc(CHUNK);
  for (let f = last; f >= 0; f--) {
    const fh = await open(files[f] ?? '', 'r').catch(() => null);
    if (!fh) continue;
    try {
      const size = (await fh.stat()).size;
      let pos = size;
      // The last newline ends the last whole record; anything after it is a
      // record still being written (or torn by a crash), not counted.
      let seenEnd = false;
      while (pos > 0) {
        const len = Math.min(CHUNK, pos);
        pos -= len;
        await fh.read(buf, 0, len, pos);
        for (let i = len - 1; i >= 0; i--) {
          if (buf[i] !== NEWLINE) continue;
          if (!seenEnd) { seenEnd = true; continue; }
          // Every other newline starts the record after it.
          if (--need === 0) return [f, pos + i + 1];
        }
      }
      if (seenEnd && --need === 0) return [f, 0];
    } finally {
      await fh.close();
    }
  }
  return [0, 0];
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Reads lines from an open file from `pos`, a chunk's worth at a time. */
async function* lines(fh: FileHandle, from: number, state: { pos: number; rest: Buffer }): AsyncGenerator<string[]> {
  state.pos = from;
  const buf = Buffer.alloc(CHUNK);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK, state.pos);
    if (bytesRead === 0) return;
    state.pos += bytesRead;
    let data = state.rest.length ? Buffer.concat([state.rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    let start = 0;
    const out: string[] = [];
    for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, start)) {
      out.push(data.toString('utf8', start, i));
      start = i + 1;
    }
    data = data.subarray(start);
    state.rest = Buffer.from(data);
    if (out.length) yield out;
  }
}

/** The records, in batches (one per chunk read): fewer awaits and writes. */
export async function* readLogs(path: string, o: ReadOptions): AsyncGenerator<LogRecord[]> {
  const files = await logFiles(path);
  let [fi, offset] = o.tail === 'all' ? [0, 0] : await tailStart(files, o.tail);
  const keep = (r: LogRecord | null): r is LogRecord => !!r && (!o.since || r.time >= o.since) && (!o.until || r.time <= o.until);
  const batch = (ls: string[]): LogRecord[] => ls.map(parse).filter(keep);
  // Rotated files: read through once.
  for (; fi < files.length - 1; fi++, offset = 0) {
    const fh = await open(files[fi] ?? '', 'r').catch(() => null);
    if (!fh) continue;
    try {
      for await (const ls of lines(fh, offset, { pos: 0, rest: Buffer.alloc(0) })) {
        if (o.signal.aborted) return;
        yield batch(ls);
      }
    } finally {
      await fh.close();
    }
  }
  // The current file, followed if asked.
  let fh = await open(path, 'r').catch(() => null);
  const st = { pos: 0, rest: Buffer.alloc(0) };
  let from = offset;
  try {
    for (;;) {
      if (fh) {
        for await (const ls of lines(fh, from, st)) {
          if (o.signal.aborted) return;
          yield batch(ls);
        }
        from = st.pos;
      }
      if (!o.follow || o.signal.aborted) return;
      // Rotated under us: finish the old file, then start on the new one.
      const ino = fh ? (await fh.stat()).ino : -1;
      const now = await stat(path).catch(() => null);
      if (now && now.ino !== ino) {
        if (fh) {
          for await (const ls of lines(fh, from, st)) yield batch(ls);
          await fh.close();
        }
        fh = await open(path, 'r').catch(() => null);
        from = 0;
        st.rest = Buffer.alloc(0);
        continue;
      }
      if (!o.running()) {
        // One last read: what the monitor wrote before it ended (in a file
        // that may have appeared since the last look).
        if (!fh) {
          fh = await open(path, 'r').catch(() => null);
          from = 0;
        }
        if (fh) {
          for await (const ls of lines(fh, from, st)) yield batch(ls);
        }
        return;
      }
      await sleep(FOLLOW_POLL_MS, o.signal);
    }
  } finally {
    await fh?.close();
  }
}
