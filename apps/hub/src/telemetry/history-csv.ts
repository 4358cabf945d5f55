/** History as CSV (RFC 4180): one row per point, times in ISO-8601, ready for a spreadsheet. */
import type { HistoryResponse } from '@edgewire/protocol';

const field = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

export function historyToCsv(history: HistoryResponse): string {
  const lines = [`time,metric,unit,${history.agg}`];
  for (const series of history.series) {
    const prefix = `${field(series.metric)},${field(series.unit ?? '')}`;
    for (const point of series.points) lines.push(`${new Date(point.t).toISOString()},${prefix},${point.v}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}
