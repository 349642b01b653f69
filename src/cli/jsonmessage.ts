// Progress streams (pull, load, import) drawn as the docker CLI draws them
// (moby pkg/jsonmessage DisplayJSONMessagesStream): on a terminal one line
// per layer id, rewritten in place with cursor movements as its status
// changes; otherwise plain lines, the progress bars left out.
import type { JsonMessageWire } from '../client/image-wire.ts';
import type { Out } from './context.ts';
import { goDurationSeconds, humanSize } from './units.ts';

/** An error the daemon sent in the stream after it had answered 200. */
export class StreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamError';
  }
}

export interface ProgressTarget {
  out: Out;
  isTerminal: boolean;
  /** Terminal columns; the bar is drawn only above 110, the time left above 50 (docker's rule). */
  columns?: number;
}

type Detail = NonNullable<JsonMessageWire['progressDetail']>;

/** Whether `out` is a terminal, and how wide (docker assumes 200 columns when it cannot tell). */
export function terminalOf(out: Out): ProgressTarget {
  const tty = out as { isTTY?: boolean; columns?: number };
  return { out, isTerminal: !!tty.isTTY, columns: tty.columns ?? 200 };
}

/** JSONProgress.String(): "[=====>    ] 1.2MB/4.3MB 3s". */
export function progressString(p: Detail, columns = 200, now = Date.now()): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  const percentage = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = columns > 110 ? `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] ` : '';
  let numbers = '';
  if (!p.hidecounts) {
    if (p.units) numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
    else numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  }
  let left = '';
  if (current > 0 && p.start && p.start > 0 && percentage < 50 && columns > 50) {
    const perEntry = (now / 1000 - p.start) / current;
    left = ` ${goDurationSeconds(Math.floor((total - current) * perEntry))}`;
  }
  return bar + numbers + left;
}

const errorOf = (m: JsonMessageWire): string | undefined => m.errorDetail?.message ?? m.error;

/** JSONMessage.Display. */
function display(m: JsonMessageWire, t: ProgressTarget): void {
  const progress = m.progressDetail !== undefined;
  let endl = '';
  if (t.isTerminal && !m.stream && progress) {
    // Clear the line, then back to its start.
    endl = '\r';
    t.out.write(`\x1b[2K${endl}`);
  } else if (progress && progressString(m.progressDetail ?? {}, t.columns) !== '') {
    return;
  }
  let line = '';
  if (m.id) line += `${m.id}: `;
  if (m.from) line += `(from ${m.from}) `;
  if (progress && t.isTerminal) line += `${m.status ?? ''} ${progressString(m.progressDetail ?? {}, t.columns)}${endl}`;
  else if (m.progress) line += `${m.status ?? ''} ${m.progress}${endl}`;
  else if (m.stream) line += `${m.stream}${endl}`;
  else line += `${m.status ?? ''}${endl}\n`;
  t.out.write(line);
}

/**
 * Draws `messages`; an in-band error ({"error": …}) ends the drawing and is
 * thrown as a StreamError with the daemon's message. `onAux` gets aux lines.
 */
export async function displayJsonMessages(messages: AsyncIterable<JsonMessageWire>, t: ProgressTarget, onAux?: (m: JsonMessageWire) => void): Promise<void> {
  // Layer id -> its line, counted from the first progress line drawn.
  let ids = new Map<string, number>();
  for await (const m of messages) {
    if (m.aux !== undefined) {
      onAux?.(m);
      continue;
    }
    let diff = 0;
    if (m.id && (m.progressDetail !== undefined || m.progress)) {
      let line = ids.get(m.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(m.id, line);
        if (t.isTerminal) t.out.write('\n');
      }
      diff = ids.size - line;
      if (t.isTerminal && diff > 0) t.out.write(`\x1b[${diff}A`);
    } else {
      // A line that is not a layer's: progress from before it is not redrawn.
      ids = new Map();
    }
    const err = errorOf(m);
    if (err !== undefined) throw new StreamError(err);
    display(m, t);
    if (m.id && t.isTerminal && diff > 0) t.out.write(`\x1b[${diff}B`);
  }
}
