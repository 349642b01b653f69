// Docker's pull progress as JSONMessage objects (moby pkg/jsonmessage,
// distribution/pull_v2.go, distribution/xfer): one per line on
// POST /images/create.
export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface ProgressEvent {
  status: string;
  id?: string;
  progressDetail?: ProgressDetail;
  progress?: string;
}

export type ProgressFn = (e: ProgressEvent) => void;

/** stringid.TruncateID of a digest: the first 12 hex characters. */
export const shortId = (digest: string): string => (digest.split(':')[1] ?? digest).slice(0, 12);

/** go-units HumanSize: decimal units, 4 significant digits (`1.234MB`, `512B`). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** JSONProgress.String() at the daemon's width: `[=====>      ]  1.2MB/3.4MB`. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return `${humanSize(current)}`.padStart(8);
  const pct = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const box = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  return `${box}${humanSize(current).padStart(8)}/${humanSize(total)}`;
}
