/**
 * History as CSV (RFC 4180): one row per point, times in ISO-8601, ready for a spreadsheet. Text
 * cells that a spreadsheet would take for a formula are neutralised (OWASP "CSV injection"): units
 * are checked where they enter, but rows written before that check, or straight into the database,
 * must not come out as live formulas either.
 */
import type { HistoryResponse } from '@edgewire/protocol';

/** What makes a spreadsheet evaluate a cell: a formula sign, or a tab or CR in front of one. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell: a leading `'` turns a would-be formula into text, then RFC 4180 quoting. */
export function csvTextCell(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function historyToCsv(history: HistoryResponse): string {
  const lines = [`time,metric,unit,${history.agg}`];
  for (const series of history.series) {
    const prefix = `${csvTextCell(series.metric)},${csvTextCell(series.unit ?? '')}`;
    // Values are numbers (a leading `-` is a sign there, not a formula) and times are ISO text.
    for (const point of series.points) lines.push(`${new Date(point.t).toISOString()},${prefix},${point.v}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}
