// docker/go-units sizes as the docker CLI prints them: decimal units (kB,
// MB, …, 1000 apart) and Go's %.*g (significant digits, no trailing zeros).

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

const stripZeros = (m: string): string => (m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m);

/** Go's fmt %.{precision}g: 999.7 at precision 3 rounds to "1e+03", as Go prints it. */
function goG(v: number, precision: number): string {
  if (v === 0) return '0';
  const s = v.toPrecision(precision);
  const e = /^(.*)e([+-])(\d+)$/.exec(s);
  if (!e) return stripZeros(s);
  return `${stripZeros(e[1] ?? '')}e${e[2]}${(e[3] ?? '').padStart(2, '0')}`;
}

/** units.HumanSizeWithPrecision: 4261550 -> "4.26MB" (precision 3). */
export function humanSizeWithPrecision(size: number, precision: number): string {
  let i = 0;
  let v = size;
  while (v >= 1000 && i < DECIMAL_ABBRS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${goG(v, precision)}${DECIMAL_ABBRS[i]}`;
}

/** units.HumanSize: four significant digits. */
export const humanSize = (size: number): string => humanSizeWithPrecision(size, 4);

/** Go's time.Duration.String() of whole seconds: a progress bar's time left. */
export function goDurationSeconds(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}
