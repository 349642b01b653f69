// Signals as the Engine API takes them: a name with or without "SIG"
// ("TERM", "SIGTERM", as the CLI's signal proxy sends them) or a number
// (moby pkg/signal ParseSignal); empty means SIGKILL (docker kill's default).
import { constants } from 'node:os';
import { invalid } from '../model/errors.ts';

const BY_NUMBER = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

export function parseSignal(v: string): NodeJS.Signals {
  if (v === '') return 'SIGKILL';
  if (/^\d+$/.test(v)) {
    const s = BY_NUMBER.get(Number(v));
    if (s) return s;
  } else {
    const name = `SIG${v.toUpperCase().replace(/^SIG/, '')}`;
    if (name in constants.signals) return name as NodeJS.Signals;
  }
  throw invalid(`Invalid signal: ${v}: expected a signal name (TERM, SIGTERM) or number`);
}
