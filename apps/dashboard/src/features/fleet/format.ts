/** How values, counts and times read on screen. */

/** `1 device`, `2 devices`, `0 devices`: `noun` is the singular, and takes an `s` for any other count. */
export function count(n: number, noun: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? noun : `${noun}s`}`;
}

/**
 * Decimals by magnitude, always all of them (`24.0`, not `24`): a streaming value keeps its width, so its
 * row does not reflow and jump each time a reading ends in zero. One formatter per precision, made once:
 * `toLocaleString` with options builds a new one per call, thousands of times a second on the overview.
 */
const fixed = [0, 1, 2].map(
  (digits) =>
    new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }),
);

export function formatValue(v: number): string {
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return v.toExponential(2);
  return fixed[abs >= 100 ? 0 : abs >= 10 ? 1 : 2]!.format(v);
}

export function formatAgo(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

export function labelText(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => (v ? `${k}=${v}` : k));
}
