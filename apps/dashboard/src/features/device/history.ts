/** Loading a device's past for the charts: the range's buckets, then the seam in one-second buckets. */
import type { HistoryResponse } from '@edgewire/protocol';
import { getJson, request } from '../../api/http';
import { type MetricSeries, seamOf } from './series';

export const RANGES = [
  { key: '15m', label: '15 min', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 3_600_000 },
  { key: '6h', label: '6 h', ms: 6 * 3_600_000 },
  { key: '24h', label: '24 h', ms: 24 * 3_600_000 },
  { key: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: '30 days', ms: 30 * 86_400_000 },
] as const;
export type RangeKey = (typeof RANGES)[number]['key'];

/** Points per chart asked of the API; it picks the bucket that fits. */
const POINTS = 600;

const readingsPath = (deviceId: string, params: Record<string, string>) =>
  `/api/devices/${encodeURIComponent(deviceId)}/readings?${new URLSearchParams(params)}`;

export function loadRange(
  deviceId: string,
  from: number,
  to: number,
  signal: AbortSignal,
): Promise<HistoryResponse> {
  return getJson<HistoryResponse>(
    readingsPath(deviceId, { from: String(from), to: String(to), maxPoints: String(POINTS) }),
    { signal },
  );
}

/** Fills each series from `history`, asking again in one-second buckets for the stretch before its cutoff. */
export async function fillSeries(
  deviceId: string,
  history: HistoryResponse,
  series: Iterable<MetricSeries>,
  signal: AbortSignal,
): Promise<void> {
  const byMetric = new Map(history.series.map((s) => [s.metric, s]));
  await Promise.all(
    [...series].map(async (s) => {
      const past = byMetric.get(s.metric);
      if (past?.unit) s.unit = past.unit;
      const cutoff = s.cutoff(history.to);
      const seam = Math.max(history.from, seamOf(cutoff, history.bucketMs));
      let fine: HistoryResponse['series'][number]['points'] = [];
      if (past && cutoff > seam) {
        const answer = await getJson<HistoryResponse>(
          readingsPath(deviceId, {
            metric: s.metric,
            from: String(seam),
            to: String(cutoff),
            bucket: '1s',
            maxPoints: '10000',
          }),
          { signal },
        );
        fine = answer.series[0]?.points ?? [];
      }
      s.fill({ points: past?.points ?? [], bucketMs: history.bucketMs }, seam, fine, cutoff);
    }),
  );
}

/** Downloads the shown range of `metrics` as CSV (the API's own format). */
export async function downloadCsv(
  deviceId: string,
  metrics: string[],
  from: number,
  to: number,
): Promise<void> {
  const params: Record<string, string> = {
    from: String(Math.floor(from)),
    to: String(Math.ceil(to)),
    maxPoints: '10000',
  };
  if (metrics.length > 0) params.metric = metrics.join(',');
  const response = await request(readingsPath(deviceId, params), { headers: { accept: 'text/csv' } });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `${deviceId}-${new Date(from).toISOString().slice(0, 16)}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
