// A small leveled logger writing one line per event to stderr.
import type { Logger } from '../core/context.ts';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export function parseLevel(s: string): Level {
  const l = s.toLowerCase() === 'warning' ? 'warn' : s.toLowerCase();
  if (!(LEVELS as readonly string[]).includes(l)) {
    throw new Error(`invalid log level "${s}": expected one of ${LEVELS.join(', ')}`);
  }
  return l as Level;
}

export function createLogger(level: Level, out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  const min = LEVELS.indexOf(level);
  const emit = (lvl: Level) => (msg: string, extra?: object) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const tail = extra ? ` ${Object.entries(extra).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : '';
    out(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${tail}`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
